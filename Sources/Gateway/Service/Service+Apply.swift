/// Create-or-update of whole documents, as `bootgate apply -f` and the example seeding use it.
extension Service {
    public enum ApplyAction: String, Sendable { case created, configured, unchanged }

    /// Creates the object, or merges the document into the existing one. Idempotent: applying
    /// the same document twice leaves the second time `unchanged` (no new revision).
    public func apply(_ document: JSONValue, options: WriteOptions = WriteOptions()) async throws(APIError) -> (ResourceObject, ApplyAction) {
        guard let kindName = document["kind"]?.stringValue, let kind = ResourceKind(rawValue: kindName) else {
            throw .badRequest("document has no known kind (BareMetalHost, BootConfig, ISCSICdrom): \(document["kind"]?.stringValue ?? "missing")")
        }
        let name = document.value(at: ["metadata", "name"])?.stringValue ?? ""
        let namespace = kind.namespaced ? (document.value(at: ["metadata", "namespace"])?.stringValue).flatMap { $0.isEmpty ? nil : $0 } ?? "default" : ""
        let key = ObjectKey(kind, namespace: namespace, name: name)
        guard let current = index.object(key) else {
            let out = try await create(kind, namespace: kind.namespaced ? namespace : nil, body: document, options: options)
            return (out.object, .created)
        }
        let out = try await patch(key, patch: document, type: .merge, options: options)
        return (out.object, out.object.resourceVersion == current.resourceVersion ? .unchanged : .configured)
    }

    /// Orders documents so references resolve: configs (a config after the follow-up it names in
    /// `bootgate.io/next-boot-config`), then ISOs, then hosts.
    public static func applyOrder(_ documents: [JSONValue]) -> [JSONValue] {
        let stages = applyStages(documents)
        return documents.indices.sorted { (stages[$0], $0) < (stages[$1], $1) }.map { documents[$0] }
    }

    /// Per document, the stage it can be written in once every earlier stage is written: configs
    /// by the depth of their follow-up chain within these documents, then ISOs, then hosts.
    /// Documents of one stage do not depend on each other, so they may be written at once.
    public static func applyStages(_ documents: [JSONValue]) -> [Int] {
        var follows: [String: String] = [:]
        for d in documents where d["kind"]?.stringValue == ResourceKind.bootConfig.rawValue {
            if let name = d.value(at: ["metadata", "name"])?.stringValue,
               let next = d.value(at: ["metadata", "annotations", BootHandOff.nextConfigAnnotation])?.stringValue, !next.isEmpty {
                follows[name] = next
            }
        }
        // The longest chain a config starts within the documents (a cycle is cut at 16).
        func depth(_ name: String) -> Int {
            var d = 0, at = name
            while let next = follows[at], d < 16 { d += 1; at = next }
            return d
        }
        let configStages = 1 + (follows.keys.map(depth).max() ?? 0)
        return documents.map { d in
            switch d["kind"]?.stringValue ?? "" {
            case ResourceKind.bootConfig.rawValue: depth(d.value(at: ["metadata", "name"])?.stringValue ?? "")
            case ResourceKind.iscsiCdrom.rawValue: configStages
            case ResourceKind.bareMetalHost.rawValue: configStages + 1
            default: configStages + 2
            }
        }
    }
}
