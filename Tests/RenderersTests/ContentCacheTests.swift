import Testing
@testable import Renderers

@Suite struct ContentCacheTests {
    struct Refused: Error {}

    @Test func findsTextByItsStorageThenByItsBytes() {
        let cache = ContentCache<Int>(capacity: 8)
        var made = 0
        let text = String(repeating: "{{host.name}} and more ", count: 20)
        #expect(cache.value(for: text) { made += 1; return 1 } == 1)
        #expect(cache.value(for: text) { made += 1; return 2 } == 1)
        // Another copy of the same bytes (other storage) and short text (no storage of its own).
        let copy = String(decoding: Array(text.utf8), as: UTF8.self)
        #expect(cache.value(for: copy) { made += 1; return 3 } == 1)
        #expect(cache.value(for: "short") { made += 1; return 4 } == 4)
        #expect(cache.value(for: "short") { made += 1; return 5 } == 4)
        // One byte more, or as many other bytes, is other content.
        #expect(cache.value(for: text + "!") { made += 1; return 6 } == 6)
        #expect(cache.value(for: String(repeating: "y", count: text.utf8.count)) { made += 1; return 7 } == 7)
        #expect(made == 4)
    }

    @Test func failuresAreNotKept() throws {
        let cache = ContentCache<Int>(capacity: 8)
        let text = String(repeating: "x", count: 100)
        #expect(throws: Refused.self) { try cache.value(for: text) { () throws(Refused) -> Int in throw Refused() } }
        #expect(try cache.value(for: text) { () throws(Refused) -> Int in 7 } == 7)
    }

    @Test func aFullCacheEvictsOneEntryPerNewOne() {
        let cache = BoundedCache<Int, Int>(capacity: 3)
        for i in 0..<3 { cache.store(i, for: i) }
        cache.store(3, for: 3)
        let kept = cache.values(for: [0, 1, 2, 3]).compactMap { $0 }
        #expect(kept.count == 3 && kept.contains(3))
        cache.store(30, for: 3) // a present key is replaced, nothing evicted
        #expect(cache.values(for: [0, 1, 2, 3]).compactMap { $0 }.count == 3)
        #expect(cache[3] == 30)
    }
}
