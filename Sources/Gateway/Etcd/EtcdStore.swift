import Foundation
import Logging
import Synchronization

/// Objects in etcd v3, for several bootgate replicas: no leader, no coordination beyond etcd.
/// `resourceVersion` is etcd's `mod_revision`; a commit is one `Txn` whose conditions are the
/// writes' expected revisions and what the validation read (`ReadSet`): the objects it read must
/// not have changed since the index's revision, the users of what it deletes must be the same,
/// and nobody may have claimed a host's MAC or IP meanwhile. Each replica's index follows an etcd watch, so
/// what another replica writes reaches it like its own writes.
///
/// Keys, under the prefix:
///   objects/<Kind>/<namespace>/<name>   the object's JSON (BMC passwords sealed)
///   usage/<Kind>/<name>                 rewritten whenever a host (or an ISO) starts or stops
///                                       using that config or ISO: what a delete compares
///   claims/mac/<mac>, claims/ip/<ip>    the host holding a MAC or a spec.ip, rewritten by every
///                                       commit of a host holding it: concurrent claims conflict
///   leaders/<name>                      the replica doing what one replica at a time must do
///                                       (driving BMCs), under a short lease (`EtcdLeadership`)
public final class EtcdStore: ObjectStore {
    private let client: EtcdClient
    private let sealer: SecretSealer
    private let prefix: String
    private let logger: Logger
    private let state = Mutex(StoreHealth(reachable: false, since: Date(), reason: "not contacted yet"))
    private let closed = Atomic<Bool>(false)

    /// etcd's default `--max-txn-ops` is 128, and each write carries a condition.
    public var maxWritesPerCommit: Int { 48 }

    public init(endpoints: [String], tls: EtcdClient.TLS?, sealer: SecretSealer, prefix: String = "/bootgate/", logger: Logger) throws {
        client = try EtcdClient(endpoints: endpoints, tls: tls)
        self.sealer = sealer
        self.prefix = prefix
        self.logger = logger
    }

    // MARK: keys

    func objectKey(_ key: ObjectKey) -> String { "\(prefix)objects/\(key.kind.rawValue)/\(key.namespace)/\(key.name)" }
    func usageKey(_ key: ObjectKey) -> String { "\(prefix)usage/\(key.kind.rawValue)/\(key.name)" }
    /// `claim` is `mac/<mac>` or `ip/<ip>` (`ReferenceRules.claims(of:)`).
    func claimKey(_ claim: String) -> String { "\(prefix)claims/\(claim)" }
    var objectsPrefix: String { prefix + "objects/" }

    /// The key just past every key starting with `p` (etcd's range end for a prefix).
    static func rangeEnd(_ p: String) -> [UInt8] {
        var bytes = Array(p.utf8)
        bytes[bytes.count - 1] += 1
        return bytes
    }

    private func decodeObject(_ kv: JSONValue) -> ResourceObject? {
        let key = String(decoding: EtcdClient.decode(kv["key"]), as: UTF8.self)
        let parts = key.dropFirst(objectsPrefix.count).split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 3, let kind = ResourceKind(rawValue: String(parts[0])),
              var json = try? JSONParser.parse(EtcdClient.decode(kv["value"])) else { return nil }
        json = sealer.open(json)
        json.set(.string(String(EtcdClient.int(kv["mod_revision"]))), at: ["metadata", "resourceVersion"])
        return ResourceObject(kind: kind, json: json)
    }

    /// One replica at a time for `what`, through the key `leaders/<name>` (`EtcdLeadership`).
    public func leadership(_ name: String, what: String) -> any Leadership {
        EtcdLeadership(client: client, key: "\(prefix)leaders/\(name)", what: what, logger: logger)
    }

    // MARK: ObjectStore

    public func load() async throws(StoreError) -> StoreSnapshot {
        let answer: JSONValue
        do throws(EtcdClient.Failure) {
            answer = try await client.call("/v3/kv/range", ["key": EtcdClient.b64(objectsPrefix), "range_end": EtcdClient.b64(Self.rangeEnd(objectsPrefix))])
        } catch {
            throw .unavailable("etcd (\(client.endpoints.joined(separator: ", "))) cannot be read: \(error.message)")
        }
        setHealth(nil)
        let objects = (answer["kvs"]?.arrayValue ?? []).compactMap(decodeObject)
        return StoreSnapshot(objects: objects, revision: EtcdClient.int(answer["header"]?["revision"]))
    }

    public func commit(_ writes: [StoreWrite], reads: ReadSet) async throws(StoreError) -> [StoredChange] {
        guard !writes.isEmpty else { return [] }
        var compares: [JSONValue] = []
        var ops: [JSONValue] = []
        func compare(_ key: String, _ target: String, _ field: String, _ result: String, _ value: JSONValue) {
            compares.append(.object(JSONObject([("target", .string(target)), ("key", EtcdClient.b64(key)), ("result", .string(result)), (field, value)])))
        }
        let revisionField = { (r: Int64) -> JSONValue in .string(String(r)) }
        for write in writes {
            let key = objectKey(write.key)
            switch write {
            case .put(let object, let expected):
                if let expected { compare(key, "MOD", "mod_revision", "EQUAL", revisionField(expected)) } else { compare(key, "CREATE", "create_revision", "EQUAL", revisionField(0)) }
                var json = sealer.seal(object.json)
                json.set(nil, at: ["metadata", "resourceVersion"])
                ops.append(["request_put": ["key": EtcdClient.b64(key), "value": EtcdClient.b64(JSONWriter.bytes(json))]])
            case .delete(_, let expected):
                compare(key, "MOD", "mod_revision", "EQUAL", revisionField(expected))
                ops.append(["request_delete_range": ["key": EtcdClient.b64(key), "prev_kv": true]])
            }
        }
        // What the validation read must still be as it read it.
        let next = revisionField(reads.asOf + 1)
        for o in reads.objects {
            compare(objectKey(o), "MOD", "mod_revision", "LESS", next)
            compare(objectKey(o), "CREATE", "create_revision", "GREATER", revisionField(0))
        }
        for o in reads.usersOf { compare(usageKey(o), "MOD", "mod_revision", "LESS", next) }
        for o in reads.uses { ops.append(["request_put": ["key": EtcdClient.b64(usageKey(o)), "value": EtcdClient.b64("")]]) }
        for c in reads.claims {
            // Whoever held it at `asOf` the check saw (a claim is written with its host).
            compare(claimKey(c.claim), "MOD", "mod_revision", "LESS", next)
            ops.append(["request_put": ["key": EtcdClient.b64(claimKey(c.claim)), "value": EtcdClient.b64(c.holder.description)]])
        }
        for claim in reads.releases { ops.append(["request_delete_range": ["key": EtcdClient.b64(claimKey(claim))]]) }

        let answer: JSONValue
        do throws(EtcdClient.Failure) {
            answer = try await client.call("/v3/kv/txn", .object(JSONObject([("compare", .array(compares)), ("success", .array(ops))])))
        } catch {
            if !error.reached { setHealth(error.message) }
            if error.message.contains("database space exceeded") {
                throw .full("etcd's database is over its space quota (--quota-backend-bytes): compact and defragment it, then `etcdctl alarm disarm`, or raise the quota")
            }
            throw error.reached ? .io(error.message) : .unavailable("etcd (\(client.endpoints.joined(separator: ", "))) does not answer: \(error.message)")
        }
        setHealth(nil)
        let revision = EtcdClient.int(answer["header"]?["revision"])
        // proto3 JSON leaves out false: a missing `succeeded` is a failed condition.
        guard answer["succeeded"]?.boolValue == true else {
            throw .moved(revision: revision, reason: "a condition of the commit failed at etcd revision \(revision)")
        }
        let responses = answer["responses"]?.arrayValue ?? []
        return writes.enumerated().compactMap { i, write -> StoredChange? in
            switch write {
            case .put(var object, let expected):
                object.json.set(.string(String(revision)), at: ["metadata", "resourceVersion"])
                return StoredChange(revision: revision, type: expected == nil ? .added : .modified, object: object)
            case .delete:
                let prev = responses.indices.contains(i) ? responses[i]["response_delete_range"]?["prev_kvs"]?.arrayValue?.first : nil
                guard var object = prev.flatMap(decodeObject) else { return nil }
                object.json.set(.string(String(revision)), at: ["metadata", "resourceVersion"])
                return StoredChange(revision: revision, type: .deleted, object: object)
            }
        }
    }

    public func changes(after revision: Int64, limit: Int) async throws(StoreError) -> [StoredChange] {
        // Older changes than the index's memory: read them from etcd's own history.
        var out: [StoredChange] = []
        let stream = follow(after: revision, once: true)
        do {
            for try await batch in stream {
                out += batch
                if out.count >= limit { break }
            }
        } catch let e as StoreError {
            throw e
        } catch {
            throw .io("\(error)")
        }
        return out
    }

    public func follow(after revision: Int64) -> AsyncThrowingStream<[StoredChange], any Error> {
        follow(after: revision, once: false)
    }

    /// The commits after `revision` as etcd's watch reports them, grouped by revision. Reconnects
    /// (to the next member) from the last revision passed on, so nothing is lost or repeated;
    /// fails with `.compacted` once etcd no longer has that revision. `once`: stop at the
    /// revision etcd is at when the watch starts (for `changes(after:)`).
    private func follow(after revision: Int64, once: Bool) -> AsyncThrowingStream<[StoredChange], any Error> {
        let (stream, continuation) = AsyncThrowingStream<[StoredChange], any Error>.makeStream()
        let task = Task { [self] in
            var last = revision
            var backoff: Duration = .milliseconds(100)
            var until: Int64? = nil
            while !Task.isCancelled, !closed.load(ordering: .relaxed) {
                do throws(EtcdClient.Failure) {
                    let events = try await client.watch(.object(JSONObject([
                        ("key", EtcdClient.b64(objectsPrefix)), ("range_end", EtcdClient.b64(Self.rangeEnd(objectsPrefix))),
                        ("start_revision", .string(String(last + 1))), ("prev_kv", true), ("progress_notify", true),
                    ])))
                    setHealth(nil)
                    backoff = .milliseconds(100)
                    do {
                        for try await result in events {
                            let header = EtcdClient.int(result["header"]?["revision"])
                            if once, until == nil { until = header }
                            let compacted = EtcdClient.int(result["compact_revision"])
                            if compacted > 0 {
                                continuation.finish(throwing: StoreError.compacted(oldest: compacted))
                                return
                            }
                            for batch in batches(result["events"]?.arrayValue ?? []) {
                                continuation.yield(batch)
                                last = batch[0].revision
                            }
                            if let until, last >= until {
                                continuation.finish()
                                return
                            }
                        }
                    } catch {
                        throw EtcdClient.Failure(reached: false, message: "\(error)")
                    }
                } catch {
                    setHealth(error.message)
                    logger.warning("etcd watch: \(error.message); resuming after revision \(last)")
                }
                try? await Task.sleep(for: backoff * Double.random(in: 0.5...1.0))
                backoff = min(backoff * 2, .seconds(5))
            }
            continuation.finish()
        }
        // The last revisions may be other keys' (a revision is cluster-wide): history arrives at
        // once, so a one-off read ends when it goes quiet.
        let quiet = once ? Task {
            try? await Task.sleep(for: .seconds(1))
            continuation.finish()
        } : nil
        continuation.onTermination = { _ in
            task.cancel()
            quiet?.cancel()
        }
        return stream
    }

    /// Watch events as the index takes them: one batch per revision, objects only.
    private func batches(_ events: [JSONValue]) -> [[StoredChange]] {
        var out: [[StoredChange]] = []
        for event in events {
            let deleted = event["type"]?.stringValue == "DELETE"
            guard let kv = event["kv"] else { continue }
            let key = String(decoding: EtcdClient.decode(kv["key"]), as: UTF8.self)
            guard key.hasPrefix(objectsPrefix) else { continue }
            let revision = EtcdClient.int(kv["mod_revision"])
            let change: StoredChange
            if deleted {
                guard var object = event["prev_kv"].flatMap(decodeObject) else { continue }
                object.json.set(.string(String(revision)), at: ["metadata", "resourceVersion"])
                change = StoredChange(revision: revision, type: .deleted, object: object)
            } else {
                guard let object = decodeObject(kv) else { continue }
                change = StoredChange(revision: revision, type: EtcdClient.int(kv["create_revision"]) == revision ? .added : .modified, object: object)
            }
            if out.last?.first?.revision == revision { out[out.count - 1].append(change) } else { out.append([change]) }
        }
        return out
    }

    public func close() async {
        closed.store(true, ordering: .relaxed)
        await client.shutdown()
    }

    public var health: StoreHealth { state.withLock { $0 } }

    private func setHealth(_ failure: String?) {
        state.withLock { h in
            let reachable = failure == nil
            if h.reachable != reachable { h = StoreHealth(reachable: reachable, since: Date(), reason: failure) } else if !reachable { h.reason = failure }
        }
    }
}
