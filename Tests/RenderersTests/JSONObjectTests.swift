import Testing
@testable import Renderers

/// `JSONObject` keeps members in one array and indexes them only past 16: both layouts must
/// behave as an ordered dictionary whose equality and hash ignore order.
@Suite struct JSONObjectTests {
    /// Random inserts, overwrites and removals on objects crossing the 16-member line both ways,
    /// checked against a dictionary and a key list after every step.
    @Test func behavesAsAnOrderedDictionary() {
        var rng = SeededRandom(seed: 0x6a73_6f6e)
        for round in 0..<40 {
            var object = JSONObject(), model: [String: JSONValue] = [:], order: [String] = []
            for step in 0..<300 {
                let key = "k\(rng.next() % 40)"
                if rng.next() % 4 == 0 {
                    object[key] = nil
                    model[key] = nil
                    order.removeAll { $0 == key }
                } else {
                    let value = JSONValue.int(Int64(step))
                    if model[key] == nil { order.append(key) }
                    object[key] = value
                    model[key] = value
                }
                #expect(object.keys == order, "round \(round), step \(step)")
                #expect(object.count == model.count)
                for probe in 0..<40 { #expect(object["k\(probe)"] == model["k\(probe)"]) }
            }
            #expect(object.map(\.key) == order)
        }
    }

    @Test func equalityAndHashIgnoreOrder() {
        let pairs: [(String, JSONValue)] = (0..<24).map { ("m\($0)", .string("v\($0)")) }
        for count in [0, 1, 5, 16, 17, 24] {
            let forward = JSONObject(Array(pairs.prefix(count)))
            let backward = JSONObject(Array(pairs.prefix(count).reversed()))
            #expect(forward == backward)
            #expect(forward.hashValue == backward.hashValue)
            if count > 0 {
                var changed = backward
                changed["m0"] = .string("other")
                #expect(changed != forward)
                var fewer = forward
                fewer["m0"] = nil
                #expect(fewer != forward)
            }
        }
        // Same values under swapped keys are different objects.
        #expect(JSONObject([("a", 1), ("b", 2)]) != JSONObject([("a", 2), ("b", 1)]))
    }

    @Test func modifyChangesOnlyPresentMembers() {
        var object = JSONObject((0..<20).map { ("m\($0)", JSONValue.int(Int64($0))) })
        object.modify("m19") { $0 = .string("changed") }
        object.modify("absent") { $0 = .string("never") }
        #expect(object["m19"] == .string("changed"))
        #expect(object["absent"] == nil)
        #expect(object.count == 20)
    }
}
