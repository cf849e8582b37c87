import Foundation
import Logging
import Plugins
import Testing
@testable import Gateway


/// A Service on a real SQLite store in a fresh temporary folder.
struct ServiceFixture {
    let directory: String
    let service: Service

    static func make(retained: Int64 = 100_000, history: Int = 10_000, directory: String? = nil) async throws -> ServiceFixture {
        let dir = directory ?? NSTemporaryDirectory() + "bootgate-test-" + UUID().uuidString
        let store = try SQLiteStore(directory: dir, retainedRevisions: retained)
        var settings = ServiceSettings()
        settings.watchHistory = history
        let service = try await Service.open(store: store, settings: settings, renderers: RendererRegistry(), logger: Logger(label: "test"))
        return ServiceFixture(directory: dir, service: service)
    }

    func json(_ text: String) throws -> JSONValue { try JSONParser.parse(text) }

    @discardableResult
    func create(_ kind: ResourceKind, _ text: String) async throws -> ResourceObject {
        try await service.create(kind, namespace: kind.namespaced ? "default" : nil, body: json(text)).object
    }
}

@Suite struct ServiceTests {
    @Test func racingPatchesWithOneResourceVersion() async throws {
        let f = try await ServiceFixture.make()
        let host = try await f.create(.bareMetalHost, #"{"metadata":{"name":"h1"},"spec":{"bootMACAddress":"52:54:00:00:00:01"}}"#)
        let rv = host.resourceVersion
        let key = host.key
        let service = f.service
        let results = await withTaskGroup(of: Bool.self) { group in
            for label in ["a", "b"] {
                group.addTask {
                    let patch = try! JSONParser.parse(#"{"metadata":{"resourceVersion":"\#(rv)","labels":{"who":"\#(label)"}}}"#)
                    do throws(APIError) {
                        _ = try await service.patch(key, patch: patch, type: .merge)
                        return true
                    } catch {
                        #expect(error.code == 409)
                        return false
                    }
                }
            }
            return await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        #expect(results.filter { $0 }.count == 1)
        #expect(results.filter { !$0 }.count == 1)
    }

    /// Subscribing reads the list and writes it back: done outside the write gate, two racing
    /// subscribes each wrote the list they read and one was lost.
    @Test func concurrentSubscribesAreAllKept() async throws {
        let f = try await ServiceFixture.make()
        let iso = try await f.create(.iscsiCdrom, #"{"metadata":{"name":"iso1"}}"#).key
        let service = f.service
        await withTaskGroup(of: Void.self) { group in
            for i in 0..<20 {
                group.addTask { _ = try! await service.subscribe(iso: iso, name: "s\(i)", initiatorIQN: nil) }
            }
        }
        let names = try service.get(iso).json.value(at: ["status", "subscribers"])?.arrayValue?.compactMap { $0["name"]?.stringValue } ?? []
        #expect(Set(names) == Set((0..<20).map { "s\($0)" }))
        await withTaskGroup(of: Void.self) { group in
            for i in 0..<10 {
                group.addTask { try! await service.unsubscribe(iso: iso, name: "s\(i)") }
            }
        }
        let left = try service.get(iso).json.value(at: ["status", "subscribers"])?.arrayValue?.compactMap { $0["name"]?.stringValue } ?? []
        #expect(Set(left) == Set((10..<20).map { "s\($0)" }))
    }

    @Test func committedWritesSurviveReopen() async throws {
        let f = try await ServiceFixture.make()
        try await f.create(.bootConfig, #"{"metadata":{"name":"c1"},"spec":{"format":"custom","data":{"a":"b"}}}"#)
        try await f.create(.iscsiCdrom, #"{"metadata":{"name":"iso1"},"spec":{"bootConfigs":["c1"]}}"#)
        try await f.create(.bareMetalHost, #"{"metadata":{"name":"h1"},"spec":{"image":"iso1","bootConfigRef":"c1"}}"#)
        let revision = f.service.index.revision
        await f.service.store.close()
        let g = try await ServiceFixture.make(directory: f.directory)
        #expect(g.service.index.revision == revision)
        let config = try g.service.get(ObjectKey(.bootConfig, name: "c1"))
        #expect(config.strings("status", "assignedTo") == ["h1"])
        #expect(try g.service.get(ObjectKey(.bareMetalHost, namespace: "default", name: "h1")).bootConfigRef == "c1")
    }

    /// `/ipxe` answers from its cache without looking at the index, so every change a script
    /// depends on must retire what is cached, and boot counters (written during a storm) must not.
    @Test func cachedScriptsFollowEveryChangeTheyDependOn() async throws {
        let f = try await ServiceFixture.make()
        let service = f.service
        let iso = try await f.create(.iscsiCdrom, #"{"metadata":{"name":"iso1"}}"#).key
        let host = try await f.create(.bareMetalHost, #"{"metadata":{"name":"h1"},"spec":{"bootMACAddress":"52:54:00:00:00:01","image":"iso1"}}"#).key
        func script() throws -> String { String(decoding: try service.ipxe(mac: "52-54-00-00-00-01", record: true), as: UTF8.self) }

        #expect(try script().contains("no iSCSI target yet"))
        _ = try await service.patch(iso, patch: f.json(#"{"status":{"targetIQN":"iqn.2000-02.test:iso1","portalIP":"127.0.0.2"}}"#), type: .merge)
        #expect(try script().hasSuffix("sanboot iscsi:127.0.0.2::::iqn.2000-02.test:iso1\n"))

        let epoch = service.index.scriptEpoch
        await service.flushBootRecords()
        #expect(try service.get(host).json.value(at: ["status", "bootCount"])?.intValue == 1)
        #expect(service.index.scriptEpoch == epoch, "boot counters leave cached scripts alone")

        _ = try await service.patch(host, patch: f.json(#"{"spec":{"image":"localboot"}}"#), type: .merge)
        #expect(try script().hasSuffix("exit\n") && script().contains("local disk"))
        _ = try await service.patch(host, patch: f.json(#"{"spec":{"image":"iso1","bootMACAddress":"52:54:00:00:00:02"}}"#), type: .merge)
        #expect(try script().contains("no BareMetalHost has MAC 52:54:00:00:00:01"))
        _ = try await service.patch(host, patch: f.json(#"{"spec":{"bootMACAddress":"52:54:00:00:00:01"}}"#), type: .merge)
        #expect(try script().contains("sanboot"))
        _ = try await service.delete(host)
        #expect(try script().contains("no BareMetalHost has MAC 52:54:00:00:00:01"))
    }

    @Test func watchResumesFromTheStoreWhenMemoryIsShort() async throws {
        let f = try await ServiceFixture.make(retained: 100_000, history: 2)
        let first = try await f.create(.bootConfig, #"{"metadata":{"name":"c0"},"spec":{"data":{"a":"b"}}}"#)
        for n in 1...5 { try await f.create(.bootConfig, #"{"metadata":{"name":"c\#(n)"},"spec":{"data":{"a":"b"}}}"#) }
        let stream = try await f.service.watch(WatchRequest(kind: .bootConfig, resourceVersion: String(first.resourceVersion)))
        var names: [String] = []
        for await item in stream {
            if case .event(_, let o) = item { names.append(o.name) }
            if names.count == 5 { break }
        }
        #expect(names == ["c1", "c2", "c3", "c4", "c5"])
    }

    @Test func watchFromACompactedRevisionIsGone() async throws {
        let f = try await ServiceFixture.make(retained: 4, history: 2)
        for n in 0..<12 { try await f.create(.bootConfig, #"{"metadata":{"name":"c\#(n)"},"spec":{"data":{"a":"b"}}}"#) }
        do throws(APIError) {
            _ = try await f.service.watch(WatchRequest(kind: .bootConfig, resourceVersion: "1"))
            Issue.record("a compacted revision was resumed")
        } catch {
            #expect(error.code == 410)
            #expect(error.message.contains("too old resource version"))
        }
    }
}

@Suite struct ListPagingTests {
    /// Paged lists keep at most `listSnapshots` states, however many revisions clients page at;
    /// a token whose state was dropped is 410 with a token for the rest of the current state,
    /// unless nothing of its kind changed since.
    @Test func pagedStatesAreBoundedAndAnEvictedTokenIsExpired() async throws {
        let f = try await ServiceFixture.make()
        let service = f.service
        for i in 0..<6 { try await f.create(.bootConfig, #"{"metadata":{"name":"c\#(i)"},"spec":{"format":"custom","data":{"a":"b"}}}"#) }
        for i in 0..<3 { try await f.create(.iscsiCdrom, #"{"metadata":{"name":"i\#(i)"}}"#) }
        let isoPage = try service.list(.iscsiCdrom, .init(), page: PageRequest(limit: 1))
        var tokens: [ListContinueToken] = []
        for i in 0..<(service.settings.listSnapshots + 3) {
            let page = try service.list(.bootConfig, .init(), page: PageRequest(limit: 2))
            #expect(page.items.map(\.name) == ["c0", "c1"] && page.remainingItemCount == 4)
            tokens.append(try ListContinueToken(parsing: page.continueToken!))
            // A config write between lists: each first page is at a new revision.
            _ = try await service.patch(ObjectKey(.bootConfig, name: "c5"), patch: JSONParser.parse(#"{"metadata":{"labels":{"n":"\#(i)"}}}"#), type: .merge)
        }
        #expect(service.listSnapshots.count == service.settings.listSnapshots)
        // The newest is still served from its state (c5 as it was then).
        let rest = try service.list(.bootConfig, .init(), page: PageRequest(limit: 10, continueToken: tokens.last))
        #expect(rest.items.map(\.name) == ["c2", "c3", "c4", "c5"] && rest.continueToken == nil)
        #expect(rest.revision == tokens.last!.revision && rest.items[3].labels["n"] == String(service.settings.listSnapshots + 1))
        // The oldest was dropped, and configs changed since.
        do {
            _ = try service.list(.bootConfig, .init(), page: PageRequest(limit: 10, continueToken: tokens.first))
            Issue.record("an evicted token was served")
        } catch {
            #expect(error.code == 410 && error.reason == "Expired")
            let next = try ListContinueToken(parsing: error.listContinue!)
            #expect(next.revision == -1 && next.name == "c1")
            let inconsistent = try service.list(.bootConfig, .init(), page: PageRequest(limit: 10, continueToken: next))
            #expect(inconsistent.items.map(\.name) == ["c2", "c3", "c4", "c5"] && inconsistent.revision == service.index.revision)
        }
        // The ISO list's state was evicted too, but no ISO changed: served at its revision.
        let isoToken = try ListContinueToken(parsing: isoPage.continueToken!)
        let isos = try service.list(.iscsiCdrom, .init(), page: PageRequest(limit: 10, continueToken: isoToken))
        #expect(isos.items.map(\.name) == ["i1", "i2"] && isos.revision == isoToken.revision)
    }
}
