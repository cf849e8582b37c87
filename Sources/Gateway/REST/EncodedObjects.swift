import Renderers
import Synchronization

/// Each object's JSON as a REST list writes it, kept per revision, so listing 10,000 hosts
/// copies bytes instead of encoding 10,000 trees. Objects holding a secret (a host read with
/// `includeSecrets`) are never kept: a password must not sit in a second place in memory.
final class EncodedObjects: Sendable {
    private struct Entry: Sendable {
        var revision: Int64
        var bytes: [UInt8]
    }

    private let entries = Mutex<[ObjectKey: Entry]>([:])
    private let capacity: Int

    init(capacity: Int = 200_000) { self.capacity = capacity }

    /// The list document, byte for byte what `JSONWriter` writes for it (and a newline).
    func list(_ kind: ResourceKind, _ items: [ResourceObject], revision: Int64) -> [UInt8] {
        // `…"items":[]}` + newline: the items go between the brackets.
        let shell = JSONWriter.bytes(RESTReply.listDocument(kind, [], revision: revision), trailingNewline: true)
        let split = shell.count - 3
        var parts = [[UInt8]?](repeating: nil, count: items.count)
        entries.withLock { e in
            for (i, o) in items.enumerated() where e[o.key]?.revision == o.resourceVersion {
                parts[i] = e[o.key]?.bytes
            }
        }
        var fresh: [(ObjectKey, Entry)] = []
        var out: [UInt8] = []
        out.reserveCapacity(shell.count + parts.reduce(0) { $0 + ($1?.count ?? 512) + 1 })
        out.append(contentsOf: shell[..<split])
        for (i, o) in items.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            if let bytes = parts[i] {
                out.append(contentsOf: bytes)
                continue
            }
            let bytes = JSONWriter.bytes(o.json)
            out.append(contentsOf: bytes)
            if !Self.holdsSecret(o) { fresh.append((o.key, Entry(revision: o.resourceVersion, bytes: bytes))) }
        }
        out.append(contentsOf: shell[split...])
        if !fresh.isEmpty {
            entries.withLock { e in
                for (key, entry) in fresh {
                    if e.count >= capacity, e[key] == nil { e.remove(at: e.startIndex) }
                    e[key] = entry
                }
            }
        }
        return out
    }

    static func holdsSecret(_ o: ResourceObject) -> Bool {
        SecretSealer.sealedPaths.contains { o.json.value(at: $0)?.stringValue?.isEmpty == false }
    }
}
