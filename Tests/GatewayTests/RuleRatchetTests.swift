import Foundation
import Testing
@testable import Gateway

/// Real mkube data breaks the seed's rules (mkube never checked them). Such objects are loaded
/// and served; writes ratchet: leaving a violation as it was is allowed with a warning, adding
/// one is refused. The store is written directly here, as an import from mkube would.
@Suite struct RuleRatchetTests {
    /// The site dump's shape: ISO `stormbase` lists no configs, yet host `server3` on it refers
    /// to config `install`.
    static func importedSite() async throws -> ServiceFixture {
        let dir = NSTemporaryDirectory() + "bootgate-ratchet-" + UUID().uuidString
        let store = try SQLiteStore(directory: dir)
        func object(_ kind: ResourceKind, _ text: String) throws -> ResourceObject { ResourceObject(kind: kind, json: try JSONParser.parse(text)) }
        _ = try await store.commit([
            .put(try object(.bootConfig, #"{"kind":"BootConfig","metadata":{"name":"install"},"spec":{"format":"custom","data":{"a":"b"}}}"#), expectedRevision: nil),
            .put(try object(.iscsiCdrom, #"{"kind":"ISCSICdrom","metadata":{"name":"stormbase"},"spec":{"isoFile":"stormbase.iso"}}"#), expectedRevision: nil),
            .put(try object(.bareMetalHost, #"{"kind":"BareMetalHost","metadata":{"name":"server3","namespace":"default"},"spec":{"bootMACAddress":"52:54:00:00:00:03","image":"stormbase","bootConfigRef":"install"}}"#), expectedRevision: nil),
        ])
        await store.close()
        return try await ServiceFixture.make(directory: dir)
    }

    @Test func existingViolationsAreServedAndFlagged() async throws {
        let f = try await Self.importedSite()
        let host = ObjectKey(.bareMetalHost, namespace: "default", name: "server3")
        #expect(try f.service.get(host).bootConfigRef == "install")
        #expect(f.service.ruleViolations(host).contains { $0.contains("takes no boot config") })
        let flagged = f.service.allRuleViolations().map(\.key)
        #expect(flagged == [ObjectKey(.iscsiCdrom, name: "stormbase"), host].sorted())
    }

    @Test func aWriteThatLeavesAViolationAsItWasIsAcceptedWithAWarning() async throws {
        let f = try await Self.importedSite()
        let host = ObjectKey(.bareMetalHost, namespace: "default", name: "server3")
        let out = try await f.service.patch(host, patch: f.json(#"{"metadata":{"labels":{"rack":"r1"}}}"#), type: .merge)
        #expect(out.object.labels["rack"] == "r1")
        #expect(out.warnings.contains { $0.contains("left as it was") && $0.contains("takes no boot config") })
        let iso = try await f.service.patch(ObjectKey(.iscsiCdrom, name: "stormbase"), patch: f.json(#"{"spec":{"description":"Storm base"}}"#), type: .merge)
        #expect(iso.warnings.contains { $0.contains("server3") })
    }

    @Test func aWriteThatAddsAViolationIsRefused() async throws {
        let f = try await Self.importedSite()
        try await f.create(.bootConfig, #"{"metadata":{"name":"other"},"spec":{"format":"custom","data":{"a":"b"}}}"#)
        let host = ObjectKey(.bareMetalHost, namespace: "default", name: "server3")
        await #expect(throws: APIError.self) {
            _ = try await f.service.patch(host, patch: f.json(#"{"spec":{"bootConfigRef":"other"}}"#), type: .merge)
        }
        // Fixing it is a write like any other.
        let fixed = try await f.service.patch(host, patch: f.json(#"{"spec":{"bootConfigRef":""}}"#), type: .merge)
        // No "left as it was" any more; the ISO's missing target is only an advisory.
        #expect(fixed.warnings.allSatisfy { $0.contains("no iSCSI target yet") })
        #expect(f.service.ruleViolations(host).isEmpty)
    }

    @Test func thePlaceholderMACIsNoMAC() async throws {
        let f = try await ServiceFixture.make()
        for name in ["a", "b"] {
            try await f.create(.bareMetalHost, #"{"metadata":{"name":"\#(name)"},"spec":{"bootMACAddress":"00:00:00:00:00:00"}}"#)
        }
        let script = String(decoding: try f.service.ipxe(mac: "00-00-00-00-00-00", record: false), as: UTF8.self)
        #expect(script.contains("no BareMetalHost has MAC"))
        #expect(f.service.allRuleViolations().isEmpty)
    }
}
