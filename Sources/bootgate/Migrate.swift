import ArgumentParser
import Foundation
import Gateway
import Logging

/// `bootgate migrate --from URL --to URL`: every object of one backend copied into another,
/// verified by count and content. Re-running it changes nothing that is already there.
struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Copy every object from one store to another (SQLite, etcd, mkube), then verify.",
        discussion: """
            Stores: sqlite:DIR (the data folder of a stopped server), etcd://HOST:PORT[,HOST:PORT…], \
            http://MKUBE:8082. BMC passwords are opened with the source's key and sealed with the \
            target's (sqlite: DIR/secret.key; etcd: --etcd-secret-key). Objects already in the target \
            with the same content are left alone; others are created or overwritten. Rules are not \
            checked: data from mkube may break them (see bootgate validate --server).
            """)

    @Option(help: "Store to copy from.") var from: String
    @Option(help: "Store to copy into.") var to: String
    @Option(help: "Key that seals BMC passwords in etcd (replicas share it).") var etcdSecretKey = "./data/secret.key"

    func run() async throws {
        var logger = Logger(label: "bootgate.migrate")
        logger.logLevel = .warning
        let source = try open(from, logger: logger)
        let target = try open(to, logger: logger)
        do {
            let (copied, same, total) = try await Self.copy(from: source, to: target)
            // mkube fills in defaults of its own (status, credentials): there, what was written is compared.
            let mismatches = try await Self.verify(source, target, written: to.hasPrefix("http"))
            await source.close()
            await target.close()
            if !mismatches.isEmpty {
                for m in mismatches.prefix(20) { print("mismatch: \(m)") }
                fail("\(mismatches.count) objects differ after the copy")
            }
            print("\(total) objects: \(copied) copied, \(same) already there; verified by count and content")
        } catch let error as StoreError {
            await source.close()
            await target.close()
            fail(CommandLineError.describe(error))
        }
    }

    func open(_ url: String, logger: Logger) throws -> any ObjectStore {
        if url.hasPrefix("sqlite:") {
            let directory = String(url.dropFirst("sqlite:".count))
            // A source that is not there is a mistake, not an empty store to copy.
            if url == from, !FileManager.default.fileExists(atPath: directory + "/bootgate.sqlite") {
                throw CommandFailure("no bootgate store in \(directory) (a folder a server ran with --data)")
            }
            return try SQLiteStore(directory: directory)
        }
        if url.hasPrefix("etcd://") {
            return try EtcdStore(endpoints: Serve.etcdEndpoints(url, tls: false), tls: nil, sealer: SecretSealer.keyFile(etcdSecretKey), logger: logger)
        }
        if url.hasPrefix("http://") || url.hasPrefix("https://") {
            return MkubeUpstream(url: url, logger: logger)
        }
        throw ValidationError("a store is sqlite:DIR, etcd://HOST:PORT[,…] or http://MKUBE:8082, got \(url)")
    }

    /// What a copy compares: the object without the store's own bookkeeping.
    static func content(_ o: ResourceObject) -> JSONValue {
        var json = o.json
        json.set(nil, at: ["metadata", "resourceVersion"])
        if o.kind == .bootConfig { json.set(nil, at: ["status", "assignedTo"]) }
        return json
    }

    static func copy(from source: any ObjectStore, to target: any ObjectStore) async throws(StoreError) -> (copied: Int, same: Int, total: Int) {
        let objects = try await source.load().objects
        let existing = Dictionary(try await target.load().objects.map { ($0.key, $0) }, uniquingKeysWith: { a, _ in a })
        var writes: [StoreWrite] = []
        var same = 0
        for o in objects.sorted(by: { $0.key < $1.key }) {
            if let there = existing[o.key], content(there) == content(o) {
                same += 1
                continue
            }
            var copy = o
            copy.json = content(o)
            writes.append(.put(copy, expectedRevision: existing[o.key]?.resourceVersion))
        }
        for start in stride(from: 0, to: writes.count, by: target.maxWritesPerCommit) {
            _ = try await target.commit(Array(writes[start..<min(writes.count, start + target.maxWritesPerCommit)]))
        }
        return (writes.count, same, objects.count)
    }

    /// Keys present in one store and not the other, or whose content differs (`written`: only
    /// spec, labels and annotations).
    static func verify(_ source: any ObjectStore, _ target: any ObjectStore, written: Bool) async throws(StoreError) -> [String] {
        func compared(_ o: ResourceObject) -> JSONValue {
            let json = content(o)
            guard written else { return json }
            return .object(JSONObject([("spec", json["spec"] ?? .null), ("labels", json["metadata"]?["labels"] ?? .null),
                                       ("annotations", json["metadata"]?["annotations"] ?? .null)]))
        }
        let a = Dictionary(try await source.load().objects.map { ($0.key, compared($0)) }, uniquingKeysWith: { x, _ in x })
        let b = Dictionary(try await target.load().objects.map { ($0.key, compared($0)) }, uniquingKeysWith: { x, _ in x })
        var out: [String] = []
        for (key, json) in a.sorted(by: { $0.key < $1.key }) {
            if let there = b[key] { if there != json { out.append("\(key) differs") } } else { out.append("\(key) is missing from the target") }
        }
        return out
    }
}
