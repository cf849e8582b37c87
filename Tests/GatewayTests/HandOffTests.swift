import Foundation
import Testing
@testable import Gateway

/// The install hand-off (`BootHandOff`) and the host-table checks that keep a rack bootable:
/// duplicate addresses refused (ratcheted), hosts that cannot boot as meant warned about.
@Suite struct HandOffTests {
    static let ip = "10.0.0.5"

    /// An installer ISO with an installer config, a target config and a host on the installer.
    static func lab(builderAnnotation: String? = "target", hostAnnotation: String? = nil) async throws -> ServiceFixture {
        let f = try await ServiceFixture.make()
        try await f.create(.bootConfig, #"{"metadata":{"name":"target"},"spec":{"format":"custom","data":{"a":"installed {{host.name}}"}}}"#)
        let annotation = builderAnnotation.map { #","annotations":{"bootgate.io/next-boot-config":"\#($0)"}"# } ?? ""
        try await f.create(.bootConfig, #"{"metadata":{"name":"installer"\#(annotation)},"spec":{"format":"custom","data":{"a":"install {{host.name}}"}}}"#)
        try await f.create(.iscsiCdrom, #"{"metadata":{"name":"live"},"spec":{"isoFile":"live.iso","bootConfigs":["installer","target"]},"status":{"targetIQN":"iqn.2026-01.lo:live"}}"#)
        let hostAnnotation = hostAnnotation.map { #","annotations":{"bootgate.io/next-boot-config":"\#($0)"}"# } ?? ""
        try await f.create(.bareMetalHost, #"{"metadata":{"name":"s1","namespace":"default"\#(hostAnnotation)},"spec":{"bootMACAddress":"52:54:00:00:00:01","ip":"\#(ip)","image":"live","bootConfigRef":"installer"}}"#)
        return f
    }

    static let s1 = ObjectKey(.bareMetalHost, namespace: "default", name: "s1")

    @Test func theConfigsDeclaredFollowUpIsUsed() async throws {
        let f = try await Self.lab()
        let (host, ref) = try await f.service.bootComplete(ip: Self.ip, nextConfig: nil)
        #expect(host.image == localBootImage && ref == "target")
        #expect(f.service.bootEventList(host: "default/s1", limit: 10).last?.detail == "image localboot, bootConfigRef target (config annotation)")
    }

    @Test func withoutAFollowUpTheInstallerConfigIsDropped() async throws {
        let f = try await Self.lab(builderAnnotation: nil)
        let (host, ref) = try await f.service.bootComplete(ip: Self.ip, nextConfig: nil)
        #expect(host.image == localBootImage && ref == "" && host.json["spec"]?["bootConfigRef"] == nil)
    }

    @Test func theRequestThenTheHostAnnotationWin() async throws {
        let f = try await Self.lab(hostAnnotation: "installer")
        // The host asks to keep its installer config (a deliberate "unless asked").
        #expect(try await f.service.bootComplete(ip: Self.ip, nextConfig: nil).1 == "installer")
        let g = try await Self.lab(hostAnnotation: "target")
        #expect(try await g.service.bootComplete(ip: Self.ip, nextConfig: "").1 == "")  // "" asks for none
    }

    /// An installer that retries boot-complete (its first answer was lost) must not clear the
    /// follow-up the first call set.
    @Test func aRepeatedCallChangesNothing() async throws {
        let f = try await Self.lab()
        _ = try await f.service.bootComplete(ip: Self.ip, nextConfig: nil)
        let rv = try f.service.get(Self.s1).resourceVersion
        let (host, ref) = try await f.service.bootComplete(ip: Self.ip, nextConfig: nil)
        #expect(ref == "target" && host.resourceVersion == rv)
        #expect(f.service.bootEventList(host: "default/s1", limit: 10).last?.detail.hasSuffix("(repeated)") == true)
    }

    @Test func aFollowUpMustExistAndIsProtected() async throws {
        let f = try await Self.lab(builderAnnotation: nil)
        let installer = ObjectKey(.bootConfig, name: "installer")
        await #expect(throws: APIError.self) {
            _ = try await f.service.patch(installer, patch: f.json(#"{"metadata":{"annotations":{"bootgate.io/next-boot-config":"nope"}}}"#), type: .merge)
        }
        _ = try await f.service.patch(installer, patch: f.json(#"{"metadata":{"annotations":{"bootgate.io/next-boot-config":"target"}}}"#), type: .merge)
        try await f.create(.bootConfig, #"{"metadata":{"name":"spare"},"spec":{"format":"custom","data":{"a":"b"}}}"#)
        _ = try await f.service.patch(ObjectKey(.iscsiCdrom, name: "live"), patch: f.json(#"{"spec":{"bootConfigs":["installer"]}}"#), type: .merge)
        // "target" is now used by nobody but the installer's annotation: still not deletable.
        do {
            _ = try await f.service.delete(ObjectKey(.bootConfig, name: "target"))
            Issue.record("deleting a declared follow-up was accepted")
        } catch {
            #expect(error.message.contains("config installer (as its next config)"))
        }
        await #expect(throws: APIError.self) {
            _ = try await f.service.patch(Self.s1, patch: f.json(#"{"metadata":{"annotations":{"bootgate.io/next-boot-config":"gone"}}}"#), type: .merge)
        }
    }

    /// `bootgate apply` writes a stage at once: a config comes after the follow-up it names.
    @Test func applyPutsAFollowUpBeforeTheConfigNamingIt() throws {
        func doc(_ kind: String, _ name: String, next: String? = nil) throws -> JSONValue {
            let annotations = next.map { #","annotations":{"bootgate.io/next-boot-config":"\#($0)"}"# } ?? ""
            return try JSONParser.parse(#"{"kind":"\#(kind)","metadata":{"name":"\#(name)"\#(annotations)}}"#)
        }
        let docs = [try doc("BareMetalHost", "h"), try doc("BootConfig", "installer", next: "middle"), try doc("ISCSICdrom", "iso"),
                    try doc("BootConfig", "middle", next: "target"), try doc("BootConfig", "target"), try doc("BootConfig", "plain")]
        #expect(Service.applyStages(docs) == [4, 2, 3, 1, 0, 0])
        #expect(Service.applyOrder(docs).map { $0["metadata"]?["name"]?.stringValue ?? "" } == ["target", "plain", "middle", "installer", "iso", "h"])
    }

    @Test func aSecondHostWithTheSameIPIsRefused() async throws {
        let f = try await Self.lab()
        do {
            try await f.create(.bareMetalHost, #"{"metadata":{"name":"s2","namespace":"default"},"spec":{"bootMACAddress":"52:54:00:00:00:02","ip":"\#(Self.ip)"}}"#)
            Issue.record("a duplicate spec.ip was accepted")
        } catch let error as APIError {
            #expect(error.code == 409 && error.message.contains("IP \(Self.ip) is already used by host default/s1"))
        }
        try await f.create(.bareMetalHost, #"{"metadata":{"name":"s2","namespace":"default"},"spec":{"bootMACAddress":"52:54:00:00:00:02","ip":"10.0.0.6"}}"#)
        await #expect(throws: APIError.self) {
            _ = try await f.service.patch(ObjectKey(.bareMetalHost, namespace: "default", name: "s2"), patch: f.json(#"{"spec":{"ip":"\#(Self.ip)"}}"#), type: .merge)
        }
    }

    /// Imported data (mkube never checked addresses) may already hold duplicates: they are
    /// flagged, and a write that leaves them as they were is accepted with a warning.
    @Test func existingDuplicateIPsAreFlaggedNotRefused() async throws {
        let dir = NSTemporaryDirectory() + "bootgate-dupip-" + UUID().uuidString
        let store = try SQLiteStore(directory: dir)
        func host(_ name: String, _ mac: String) throws -> ResourceObject {
            ResourceObject(kind: .bareMetalHost, json: try JSONParser.parse(#"{"kind":"BareMetalHost","metadata":{"name":"\#(name)","namespace":"default"},"spec":{"bootMACAddress":"\#(mac)","ip":"10.1.1.1"}}"#))
        }
        _ = try await store.commit([.put(try host("a", "52:54:00:00:01:01"), expectedRevision: nil), .put(try host("b", "52:54:00:00:01:02"), expectedRevision: nil)])
        await store.close()
        let f = try await ServiceFixture.make(directory: dir)
        let a = ObjectKey(.bareMetalHost, namespace: "default", name: "a")
        #expect(f.service.ruleViolations(a) == ["IP 10.1.1.1 is already used by host default/b; /api/v1/bootconfig could not tell them apart"])
        #expect(f.service.allRuleViolations().map(\.key.name) == ["a", "b"])
        let out = try await f.service.patch(a, patch: f.json(#"{"metadata":{"labels":{"rack":"r1"}}}"#), type: .merge)
        #expect(out.warnings.contains { $0.hasPrefix("left as it was: IP 10.1.1.1") })
    }

    @Test func hostsThatCannotBootAsMeantAreWarnedAbout() async throws {
        let f = try await Self.lab()
        try await f.create(.iscsiCdrom, #"{"metadata":{"name":"untargeted"},"spec":{"isoFile":"u.iso"}}"#)
        let noConfig = try await f.service.create(.bareMetalHost, namespace: "default", body: f.json(
            #"{"metadata":{"name":"s3"},"spec":{"bootMACAddress":"52:54:00:00:00:03","image":"live"}}"#))
        #expect(noConfig.warnings == [#"host default/s3 boots ISO "live", which takes a config (installer, target), but has no spec.bootConfigRef: its installer will get 404 from /api/v1/bootconfig"#])
        let noTarget = try await f.service.create(.bareMetalHost, namespace: "default", body: f.json(
            #"{"metadata":{"name":"s4"},"spec":{"bootMACAddress":"52:54:00:00:00:04","image":"untargeted"}}"#))
        #expect(noTarget.warnings.count == 1 && noTarget.warnings[0].contains("no iSCSI target yet"))
        let s4 = ObjectKey(.bareMetalHost, namespace: "default", name: "s4")
        #expect(f.service.readWarnings(s4) == noTarget.warnings && f.service.ruleViolations(s4).isEmpty)
        // Listed with the violations, as warnings: nothing breaks a rule.
        let findings = f.service.allRuleFindings()
        #expect(findings.map(\.key.name) == ["s3", "s4"] && findings.allSatisfy { $0.problems.isEmpty && $0.warnings.count == 1 })
        #expect(f.service.allRuleViolations().isEmpty)
        // The preview says it once (the script's own refusal covers the missing target).
        let preview = try await f.service.preview(s4)
        #expect(preview["problems"]?.arrayValue?.count == 1)
        let p3 = try await f.service.preview(ObjectKey(.bareMetalHost, namespace: "default", name: "s3"))
        #expect(p3["problems"]?.arrayValue?.first?.stringValue?.contains("no spec.bootConfigRef") == true)
        // The ISO gets its target: the warning goes.
        _ = try await f.service.patch(ObjectKey(.iscsiCdrom, name: "untargeted"), patch: f.json(#"{"status":{"targetIQN":"iqn.2026-01.lo:u"}}"#), type: .merge)
        #expect(f.service.readWarnings(s4).isEmpty)
    }
}
