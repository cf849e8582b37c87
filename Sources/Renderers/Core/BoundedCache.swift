import Synchronization

/// A dictionary under a lock that holds at most `capacity` entries. When full, one arbitrary
/// entry goes for each new one, so more keys than it holds (a fleet larger than the cache) never
/// empty it at once.
public final class BoundedCache<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    private let entries = Mutex<[Key: Value]>([:])
    private let capacity: Int

    public init(capacity: Int) { self.capacity = capacity }

    public subscript(key: Key) -> Value? { entries.withLock { $0[key] } }

    /// Many lookups under one lock (a list of 10,000 objects).
    public func values(for keys: [Key]) -> [Value?] {
        entries.withLock { e in keys.map { e[$0] } }
    }

    public func store(_ value: Value, for key: Key) {
        entries.withLock { Self.insert(value, for: key, into: &$0, capacity: capacity) }
    }

    public func store(_ pairs: [(Key, Value)]) {
        guard !pairs.isEmpty else { return }
        entries.withLock { e in
            for (key, value) in pairs { Self.insert(value, for: key, into: &e, capacity: capacity) }
        }
    }

    private static func insert(_ value: Value, for key: Key, into e: inout [Key: Value], capacity: Int) {
        if e.count >= capacity, e[key] == nil { e.remove(at: e.startIndex) }
        e[key] = value
    }
}
