import Foundation
import Testing
@testable import Gateway

/// Writes are checked one at a time but synced together (`WriteGate`, `InFlightWrites`,
/// `SQLiteStore` group commit): concurrent writes share fsyncs, and none of the rules a check
/// enforces can be broken by two writes in flight at once.
@Suite struct GroupCommitTests {
    static let config = #"{"metadata":{"name":"c1"},"spec":{"format":"custom","data":{"a":"b"}}}"#

    static func host(_ i: Int, mac: Int? = nil, config: String = "c1") -> String {
        let m = String(format: "%02x", (mac ?? i) % 256), n = String(format: "%02x", (mac ?? i) / 256)
        return #"{"metadata":{"name":"h\#(i)"},"spec":{"bootMACAddress":"52:54:00:00:\#(n):\#(m)","bootConfigRef":"\#(config)"}}"#
    }

    @Test func concurrentCreatesShareTransactionsAndAllLand() async throws {
        let f = try await ServiceFixture.make()
        try await f.create(.bootConfig, Self.config)
        let store = try #require(f.service.store as? SQLiteStore)
        let before = store.commitGroups.load(ordering: .relaxed)
        let count = 64
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<count { group.addTask { try await f.create(.bareMetalHost, Self.host(i)) } }
            try await group.waitForAll()
        }
        let groups = store.commitGroups.load(ordering: .relaxed) - before
        #expect(groups < count, "every create had its own transaction: nothing was grouped")
        #expect(f.service.index.read { $0.hostNames(usingConfig: "c1") }.count == count)
        // Each commit kept its own revision, and all of them reached the disk.
        let revision = f.service.index.revision
        await f.service.store.close()
        let g = try await ServiceFixture.make(directory: f.directory)
        #expect(g.service.index.revision == revision)
        #expect(g.service.index.read { $0.hostNames(usingConfig: "c1") }.count == count)
    }

    /// Twenty hosts claim one MAC at once: each check ran while others were in flight, and one
    /// only may land.
    @Test func aMACClaimedByManyAtOnceGoesToOne() async throws {
        let f = try await ServiceFixture.make()
        try await f.create(.bootConfig, Self.config)
        let codes = await withTaskGroup(of: Int.self) { group in
            for i in 0..<20 {
                group.addTask {
                    do { try await f.create(.bareMetalHost, Self.host(i, mac: 7)); return 201 } catch let e as APIError { return e.code } catch { return 0 }
                }
            }
            return await group.reduce(into: [Int]()) { $0.append($1) }
        }
        #expect(codes.filter { $0 == 201 }.count == 1)
        #expect(codes.allSatisfy { $0 == 201 || $0 == 409 || $0 == 422 }, "\(codes)")
        #expect(f.service.index.read { $0.all(.bareMetalHost) }.count == 1)
    }

    /// A config deleted while hosts are being created on it: never both.
    @Test func aConfigIsNeverDeletedUnderAHostCreatedAtTheSameTime() async throws {
        let f = try await ServiceFixture.make()
        for round in 0..<10 {
            let name = "c\(round)"
            try await f.create(.bootConfig, #"{"metadata":{"name":"\#(name)"},"spec":{"format":"custom","data":{"a":"b"}}}"#)
            let service = f.service
            async let deleted: Bool = { () async -> Bool in
                do { _ = try await service.delete(ObjectKey(.bootConfig, name: name)); return true } catch { return false }
            }()
            var created = 0
            await withTaskGroup(of: Bool.self) { group in
                for i in 0..<8 {
                    group.addTask { (try? await f.create(.bareMetalHost, Self.host(round * 100 + i, config: name))) != nil }
                }
                for await ok in group where ok { created += 1 }
            }
            let configGone = await deleted
            #expect(!(configGone && created > 0), "round \(round): the config was deleted and \(created) hosts were created on it")
            let users = f.service.index.read { $0.hostNames(usingConfig: name) }.count
            #expect(users == created)
            #expect(f.service.index.object(ObjectKey(.bootConfig, name: name)) == nil || !configGone)
        }
    }

    /// Patches of one object without a resourceVersion all land: each one that found another in
    /// flight waited for it and was checked again, rather than being refused.
    @Test func patchesOfOneObjectInFlightTogetherAllLand() async throws {
        let f = try await ServiceFixture.make()
        try await f.create(.bootConfig, Self.config)
        let key = try await f.create(.bareMetalHost, Self.host(1)).key
        let service = f.service
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<24 {
                group.addTask {
                    _ = try await service.patch(key, patch: try JSONParser.parse(#"{"metadata":{"labels":{"l\#(i)":"x"}}}"#), type: .merge)
                }
            }
            try await group.waitForAll()
        }
        let labels = try service.get(key).json.value(at: ["metadata", "labels"])?.objectValue?.count ?? 0
        #expect(labels == 24)
    }
}
