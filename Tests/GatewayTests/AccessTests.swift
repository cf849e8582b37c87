import Foundation
import Testing
@testable import Gateway

/// Tokens, roles and origins: the parts of `AccessPolicy` that do not need a server (the API
/// tests in Tests/api/test_security.py walk every route of the real binary).
@Suite struct AccessTests {
    func tokenFile() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("bootgate-tokens-\(UUID().uuidString)").path
    }

    @Test func tokensAreStoredAsDigestsAndFoundByThem() throws {
        let path = tokenFile()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let token = try TokenStore.create(name: "ci", role: .operator, in: path)
        #expect(token.hasPrefix("bgt_") && token.count == 68)
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(!text.contains(token) && text.contains(TokenStore.digest(token)))
        let store = try TokenStore(path: path)
        #expect(store.lookup(token) == TokenStore.Entry(name: "ci", role: .operator, digest: TokenStore.digest(token)))
        #expect(store.lookup(token + "x") == nil)
        #expect(throws: TokenStore.Failure.self) { try TokenStore.create(name: "ci", role: .admin, in: path) }
        try TokenStore.revoke(name: "ci", in: path)
        #expect(try TokenStore.read(path).isEmpty)
    }

    @Test func digestIsSHA256() {
        #expect(TokenStore.digest("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    @Test func aBrokenTokenFileIsRefusedAtStart() throws {
        let path = tokenFile()
        defer { try? FileManager.default.removeItem(atPath: path) }
        try "ci superuser 00\n".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(throws: TokenStore.Failure.self) { try TokenStore(path: path) }
    }

    @Test func operatorsChangeOnlyTheirFields() throws {
        let scope = try #require(Role.operator.hostWriteScope)
        let current: JSONValue = ["metadata": ["name": "h", "resourceVersion": "3"], "spec": ["image": "a", "ip": "10.0.0.1"]]
        var proposed = current
        proposed.set("b", at: ["spec", "image"])
        proposed.set("4", at: ["metadata", "resourceVersion"])
        proposed.set("yes", at: ["metadata", "annotations", "bmh.mkube.io/refresh"])
        #expect(scope.violation(current: current, proposed: proposed) == nil)
        proposed.set("10.0.0.2", at: ["spec", "ip"])
        #expect(scope.violation(current: current, proposed: proposed) == "spec.ip")
        #expect(Role.admin.hostWriteScope == nil)
        #expect(Role.viewer.hostWriteScope?.paths.isEmpty == true)
    }

    @Test func originsAreSameOriginOrListed() {
        let none = CORSPolicy()
        #expect(none.permits(origin: nil, host: "bg:8082"))
        #expect(none.permits(origin: "http://bg:8082", host: "bg:8082"))
        #expect(!none.permits(origin: "http://evil", host: "bg:8082"))
        #expect(!none.permits(origin: "null", host: "bg:8082"))
        let listed = CORSPolicy(origins: ["https://UI.example/"])
        #expect(listed.permits(origin: "https://ui.example", host: "bg:8082"))
        #expect(listed.preflight(origin: "https://ui.example").status == 204)
        #expect(listed.preflight(origin: "https://other.example").status == 403)
    }
}

@Suite struct MetricsAccessTests {
    @Test func metricsNeedATokenOffLoopback() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("bootgate-tokens-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let viewer = try TokenStore.create(name: "scraper", role: .viewer, in: path)
        let policy = AccessPolicy(tokens: try TokenStore(path: path))
        let op = try #require(OperationTable.all.first { $0.id == "system.metrics" })
        var req = OperationRequest()
        req.remoteIP = "127.0.0.1"
        #expect(throws: Never.self) { _ = try policy.authorize(op, req) }
        req.remoteIP = "10.1.2.3"
        #expect(throws: APIError.self) { _ = try policy.authorize(op, req) }
        req.headers["authorization"] = "Bearer " + viewer
        #expect(throws: Never.self) { _ = try policy.authorize(op, req) }
        // Audit records are for admins.
        let audit = try #require(OperationTable.all.first { $0.id == "auditevents.list" })
        req.remoteIP = "127.0.0.1"
        do {
            _ = try policy.authorize(audit, req)
            Issue.record("a viewer read audit records")
        } catch {
            #expect(error.code == 403)
        }
    }
}
