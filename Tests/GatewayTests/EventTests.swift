import Foundation
import Logging
import Plugins
import Synchronization
import Testing
@testable import Gateway

/// A real SQLite store that counts its commits, to measure what a boot storm costs the disk.
final class CommitCountingStore: ObjectStore {
    let inner: SQLiteStore
    let commits = Atomic<Int>(0)
    let perCommit: Int
    init(_ inner: SQLiteStore, perCommit: Int) {
        self.inner = inner
        self.perCommit = perCommit
    }
    func load() async throws(StoreError) -> StoreSnapshot { try await inner.load() }
    func commit(_ writes: [StoreWrite], reads: ReadSet) async throws(StoreError) -> [StoredChange] {
        commits.add(1, ordering: .relaxed)
        return try await inner.commit(writes, reads: reads)
    }
    func changes(after revision: Int64, limit: Int) async throws(StoreError) -> [StoredChange] { try await inner.changes(after: revision, limit: limit) }
    func follow(after revision: Int64) -> AsyncThrowingStream<[StoredChange], any Error> { inner.follow(after: revision) }
    func close() async { await inner.close() }
    var maxWritesPerCommit: Int { perCommit }
}

@Suite struct EventTests {
    static func open(_ dir: String, perCommit: Int = 256, settings edit: (inout ServiceSettings) -> Void = { _ in }) async throws -> (Service, CommitCountingStore) {
        let store = CommitCountingStore(try SQLiteStore(directory: dir), perCommit: perCommit)
        var settings = ServiceSettings()
        // Only the test's own flushes: a background batch would split the counts.
        settings.bootBatchDelay = .seconds(3600)
        edit(&settings)
        let service = try await Service.open(store: store, settings: settings, renderers: RendererRegistry(), logger: Logger(label: "test"))
        return (service, store)
    }

    static func directory() -> String { NSTemporaryDirectory() + "bootgate-events-" + UUID().uuidString }

    static func hosts(_ service: Service, _ n: Int) async throws {
        _ = try await service.create(.iscsiCdrom, namespace: nil, body: JSONParser.parse(#"{"metadata":{"name":"iso1"},"status":{"targetIQN":"iqn.2000-01.test:iso1"}}"#))
        for i in 0..<n {
            let mac = String(format: "52:54:00:00:%02x:%02x", i / 256, i % 256)
            _ = try await service.create(.bareMetalHost, namespace: "default",
                                         body: JSONParser.parse(#"{"metadata":{"name":"h\#(i)"},"spec":{"bootMACAddress":"\#(mac)","image":"iso1"}}"#))
        }
    }

    /// A storm of 600 boots (one per host) is written in batches: its counters and its events
    /// take ceil(600/100) commits each, not 1,200.
    @Test func aBootStormIsAFewCommits() async throws {
        let (service, store) = try await Self.open(Self.directory(), perCommit: 100)
        try await Self.hosts(service, 600)
        let before = store.commits.load(ordering: .relaxed)
        for i in 0..<600 {
            _ = try service.ipxe(mac: String(format: "52:54:00:00:%02x:%02x", i / 256, i % 256), record: true, ip: "10.0.0.\(i % 250)")
        }
        await service.flushBootRecords()
        let commits = store.commits.load(ordering: .relaxed) - before
        #expect(commits == 6 + 6, "600 counters and 600 events, 100 per commit")
        #expect(service.index.count(.bootEvent) == 600)
        #expect(try service.get(ObjectKey(.bareMetalHost, namespace: "default", name: "h599")).json.value(at: ["status", "bootCount"])?.intValue == 1)
    }

    @Test func eventsSurviveARestartAndAreListedInOrder() async throws {
        let dir = Self.directory()
        do {
            let (service, _) = try await Self.open(dir)
            try await Self.hosts(service, 2)
            _ = try service.ipxe(mac: "52:54:00:00:00:00", record: true, ip: "10.0.0.1")
            _ = try service.ipxe(mac: "52:54:00:00:00:01", record: true, ip: "10.0.0.2")
            _ = try service.ipxe(mac: "52:54:00:00:00:09", record: true, ip: "10.0.0.3")
            // Listed before the flush (on their way) and after it, the same.
            let early = service.bootEventList(host: nil, limit: 100).map(\.type)
            await service.flushBootRecords()
            #expect(service.bootEventList(host: nil, limit: 100).map(\.type) == early)
            await service.store.close()
        }
        let (again, _) = try await Self.open(dir)
        let events = again.bootEventList(host: nil, limit: 100)
        #expect(events.map(\.type) == ["ipxe", "ipxe", "ipxe-refused"])
        #expect(events.map(\.host) == ["default/h0", "default/h1", ""])
        #expect(again.bootEventList(host: "default/h1", limit: 100).map(\.ip) == ["10.0.0.2"])
        let (items, _) = again.list(.bootEvent, .init(fieldSelector: try FieldSelector(parsing: "host=default/h0", kind: .bootEvent)))
        #expect(items.count == 1 && items[0].string("mac") == "52:54:00:00:00:00")
    }

    @Test func retentionKeepsTheNewestAndDeletesInBatches() async throws {
        let (service, store) = try await Self.open(Self.directory(), perCommit: 50) { s in
            s.bootEventRetention = EventRetention(maxCount: 100, maxAge: .seconds(3600))
        }
        try await Self.hosts(service, 1)
        for round in 0..<3 {
            for _ in 0..<100 { _ = try service.ipxe(mac: "52:54:00:00:00:00", record: true, ip: "10.0.0.\(round)") }
            await service.flushBootRecords()
        }
        #expect(service.index.count(.bootEvent) == 100)
        #expect(service.bootEventList(host: nil, limit: 1000).allSatisfy { $0.ip == "10.0.0.2" }, "the newest are kept")
        // Under the slack (a twentieth) nothing is deleted: trims are batches, not one per event.
        let before = store.commits.load(ordering: .relaxed)
        for _ in 0..<5 { _ = try service.ipxe(mac: "52:54:00:00:00:00", record: true, ip: "10.0.0.9") }
        await service.flushBootRecords()
        #expect(store.commits.load(ordering: .relaxed) - before == 2, "one commit of counters, one of events, no trim")
        #expect(service.index.count(.bootEvent) == 105)
    }

    @Test func retentionByAge() {
        let r = EventRetention(maxCount: 1000, maxAge: .seconds(60))
        let now: Int64 = 1_800_000_000_000
        let names = [now - 120_000, now - 61_000, now - 59_000, now].map { EventName.make(milliseconds: $0, sequence: 1) }
        #expect(Array(r.expired(names, nowMilliseconds: now)) == Array(names.prefix(2)))
        let byCount = EventRetention(maxCount: 2, maxAge: .seconds(3600))
        #expect(byCount.expired(Array(names.prefix(2)), nowMilliseconds: now).isEmpty)
        #expect(Array(byCount.expired(names, nowMilliseconds: now)) == Array(names.prefix(2)))
    }

    @Test func everyWriteHasItsAuditRecordInTheSameCommit() async throws {
        let (service, store) = try await Self.open(Self.directory())
        let before = store.commits.load(ordering: .relaxed)
        var options = WriteOptions()
        options.actor = Actor(name: "ci", role: "admin", address: "127.0.0.1", transport: "rest")
        let host = try await service.create(.bareMetalHost, namespace: "default",
                                            body: JSONParser.parse(#"{"metadata":{"name":"h"},"spec":{"bootMACAddress":"52:54:00:00:00:01","bmc":{"address":"10.0.0.1","password":"hunter2"}}}"#),
                                            options: options).object
        #expect(store.commits.load(ordering: .relaxed) - before == 1)
        _ = try await service.patch(host.key, patch: JSONParser.parse(#"{"spec":{"bmc":{"password":"swordfish"},"image":"localboot"}}"#), type: .merge, options: options)
        _ = try await service.delete(host.key, options: options)
        #expect(store.commits.load(ordering: .relaxed) - before == 3)
        let (records, _) = service.list(.auditEvent, .init())
        #expect(records.map { $0.string("verb") } == ["create", "patch", "delete"])
        #expect(records.allSatisfy { $0.string("user", "name") == "ci" && $0.string("object", "name") == "h" })
        let text = records.map { JSONWriter.string($0.json) }.joined()
        #expect(!text.contains("hunter2") && !text.contains("swordfish"))
        #expect(text.contains("/spec/image") && text.contains("(redacted)"))
        let patch = records[1]
        #expect(patch.string("resourceVersionBefore") == String(host.resourceVersion))
        #expect(patch.string("resourceVersionAfter") == String(patch.resourceVersion))
    }
}

@Suite struct EventAgeTests {
    /// Events past their age go even when nothing boots or writes afterwards.
    @Test func eventsAgeOutWithoutFurtherTraffic() async throws {
        let (service, _) = try await EventTests.open(EventTests.directory()) { s in
            s.bootEventRetention = EventRetention(maxCount: 1000, maxAge: .seconds(1))
            s.retentionCheck = .milliseconds(200)
            s.bootBatchDelay = .milliseconds(100)
        }
        // Watched rather than counted: on a loaded machine the flush can land after the age.
        let stream = try await service.watch(WatchRequest(kind: .bootEvent, resourceVersion: ""))
        _ = try service.ipxe(mac: "52:54:00:00:00:42", record: true, ip: "10.0.0.1")
        await service.flushBootRecords()
        var seen: [String] = []
        for await item in stream {
            if case .event(let type, _) = item { seen.append(type) }
            if seen.count == 2 { break }
        }
        #expect(seen == ["ADDED", "DELETED"])
        #expect(service.index.count(.bootEvent) == 0)
    }
}
