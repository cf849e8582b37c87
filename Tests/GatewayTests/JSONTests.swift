import Testing
@testable import Gateway

@Suite struct JSONParserTests {
    @Test func parsesAndWritesLikeGo() throws {
        let v = try JSONParser.parse(#"{"b":1,"a":[true,null,"x<y&z>"],"c":1.5}"#)
        #expect(v["b"] == .int(1))
        #expect(v["c"] == .double(1.5))
        // Key order is kept; HTML characters are escaped as Go's encoder does.
        #expect(JSONWriter.string(v) == #"{"b":1,"a":[true,null,"x\u003cy\u0026z\u003e"],"c":1.5}"#)
    }

    @Test func rejectsDuplicateKeysWithPosition() {
        do {
            _ = try JSONParser.parse("{\n  \"a\": 1,\n  \"a\": 2\n}")
            Issue.record("duplicate key accepted")
        } catch {
            #expect(error.message.contains("duplicate key \"a\""))
            #expect(error.line == 3)
        }
    }

    @Test(arguments: ["{\"a\":1} x", "[1,]", "{\"a\" 1}", "\"\\ud800\"", "01", "", "{\"a\":tru}"])
    func rejectsMalformed(_ text: String) {
        #expect(throws: JSONParser.Failure.self) { try JSONParser.parse(text) }
    }

    @Test func rejectsInvalidUTF8() {
        #expect(throws: JSONParser.Failure.self) { try JSONParser.parse([0x22, 0xFF, 0xFE, 0x22]) }
    }

    @Test func refusesDeepNesting() {
        let deep = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
        #expect(throws: JSONParser.Failure.self) { try JSONParser.parse(deep) }
    }

    @Test func decodesEscapesAndSurrogates() throws {
        let v = try JSONParser.parse(#""a\n\u00e9\ud83d\ude00""#)
        #expect(v == .string("a\né😀"))
    }
}

@Suite struct PatchTests {
    @Test func mergePatchFollowsRFC7386() throws {
        let target = try JSONParser.parse(#"{"a":"b","c":{"d":"e","f":"g"},"l":[1,2]}"#)
        let patch = try JSONParser.parse(#"{"a":"z","c":{"f":null},"l":[3]}"#)
        #expect(JSONWriter.string(MergePatch.apply(patch, to: target)) == #"{"a":"z","c":{"d":"e"},"l":[3]}"#)
    }

    @Test func overlayIgnoresNulls() throws {
        let target = try JSONParser.parse(#"{"a":"b","c":{"d":"e"}}"#)
        let body = try JSONParser.parse(#"{"a":null,"c":{"x":1}}"#)
        #expect(JSONWriter.string(MergePatch.overlay(body, onto: target)) == #"{"a":"b","c":{"d":"e","x":1}}"#)
    }

    @Test func jsonPatchAppliesAllOperations() throws {
        let doc = try JSONParser.parse(#"{"spec":{"image":"a","list":["x"]}}"#)
        let patch = try JSONParser.parse(#"""
        [{"op":"test","path":"/spec/image","value":"a"},
         {"op":"replace","path":"/spec/image","value":"b"},
         {"op":"add","path":"/spec/list/-","value":"y"},
         {"op":"copy","from":"/spec/image","path":"/spec/copy"},
         {"op":"move","from":"/spec/copy","path":"/spec/moved"},
         {"op":"remove","path":"/spec/list/0"}]
        """#)
        let out = try JSONPatch.apply(patch, to: doc)
        #expect(JSONWriter.string(out) == #"{"spec":{"image":"b","list":["y"],"moved":"b"}}"#)
    }

    @Test func jsonPatchIsAllOrNothingAndSaysWhich() throws {
        let doc = try JSONParser.parse(#"{"a":1}"#)
        let patch = try JSONParser.parse(#"[{"op":"replace","path":"/a","value":2},{"op":"test","path":"/a","value":3}]"#)
        do {
            _ = try JSONPatch.apply(patch, to: doc)
            Issue.record("failing test op accepted")
        } catch {
            #expect(error.message.contains("operation 1 (test /a)"))
        }
    }

    @Test func pointerEscapes() {
        #expect(JSONPointer("/a~1b/c~0d")?.tokens == ["a/b", "c~d"])
        #expect(JSONPointer(tokens: ["a/b"]).description == "/a~1b")
        #expect(JSONPointer("nope") == nil)
    }
}

@Suite struct YAMLTests {
    @Test func readsSeveralDocumentsWithTypes() throws {
        let docs = try YAMLDocuments.parse("a: 1\nb: \"2\"\nc: true\nd: ~\n---\nx: [1, two]\n")
        #expect(docs.count == 2)
        #expect(docs[0]["a"] == .int(1))
        #expect(docs[0]["b"] == .string("2"))
        #expect(docs[0]["c"] == .bool(true))
        #expect(docs[0]["d"] == .null)
        #expect(docs[1]["x"] == .array([.int(1), .string("two")]))
    }

    @Test func reportsErrors() {
        #expect(throws: YAMLDocuments.Failure.self) { try YAMLDocuments.parse("a: [1,\n") }
        #expect(throws: YAMLDocuments.Failure.self) { try YAMLDocuments.parse("a: 1\na: 2\n") }
    }
}

@Suite struct ApplyMergeTests {
    func json(_ text: String) throws -> JSONValue { try JSONParser.parse(text) }

    @Test func removedFieldsBecomeNullsAndOthersFieldsStay() throws {
        let original = try json(#"{"metadata":{"labels":{"rack":"r1","role":"x"}},"spec":{"hostname":"h","image":"a","nics":[{"mac":"m1"}]}}"#)
        let modified = try json(#"{"metadata":{"labels":{"rack":"r2"}},"spec":{"image":"a","nics":[{"mac":"m2"}]}}"#)
        let current = try json(#"{"metadata":{"labels":{"rack":"r1","role":"x","owner":"ops"},"uid":"u"},"spec":{"hostname":"h","image":"a","nics":[{"mac":"m1"}]},"status":{"bootCount":3}}"#)
        let patch = ThreeWayMergePatch.patch(original: original, modified: modified, current: current)
        #expect(patch == (try json(#"{"metadata":{"labels":{"rack":"r2","role":null}},"spec":{"nics":[{"mac":"m2"}],"hostname":null}}"#)))
    }

    @Test func nothingToDoIsAnEmptyPatchAndNoAnnotationDeletesNothing() throws {
        let doc = try json(#"{"spec":{"image":"a"}}"#)
        #expect(ThreeWayMergePatch.patch(original: doc, modified: doc, current: try json(#"{"spec":{"image":"a"},"status":{}}"#)) == .object(JSONObject()))
        let patch = ThreeWayMergePatch.patch(original: nil, modified: doc, current: try json(#"{"spec":{"image":"b","ip":"1"}}"#))
        #expect(patch == (try json(#"{"spec":{"image":"a"}}"#)))
    }

    @Test func theAnnotationHoldsTheManifestWithoutItself() throws {
        let doc = try json(#"{"kind":"BootConfig","metadata":{"name":"c"}}"#)
        let annotated = ThreeWayMergePatch.annotated(doc)
        #expect(ThreeWayMergePatch.lastApplied(annotated) == doc)
        #expect(ThreeWayMergePatch.lastApplied(ThreeWayMergePatch.annotated(annotated)) == doc)
    }

    @Test func literalBlocksReadBackTheSame() throws {
        let texts = ["a\nb\n", "a\n\n  b", "line\twith tab\nend", "trailing space \nx\n", " leading\nx", "x\n\n\n", "#!ipxe\necho hi\n"]
        for text in texts {
            let doc = JSONValue.object(JSONObject([("data", .object(JSONObject([("f", .string(text))]))), ("list", .array([.string(text)]))]))
            let yaml = YAMLWriter.string(doc, literalBlocks: true)
            #expect(try YAMLDocuments.parse(yaml) == [doc], "\(yaml)")
        }
        #expect(YAMLWriter.string(["f": "a\nb\n"], literalBlocks: true) == "f: |\n  a\n  b\n")
    }
}
