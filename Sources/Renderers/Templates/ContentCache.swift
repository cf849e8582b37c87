/// What is derived from a config's text (a compiled template, a render plan), found without
/// reading the text in the common case.
///
/// A config's text is the same `String` storage from one request to the next (the index holds
/// it), so its address finds the entry; the entry keeps that storage alive, so no other text
/// can be at that address while the entry exists. Other text (a new copy of the same config,
/// short text without storage of its own) is found by its bytes.
final class ContentCache<Value: Sendable>: Sendable {
    private struct Storage: Hashable, Sendable {
        var address: UInt
        var count: Int
    }

    private struct Held: Sendable {
        var content: String
        var value: Value
    }

    private let byStorage: BoundedCache<Storage, Held>
    private let byContent: BoundedCache<ContentKey, Value>

    init(capacity: Int) {
        byStorage = BoundedCache(capacity: capacity)
        byContent = BoundedCache(capacity: capacity)
    }

    /// The cached value, or `make`'s (kept unless it throws).
    func value<E: Error>(for content: String, make: () throws(E) -> Value) throws(E) -> Value {
        let storage = Self.storage(of: content)
        if let storage, let held = byStorage[storage] { return held.value }
        let key = ContentKey(content)
        let value: Value
        if let hit = byContent[key] {
            value = hit
        } else {
            value = try make()
            byContent.store(value, for: key)
        }
        if let storage { byStorage.store(Held(content: content, value: value), for: storage) }
        return value
    }

    /// Nil for text of 15 bytes or fewer: Swift keeps it inside the `String` itself, at no
    /// lasting address.
    private static func storage(of content: String) -> Storage? {
        guard content.utf8.count > 15 else { return nil }
        return content.utf8.withContiguousStorageIfAvailable { bytes in
            bytes.baseAddress.map { Storage(address: UInt(bitPattern: $0), count: bytes.count) }
        } ?? nil
    }
}

/// The content as a cache key: equal means byte-equal (content that differs in any byte renders
/// differently, and `String` equality would also merge canonically equivalent text). Every
/// byte is hashed: the configs of one fleet often differ in a few bytes only, and a hash that
/// skipped them would put them all in one bucket.
struct ContentKey: Hashable, Sendable {
    let content: String

    init(_ content: String) { self.content = content }

    static func == (a: ContentKey, b: ContentKey) -> Bool {
        guard a.content.utf8.count == b.content.utf8.count else { return false }
        return a.withBytes { x in
            b.withBytes { y in x.baseAddress == y.baseAddress || x.elementsEqual(y) }
        }
    }

    func hash(into hasher: inout Hasher) {
        withBytes { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
    }

    private func withBytes<R>(_ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        if let result = content.utf8.withContiguousStorageIfAvailable(body) { return result }
        return Array(content.utf8).withUnsafeBufferPointer(body)
    }
}
