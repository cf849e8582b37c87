import Foundation
import Testing
@testable import Gateway

/// YAML aliases are refused before anything expands them (issue 15: 576 bytes took the server
/// past 3 GB); anchors alone are harmless and stay accepted.
@Suite struct YAMLAliasTests {
    static func laughs(levels: Int) -> String {
        var lines = ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
        for n in 1..<levels { lines.append("a\(n): &a\(n) [" + Array(repeating: "*a\(n - 1)", count: 9).joined(separator: ", ") + "]") }
        return lines.joined(separator: "\n") + "\n"
    }

    @Test func nestedAliasesAreRefusedAtOnce() {
        let start = ContinuousClock.now
        #expect(throws: YAMLDocuments.Failure.self) { try YAMLDocuments.parse(Self.laughs(levels: 9)) }
        // An alias as a mapping key: Yams would hash the expanded key while composing.
        #expect(throws: YAMLDocuments.Failure.self) { try YAMLDocuments.parse(Self.laughs(levels: 7) + "z: {? *a6 : 1}\n") }
        #expect(ContinuousClock.now - start < .seconds(1))
    }

    @Test func theMessageSaysWhere() throws {
        do {
            _ = try YAMLDocuments.parse("a: &x 1\nb: *x\n")
            Issue.record("an alias was accepted")
        } catch {
            #expect(error.message == "YAML aliases are not supported (line 2)")
        }
    }

    @Test func anchorsWithoutAliasesAreFine() throws {
        let docs = try YAMLDocuments.parse("kind: BootConfig\nspec: &s {format: custom}\n---\nx: &y [1, 2]\n")
        #expect(docs.count == 2 && docs[0]["spec"]?["format"] == .string("custom"))
    }

    @Test func theNodeBudgetFollowsTheText() {
        #expect(YAMLDocuments.nodeBudget("") == 1024)
        #expect(YAMLDocuments.nodeBudget(String(repeating: "x", count: 10_000)) == 10_016)
    }
}
