import Foundation
import Testing
@testable import Gateway

/// A write costs what it changes: the background config checks a sequence of writes causes are
/// counted, so quadratic behaviour (every host on a config checked again per host write) fails
/// here without timing anything.
@Suite struct WriteCostTests {
    static let ignition = #"{"ignition":{"version":"3.4.0"},"storage":{"files":[{"path":"/etc/hostname","contents":{"source":"data:,{{host.hostname}}"}}]}}"#

    /// Waits for the background checks to finish; fails after ten seconds.
    static func settled(_ service: Service) async throws {
        for _ in 0..<1000 {
            if service.prechecksIdle { return }
            try await Task.sleep(for: .milliseconds(10))
        }
        Issue.record("the config checks did not finish")
    }

    static func rack(_ f: ServiceFixture, hosts: Int) async throws {
        let config = JSONValue.object(JSONObject([
            ("metadata", ["name": "builder"]),
            ("spec", .object(JSONObject([("format", "ignition"), ("data", .object(JSONObject([("config.ign", .string(ignition))])))]))),
        ]))
        _ = try await f.service.create(.bootConfig, namespace: nil, body: config)
        try await f.create(.iscsiCdrom, #"{"metadata":{"name":"live"},"spec":{"bootConfigs":["builder"]},"status":{"targetIQN":"iqn.2000-01.test:live"}}"#)
        for i in 0..<hosts {
            let mac = String(format: "52:54:00:00:%02x:%02x", i / 256, i % 256)
            try await f.create(.bareMetalHost, #"{"metadata":{"name":"h\#(i)"},"spec":{"bootMACAddress":"\#(mac)","ip":"10.0.\#(i / 256).\#(i % 256)","image":"live","bootConfigRef":"builder"}}"#)
        }
        try await settled(f.service)
    }

    @Test func hostCreatesOnOneConfigCheckEachHostOnce() async throws {
        let f = try await ServiceFixture.make()
        let before = f.service.precheckedHosts
        try await Self.rack(f, hosts: 300)
        #expect(f.service.precheckedHosts - before == 300)
        // The config's host list is derived when read, not written with every host.
        let config = try f.service.get(ObjectKey(.bootConfig, name: "builder"))
        #expect(config.strings("status", "assignedTo").count == 300)
        #expect(config.resourceVersion < f.service.index.revision - 299)
    }

    @Test func writesThatCannotChangeARenderingCheckNothing() async throws {
        let f = try await ServiceFixture.make()
        try await Self.rack(f, hosts: 200)
        let before = f.service.precheckedHosts
        let config = ObjectKey(.bootConfig, name: "builder")
        let iso = ObjectKey(.iscsiCdrom, name: "live")
        _ = try await f.service.patch(config, patch: f.json(#"{"metadata":{"labels":{"rack":"r1"}},"spec":{"description":"installer"}}"#), type: .merge)
        _ = try await f.service.patch(iso, patch: f.json(#"{"metadata":{"annotations":{"note":"x"}},"spec":{"description":"live ISO"}}"#), type: .merge)
        _ = try await f.service.patch(iso, patch: f.json(#"{"status":{"phase":"Ready"}}"#), type: .merge)
        try await Self.settled(f.service)
        #expect(f.service.precheckedHosts == before)
    }

    @Test func aConfigOrISOChangeChecksItsHostsOnceAndBurstsCoalesce() async throws {
        let f = try await ServiceFixture.make()
        try await Self.rack(f, hosts: 200)
        let config = ObjectKey(.bootConfig, name: "builder")
        var before = f.service.precheckedHosts
        let changed = Self.ignition.replacingOccurrences(of: "/etc/hostname", with: "/etc/hostname2")
        _ = try await f.service.patch(config, patch: .object(JSONObject([("spec", .object(JSONObject([("data", .object(JSONObject([("config.ign", .string(changed))])))])))])), type: .merge)
        try await Self.settled(f.service)
        #expect(f.service.precheckedHosts - before == 200)

        before = f.service.precheckedHosts
        _ = try await f.service.patch(ObjectKey(.iscsiCdrom, name: "live"), patch: f.json(#"{"status":{"targetIQN":"iqn.2000-01.test:live2"}}"#), type: .merge)
        try await Self.settled(f.service)
        #expect(f.service.precheckedHosts - before == 200)

        // Ten writes in a burst: each host is checked at most once per pass, and the passes
        // are fewer than the writes.
        before = f.service.precheckedHosts
        for i in 0..<10 {
            _ = try await f.service.patch(ObjectKey(.iscsiCdrom, name: "live"), patch: f.json(#"{"status":{"targetIQN":"iqn.2000-01.test:burst\#(i)"}}"#), type: .merge)
        }
        try await Self.settled(f.service)
        let checked = f.service.precheckedHosts - before
        #expect(checked >= 200 && checked < 10 * 200)
    }
}
