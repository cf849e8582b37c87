import Foundation
import Renderers
import Synchronization

/// `limit` and `continue` on a list, as Kubernetes pages: every page of one list shows the
/// objects as they were at the first page's revision (the list's `resourceVersion`, from which
/// a watch resumes), and the token says where the next page starts.
public struct PageRequest: Sendable {
    /// 0: no limit.
    public var limit = 0
    public var continueToken: ListContinueToken?
    public init(limit: Int = 0, continueToken: ListContinueToken? = nil) {
        self.limit = limit
        self.continueToken = continueToken
    }
}

/// One page of a list and what a client needs for the next.
public struct ListPage: Sendable {
    public var kind: ResourceKind
    public var items: [ResourceObject]
    public var revision: Int64
    /// Set when more objects follow.
    public var continueToken: String?
    /// How many matching objects follow; only without label or field selector, as Kubernetes.
    public var remainingItemCount: Int?

    /// The list's `metadata`.
    var metadata: JSONObject {
        var meta = JSONObject([("resourceVersion", .string(String(revision)))])
        if let continueToken { meta["continue"] = .string(continueToken) }
        if let remainingItemCount { meta["remainingItemCount"] = .int(Int64(remainingItemCount)) }
        return meta
    }
}

/// Kubernetes' continue token: base64url (unpadded) of `{"v":"meta.k8s.io/v1","rv":N,"start":"ns/name\u0000"}`:
/// the list's revision and the key after which the next page starts. `rv` -1 means "the
/// current state" (the inconsistent remainder offered with a 410).
public struct ListContinueToken: Sendable, Equatable {
    public var revision: Int64
    /// The last key returned.
    public var namespace: String
    public var name: String

    public init(revision: Int64, after key: ObjectKey) {
        self.revision = revision
        namespace = key.namespace
        name = key.name
    }

    public var encoded: String {
        let json = JSONValue.object(JSONObject([("v", "meta.k8s.io/v1"), ("rv", .int(revision)),
                                                ("start", .string("\(namespace)/\(name)\u{0}"))]))
        return Data(JSONWriter.bytes(json)).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    public init(parsing text: String) throws(APIError) {
        func bad(_ why: String) -> APIError { .badRequest("continue key is not valid: \(why)") }
        var b64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        b64 += String(repeating: "=", count: (4 - b64.count % 4) % 4)
        guard text.count <= 4096, let data = Data(base64Encoded: b64) else { throw bad("not base64url") }
        guard let json = try? JSONParser.parse([UInt8](data)) else { throw bad("not JSON") }
        guard json["v"]?.stringValue == "meta.k8s.io/v1" else { throw bad("incorrect encoded start resourceVersion (version meta.k8s.io/v1)") }
        guard let rv = json["rv"]?.intValue, rv != 0, rv >= -1 else { throw bad("incorrect encoded start resourceVersion") }
        guard let start = json["start"]?.stringValue, start.hasSuffix("\u{0}"), let slash = start.firstIndex(of: "/") else {
            throw bad("the start key must be namespace/name followed by NUL")
        }
        revision = rv
        namespace = String(start[..<slash])
        name = String(start[start.index(after: slash)...].dropLast())
    }

    /// Whether `key` comes after the token's position (keys of one kind, in list order).
    func isAfter(_ key: ObjectKey) -> Bool { (key.namespace, key.name) > (namespace, name) }
}

/// The states lists are paged over, kept a while after their first page: a kind's objects at a
/// revision, sorted by key (the index's dictionaries are copy-on-write, so holding one costs a
/// copy only when the next write comes). Bounded in count and age; a token whose state is gone
/// gets 410 Expired, as a compacted revision does in Kubernetes.
final class ListSnapshots: Sendable {
    struct Snapshot: Sendable {
        var entries: [(key: ObjectKey, object: ResourceObject)]
        var lastUsed: ContinuousClock.Instant
    }
    struct Key: Hashable, Sendable {
        var kind: ResourceKind
        var revision: Int64
    }

    private let snapshots = Mutex<[Key: Snapshot]>([:])
    let capacity: Int
    let lifetime: Duration

    init(capacity: Int, lifetime: Duration) {
        self.capacity = capacity
        self.lifetime = lifetime
    }

    func get(_ kind: ResourceKind, _ revision: Int64) -> [(key: ObjectKey, object: ResourceObject)]? {
        let now = ContinuousClock.now
        return snapshots.withLock { s in
            let key = Key(kind: kind, revision: revision)
            guard var snap = s[key] else { return nil }
            guard now - snap.lastUsed < lifetime else {
                s[key] = nil
                return nil
            }
            snap.lastUsed = now
            s[key] = snap
            return snap.entries
        }
    }

    func keep(_ kind: ResourceKind, _ revision: Int64, _ entries: [(key: ObjectKey, object: ResourceObject)]) {
        let now = ContinuousClock.now
        snapshots.withLock { s in
            s = s.filter { now - $0.value.lastUsed < lifetime }
            if s.count >= capacity, s[Key(kind: kind, revision: revision)] == nil,
               let oldest = s.min(by: { $0.value.lastUsed < $1.value.lastUsed }) {
                s[oldest.key] = nil
            }
            s[Key(kind: kind, revision: revision)] = Snapshot(entries: entries, lastUsed: now)
        }
    }

    var count: Int { snapshots.withLock { $0.count } }
}

extension Service {
    static let inconsistentContinueMessage = "The provided continue parameter is too old to display a consistent list result. "
        + "You can start a new list without the continue parameter, or use the continue token in this response to retrieve "
        + "the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that "
        + "were created, modified, or deleted between the time the first chunk was returned and now may show up in the list."

    /// A page of a list: at most `page.limit` objects (all with 0), from the token's position
    /// and revision. Served from the index on every backend.
    public func list(_ kind: ResourceKind, _ query: ListQuery, page: PageRequest) throws(APIError) -> ListPage {
        guard page.limit > 0 || page.continueToken != nil else {
            let (items, revision) = list(kind, query)
            return ListPage(kind: kind, items: items, revision: revision)
        }
        let token = page.continueToken
        let entries: [(key: ObjectKey, object: ResourceObject)]
        let revision: Int64
        if let token, token.revision > 0 {
            if let kept = listSnapshots.get(kind, token.revision) {
                entries = kept
                revision = token.revision
            } else {
                let (all, now) = index.read { s in (s.objects[kind] ?? [:], s.revision) }
                // Nothing of this kind changed since (the index is read first, so the history
                // is checked up to the state read): the current state is the token's.
                let unchanged = now == token.revision || hub.kindChanged(kind, after: token.revision, through: now) == false
                guard unchanged, now >= token.revision else {
                    var e = APIError.gone(Self.inconsistentContinueMessage)
                    var fresh = token
                    fresh.revision = -1
                    e.listContinue = fresh.encoded
                    throw e
                }
                entries = Self.sorted(all)
                revision = token.revision
            }
        } else {
            let (all, now) = index.read { s in (s.objects[kind] ?? [:], s.revision) }
            entries = Self.sorted(all)
            revision = now
        }
        // First entry after the token's key (binary search: entries are sorted by key).
        var start = 0
        if let token {
            var lo = 0, hi = entries.count
            while lo < hi {
                let mid = (lo + hi) / 2
                if token.isAfter(entries[mid].key) { hi = mid } else { lo = mid + 1 }
            }
            start = lo
        }
        let limit = page.limit > 0 ? page.limit : Int.max
        var items: [ResourceObject] = []
        var lastKey: ObjectKey?
        var i = start
        var more = false
        while i < entries.count {
            let o = entries[i].object
            if matches(o, query) {
                if items.count == limit {
                    more = true
                    break
                }
                items.append(present(o, includeSecrets: query.includeSecrets))
                lastKey = entries[i].key
            }
            i += 1
        }
        var out = ListPage(kind: kind, items: items, revision: revision)
        if more, let lastKey {
            if listSnapshots.get(kind, revision) == nil { listSnapshots.keep(kind, revision, entries) }
            out.continueToken = ListContinueToken(revision: revision, after: lastKey).encoded
            if query.labelSelector == nil, query.fieldSelector == nil {
                out.remainingItemCount = entries[i...].reduce(0) { $0 + (matches($1.object, query) ? 1 : 0) }
            }
        }
        return out
    }

    private func matches(_ o: ResourceObject, _ query: ListQuery) -> Bool {
        guard let ns = query.namespace else { return query.matches(o) }
        return (query.joinNetworks ? Self.inNamespace(o, ns) : o.namespace == ns) && query.matches(o)
    }

    private static func sorted(_ all: [ObjectKey: ResourceObject]) -> [(key: ObjectKey, object: ResourceObject)] {
        all.keys.sorted().map { ($0, all[$0]!) }
    }
}
