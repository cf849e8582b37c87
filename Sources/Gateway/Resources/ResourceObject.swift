/// A stored object in wire form, with typed access to the fields bootgate reasons about.
public struct ResourceObject: Sendable, Hashable {
    public var kind: ResourceKind
    /// The whole object, normalised (see `ObjectSchema.normalize`).
    public var json: JSONValue

    public init(kind: ResourceKind, json: JSONValue) {
        self.kind = kind
        self.json = json
    }

    public var key: ObjectKey { ObjectKey(kind, namespace: namespace, name: name) }
    public var name: String { json["metadata"]?["name"]?.stringValue ?? "" }
    public var namespace: String { json["metadata"]?["namespace"]?.stringValue ?? "" }
    public var resourceVersion: Int64 { Int64(json["metadata"]?["resourceVersion"]?.stringValue ?? "") ?? 0 }
    public var labels: [String: String] { stringMap(json["metadata"]?["labels"]) }
    public var annotations: [String: String] { stringMap(json["metadata"]?["annotations"]) }
    public var creationTimestamp: String { json["metadata"]?["creationTimestamp"]?.stringValue ?? "" }

    public func string(_ path: String...) -> String { json.value(at: path)?.stringValue ?? "" }
    public func strings(_ path: String...) -> [String] { json.value(at: path)?.arrayValue?.compactMap(\.stringValue) ?? [] }

    private func stringMap(_ v: JSONValue?) -> [String: String] {
        var out: [String: String] = [:]
        for (k, v) in v?.objectValue ?? JSONObject() { if let s = v.stringValue { out[k] = s } }
        return out
    }

    // BareMetalHost
    public var image: String { string("spec", "image") }
    public var bootConfigRef: String { string("spec", "bootConfigRef") }
    public var bootMAC: String { string("spec", "bootMACAddress") }
    public var ip: String { string("spec", "ip") }
    public var nics: [(mac: String, ip: String)] {
        (json["spec"]?["nics"]?.arrayValue ?? []).map { ($0["mac"]?.stringValue ?? "", $0["ip"]?.stringValue ?? "") }
    }
    // ISCSICdrom
    public var bootConfigs: [String] { strings("spec", "bootConfigs") }
    // BootConfig
    public var format: String { string("spec", "format") }
    public var data: [String: String] { stringMap(json["spec"]?["data"]) }
}

/// The `image` value that means "boot the local disk".
public let localBootImage = "localboot"
