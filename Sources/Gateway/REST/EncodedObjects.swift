import Renderers

/// Each object's JSON as a REST list writes it, kept per revision, so listing 10,000 hosts
/// copies bytes instead of encoding 10,000 trees. Objects holding a secret (a host read with
/// `includeSecrets`) are never kept: a password must not sit in a second place in memory.
/// Configs are never kept either (see `cacheable`).
final class EncodedObjects: Sendable {
    private struct Entry: Sendable {
        var revision: Int64
        var bytes: [UInt8]
    }

    private let entries: BoundedCache<ObjectKey, Entry>

    init(capacity: Int = 200_000) { entries = BoundedCache(capacity: capacity) }

    /// The list document as mkube writes it, byte for byte what `JSONWriter` writes for the
    /// whole list (and a newline).
    func list(_ kind: ResourceKind, _ items: [ResourceObject], metadata: JSONObject) -> [UInt8] {
        let envelope = JSONValue.object(JSONObject([("kind", .string(kind.listKind)), ("apiVersion", "v1"),
                                                    ("metadata", .object(metadata)),
                                                    ("items", .array([]))]))
        // `…"items":[]}` + newline: the items go between the brackets.
        let shell = JSONWriter.bytes(envelope, trailingNewline: true)
        let split = shell.count - 3
        // Key and revision are read from each object's JSON once.
        let stamps = items.map { (key: $0.key, revision: $0.resourceVersion) }
        let cached: [[UInt8]?] = zip(entries.values(for: stamps.map(\.key)), stamps).map { entry, stamp in
            entry.flatMap { $0.revision == stamp.revision ? $0.bytes : nil }
        }
        var fresh: [(ObjectKey, Entry)] = []
        var out: [UInt8] = []
        out.reserveCapacity(shell.count + cached.reduce(0) { $0 + ($1?.count ?? 512) + 1 })
        out.append(contentsOf: shell[..<split])
        for (i, o) in items.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            // An object shown with its secret never comes from the cache, which holds it redacted.
            if let bytes = cached[i], !Self.holdsSecret(o) {
                out.append(contentsOf: bytes)
                continue
            }
            let bytes = JSONWriter.bytes(o.json)
            out.append(contentsOf: bytes)
            // Kept at its exact size: the writer's buffer grows by doubling.
            if Self.cacheable(o) { fresh.append((stamps[i].key, Entry(revision: stamps[i].revision, bytes: bytes.trimmed))) }
        }
        out.append(contentsOf: shell[split...])
        entries.store(fresh)
        return out
    }

    /// A config's `status.assignedTo` changes without its revision (it is derived when read).
    static func cacheable(_ o: ResourceObject) -> Bool {
        o.kind != .bootConfig && !holdsSecret(o)
    }

    static func holdsSecret(_ o: ResourceObject) -> Bool {
        SecretSealer.sealedPaths.contains { o.json.value(at: $0)?.stringValue?.isEmpty == false }
    }
}
