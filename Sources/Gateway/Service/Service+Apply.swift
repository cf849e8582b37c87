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

    /// Orders documents so references resolve: configs, then ISOs, then hosts.
    public static func applyOrder(_ documents: [JSONValue]) -> [JSONValue] {
        applyOrder(of: documents).map { documents[$0] }
    }

    /// The positions of `documents` in apply order.
    public static func applyOrder(of documents: [JSONValue]) -> [Int] {
        let rank: [String: Int] = [ResourceKind.bootConfig.rawValue: 0, ResourceKind.iscsiCdrom.rawValue: 1, ResourceKind.bareMetalHost.rawValue: 2]
        return documents.indices.sorted { a, b in
            let ra = rank[documents[a]["kind"]?.stringValue ?? ""] ?? 3, rb = rank[documents[b]["kind"]?.stringValue ?? ""] ?? 3
            return (ra, a) < (rb, b)
        }
    }
}
