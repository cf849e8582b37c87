import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import Synchronization

/// bootgate in front of mkube: the store is mkube itself, seen through a cache kept by list and
/// watch. mkube has no revisions, replays every object on each watch connect, sends creations as
/// MODIFIED and deletions with the name only, and answers errors as text; the cache turns that
/// into a feed with bootgate's own revisions, in which a replay that changes nothing is no change
/// at all. Reads and the boot path are served from the index the feed keeps; writes go to mkube
/// (checked by the Service first), and the answer is applied to the cache before they return.
public final class MkubeUpstream: ObjectStore {
    public struct Options: Sendable {
        public var requestTimeout: Duration = .seconds(10)
        /// How often mkube is asked a small question; two failures in a row mark it unreachable
        /// and end the watch session (an idle watch stream alone cannot tell a dead mkube).
        public var probeInterval: Duration = .seconds(2)
        public var backoffStart: Duration = .milliseconds(250)
        public var backoffMax: Duration = .seconds(5)
        /// Sent as `Authorization: Bearer …` with every request: an mkube behind an auth proxy,
        /// or an upstream bootgate with a token file (the token needs the admin role: the
        /// cache reads BMC credentials).
        public var token: String?
        public init() {}
    }

    private struct Entry {
        var object: ResourceObject
        /// The object as mkube sent it: replays are compared with this.
        var upstream: JSONValue
        /// When the sync last saw it (`State.tick`): a relist removes only what it did not see.
        var seen: Int64
    }

    private struct State {
        var revision: Int64
        var entries: [ObjectKey: Entry] = [:]
        var tick: Int64 = 0
        var health = StoreHealth(reachable: false, since: Date(), reason: "not contacted yet")
        var closed = false
    }

    /// The client of the current watch session; writes use it too. Each session gets a new one:
    /// async-http-client's pool backs off its own connection attempts (up to a minute) after
    /// mkube refused them, which would keep a recovered mkube unreached for that long.
    private let clients: Mutex<MkubeClient>
    private var client: MkubeClient { clients.withLock { $0 } }
    private let options: Options
    private let logger: Logger
    private let state: Mutex<State>
    private let feed: ChangeFeed
    private let sync = Mutex<Task<Void, Never>?>(nil)

    public let url: String

    public init(url: String, options: Options = Options(), logger: Logger) {
        self.url = url.hasSuffix("/") ? String(url.dropLast()) : url
        self.options = options
        self.logger = logger
        clients = Mutex(Self.makeClient(self.url, options))
        // Revisions continue across restarts of bootgate (mkube keeps none): milliseconds of the
        // wall clock at start, then one per change.
        let start = Int64(Date().timeIntervalSince1970 * 1000)
        state = Mutex(State(revision: start))
        feed = ChangeFeed(revision: start)
    }

    // MARK: ObjectStore

    /// What mkube holds now; an unreachable mkube gives an empty cache that fills once it answers.
    public func load() async throws(StoreError) -> StoreSnapshot {
        do throws(MkubeClient.Failure) {
            var lists: [(ResourceKind, [JSONValue])] = []
            for kind in ResourceKind.objectKinds { lists.append((kind, try await client.list(kind))) }
            let snapshot: StoreSnapshot = state.withLock { s in
                for (kind, items) in lists {
                    for item in items {
                        guard let key = Self.key(kind, item) else { continue }
                        s.entries[key] = Entry(object: Self.stamped(kind, item, s.revision), upstream: item, seen: s.tick)
                    }
                }
                s.health = .init(reachable: true, since: Date(), reason: nil)
                return StoreSnapshot(objects: s.entries.values.map(\.object), revision: s.revision)
            }
            startSync()
            return snapshot
        } catch {
            logger.warning("mkube at \(url) is unreachable; starting with an empty cache: \(error.message)")
            setHealth(reachable: false, reason: error.message)
            startSync()
            return StoreSnapshot(objects: [], revision: state.withLock { $0.revision })
        }
    }

    /// `reads` cannot be checked: mkube has no conditional writes. Conflicts are found against
    /// the last state seen.
    public func commit(_ writes: [StoreWrite], reads: ReadSet) async throws(StoreError) -> [StoredChange] {
        let health = self.health
        guard health.reachable else {
            throw .unavailable("mkube at \(url) is unreachable since \(Timestamp.seconds(at: Int(health.since.timeIntervalSince1970))): \(health.reason ?? "")")
        }
        var out: [StoredChange] = []
        for write in writes { out.append(try await commit(write)) }
        return out
    }

    private func commit(_ write: StoreWrite) async throws(StoreError) -> StoredChange {
        let key = write.key
        if key.kind.isEvent { return try keepLocally(write) }
        let current = state.withLock { $0.entries[key] }
        switch write {
        case .put(let object, let expected):
            try Self.check(key, expected: expected, current: current)
            var body = object.json
            body.set(nil, at: ["metadata", "resourceVersion"])
            let answer: JSONValue?
            do throws(MkubeClient.Failure) {
                if let current {
                    if key.kind == .bareMetalHost {
                        // mkube's PATCH decodes onto the stored host: only what changed is sent, so
                        // whatever bootgate does not model is never touched.
                        answer = try await client.write(.PATCH, client.objectPath(key), UpstreamPatch.diff(from: current.upstream, to: body))
                    } else {
                        // BootConfig and ISO PUTs replace; the body is the whole object mkube had, changed.
                        answer = try await client.write(.PUT, client.objectPath(key), body)
                    }
                } else {
                    answer = try await client.write(.POST, client.collectionPath(key.kind, namespace: key.namespace), body)
                }
            } catch {
                throw unreachableOrRejected(error)
            }
            guard let answer, Self.key(key.kind, answer) == key else {
                throw .io("mkube answered the write of \(key) with something that is not the object")
            }
            if let change = apply(key.kind, answer) { return change }
            // The watch brought the same state first: the revision it made is the one to wait for.
            guard let entry = state.withLock({ $0.entries[key] }) else { throw .io("\(key) went away while it was written") }
            return StoredChange(revision: entry.object.resourceVersion, type: current == nil ? .added : .modified, object: entry.object)
        case .delete(_, let expected):
            try Self.check(key, expected: expected, current: current)
            do throws(MkubeClient.Failure) {
                _ = try await client.write(.DELETE, client.objectPath(key), nil)
            } catch {
                throw unreachableOrRejected(error)
            }
            guard let change = remove(key) else {
                // The watch removed it first: the revision it made is the one to wait for.
                return StoredChange(revision: state.withLock { $0.revision }, type: .deleted, object: current!.object)
            }
            return change
        }
    }

    public func changes(after revision: Int64, limit: Int) async throws(StoreError) -> [StoredChange] {
        // mkube keeps no history: only the live feed can be followed, from where it stands.
        let now = state.withLock { $0.revision }
        if revision < now { throw .compacted(oldest: now) }
        return []
    }

    public func follow(after revision: Int64) -> AsyncThrowingStream<[StoredChange], any Error> {
        feed.follow(after: revision) { (after: Int64, _: Int64) throws(StoreError) -> [StoredChange] in
            throw .compacted(oldest: after)
        }
    }

    public func close() async {
        state.withLock { $0.closed = true }
        sync.withLock { $0?.cancel() }
        feed.close()
        try? await client.http.shutdown()
    }

    public var health: StoreHealth { state.withLock { $0.health } }

    // MARK: the cache

    /// mkube has no event resource: boot and audit events live in this cache only, in memory,
    /// with the same retention, and are gone when bootgate restarts. An audit event follows its
    /// write, once mkube has taken it (mkube has no transactions to put both in).
    private func keepLocally(_ write: StoreWrite) throws(StoreError) -> StoredChange {
        try state.withLock { s throws(StoreError) -> StoredChange in
            let key = write.key
            let current = s.entries[key]
            let expected: Int64? = switch write {
            case .put(_, let e): e
            case .delete(_, let e): e
            }
            try Self.check(key, expected: expected, current: current)
            s.revision += 1
            let change: StoredChange
            switch write {
            case .put(let object, _):
                let stamped = Self.stamped(key.kind, object.json, s.revision)
                s.entries[key] = Entry(object: stamped, upstream: object.json, seen: s.tick)
                change = StoredChange(revision: s.revision, type: current == nil ? .added : .modified, object: stamped)
            case .delete:
                s.entries[key] = nil
                var object = current!.object
                object.json.set(.string(String(s.revision)), at: ["metadata", "resourceVersion"])
                change = StoredChange(revision: s.revision, type: .deleted, object: object)
            }
            feed.publish([change])
            return change
        }
    }

    /// Applies an object mkube sent (a watch event, a list item, a write's answer); the change,
    /// or nil when it changes nothing (a replay).
    @discardableResult
    private func apply(_ kind: ResourceKind, _ upstream: JSONValue) -> StoredChange? {
        guard let key = Self.key(kind, upstream) else { return nil }
        return state.withLock { s -> StoredChange? in
            s.tick += 1
            let old = s.entries[key]
            if let old, old.upstream == upstream {
                s.entries[key]?.seen = s.tick
                return nil
            }
            s.revision += 1
            let object = Self.stamped(kind, upstream, s.revision)
            s.entries[key] = Entry(object: object, upstream: upstream, seen: s.tick)
            let change = StoredChange(revision: s.revision, type: old == nil ? .added : .modified, object: object)
            feed.publish([change])
            return change
        }
    }

    @discardableResult
    private func remove(_ key: ObjectKey) -> StoredChange? {
        state.withLock { s -> StoredChange? in
            // A tombstone for something already gone (mkube replays stale ones) is nothing.
            guard let old = s.entries.removeValue(forKey: key) else { return nil }
            s.revision += 1
            var object = old.object
            object.json.set(.string(String(s.revision)), at: ["metadata", "resourceVersion"])
            let change = StoredChange(revision: s.revision, type: .deleted, object: object)
            feed.publish([change])
            return change
        }
    }

    /// A relist: everything listed is applied, and what the cache holds of the kind but neither
    /// the list nor the watch has shown since `since` went away while bootgate was not looking.
    private func reconcile(_ kind: ResourceKind, _ items: [JSONValue], since: Int64) {
        for item in items { apply(kind, item) }
        let gone = state.withLock { s in s.entries.filter { $0.key.kind == kind && $0.value.seen <= since }.map(\.key) }
        for key in gone { remove(key) }
    }

    // MARK: following mkube

    private static func makeClient(_ url: String, _ options: Options) -> MkubeClient {
        var config = HTTPClient.Configuration()
        // A refused connection must fail the session at once, not after the default 10 s, and a
        // session's three watches plus its probe and writes must never queue behind each other.
        config.timeout = .init(connect: .seconds(2))
        config.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 32)
        let timeout = options.requestTimeout.components
        return MkubeClient(base: url, http: HTTPClient(eventLoopGroupProvider: .singleton, configuration: config),
                           authorization: options.token.map { "Bearer \($0)" },
                           requestTimeout: .nanoseconds(timeout.seconds * 1_000_000_000 + timeout.attoseconds / 1_000_000_000))
    }

    /// A fresh client for the next session; the previous one is shut down.
    private func renewClient() {
        let old = clients.withLock { c in
            defer { c = Self.makeClient(url, options) }
            return c
        }
        Task { try? await old.http.shutdown() }
    }

    private func startSync() {
        sync.withLock { task in
            guard task == nil else { return }
            task = Task { [self] in await syncLoop() }
        }
    }

    /// Watch sessions, one after the other, for as long as the store is open: connect every
    /// watch, relist, follow until something breaks, then wait (with backoff and jitter).
    private func syncLoop() async {
        var backoff = options.backoffStart
        while !Task.isCancelled, !state.withLock({ $0.closed }) {
            let started = ContinuousClock.now
            do throws(MkubeClient.Failure) {
                try await session()
            } catch {
                setHealth(reachable: false, reason: error.message)
                logger.warning("mkube at \(url): \(error.message)")
            }
            if Task.isCancelled { return }
            renewClient()
            // A session that lasted a while starts the backoff over.
            if ContinuousClock.now - started > options.backoffMax { backoff = options.backoffStart }
            let jitter = Double.random(in: 0.5...1.0)
            try? await Task.sleep(for: backoff * jitter)
            backoff = min(backoff * 2, options.backoffMax)
        }
    }

    private func session() async throws(MkubeClient.Failure) {
        let kinds = ResourceKind.objectKinds
        let result: MkubeClient.Failure? = await withTaskGroup(of: MkubeClient.Failure?.self) { group in
            let connected = ConnectedCount()
            let since = state.withLock { $0.tick }
            for kind in kinds {
                group.addTask { [self] in
                    do throws(MkubeClient.Failure) {
                        let events = try await client.watch(kind) { connected.add() }
                        do {
                            for try await event in events {
                                switch event.type {
                                case "DELETED":
                                    if let key = Self.key(kind, event.object) { remove(key) }
                                default:
                                    apply(kind, event.object)
                                }
                            }
                            return MkubeClient.Failure(status: nil, message: "mkube ended the \(kind.plural) watch")
                        } catch let failure as MkubeClient.Failure {
                            return failure
                        } catch {
                            return MkubeClient.Failure(status: nil, message: "watching \(kind.plural): \(error)")
                        }
                    } catch {
                        return error
                    }
                }
            }
            group.addTask { [self] in
                // Once every watch is connected, relist: a watch replays what exists, but only a
                // list shows what was deleted while bootgate was not connected.
                while connected.count < kinds.count {
                    try? await Task.sleep(for: .milliseconds(20))
                    if Task.isCancelled { return nil }
                }
                do throws(MkubeClient.Failure) {
                    for kind in kinds { reconcile(kind, try await client.list(kind), since: since) }
                } catch {
                    return error
                }
                setHealth(reachable: true, reason: nil)
                logger.info("mkube at \(url): connected, \(state.withLock { $0.entries.count }) objects")
                var failures = 0
                while !Task.isCancelled {
                    try? await Task.sleep(for: options.probeInterval)
                    do throws(MkubeClient.Failure) {
                        _ = try await client.list(.iscsiCdrom)
                        failures = 0
                    } catch {
                        failures += 1
                        if failures >= 2 { return error }
                    }
                }
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
        if let result { throw result }
    }

    // MARK: helpers

    private func setHealth(reachable: Bool, reason: String?) {
        state.withLock { s in
            if s.health.reachable != reachable { s.health = .init(reachable: reachable, since: Date(), reason: reason) } else if !reachable { s.health.reason = reason }
        }
    }

    private func unreachableOrRejected(_ error: MkubeClient.Failure) -> StoreError {
        guard let status = error.status else {
            setHealth(reachable: false, reason: error.message)
            return .unavailable("mkube at \(url) did not answer: \(error.message)")
        }
        return .rejected(status: status, message: error.message)
    }

    private static func check(_ key: ObjectKey, expected: Int64?, current: Entry?) throws(StoreError) {
        let actual = current.map { $0.object.resourceVersion }
        if expected != actual { throw .conflict(key, expected: expected, actual: actual) }
    }

    static func key(_ kind: ResourceKind, _ object: JSONValue) -> ObjectKey? {
        guard let name = object.value(at: ["metadata", "name"])?.stringValue, !name.isEmpty else { return nil }
        guard kind.namespaced else { return ObjectKey(kind, name: name) }
        let ns = object.value(at: ["metadata", "namespace"])?.stringValue ?? ""
        return ObjectKey(kind, namespace: ns.isEmpty ? "default" : ns, name: name)
    }

    /// The object as bootgate serves it: mkube's, with bootgate's revision.
    static func stamped(_ kind: ResourceKind, _ upstream: JSONValue, _ revision: Int64) -> ResourceObject {
        var json = upstream
        json.set(.string(String(revision)), at: ["metadata", "resourceVersion"])
        return ResourceObject(kind: kind, json: json)
    }
}

/// How many of a session's watches are connected.
private final class ConnectedCount: Sendable {
    private let value = Atomic<Int>(0)
    func add() { value.add(1, ordering: .relaxed) }
    var count: Int { value.load(ordering: .relaxed) }
}
