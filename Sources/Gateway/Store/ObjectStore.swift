import Foundation

/// Where objects live durably. The embedded default is `SQLiteStore`; an etcd cluster and an
/// mkube upstream are planned backends, so the protocol is what those can offer too:
/// conditional multi-object commits (etcd `Txn` with `mod_revision` compares) and a feed of
/// committed changes followed from a revision (etcd `Watch` with `start_revision`).
public protocol ObjectStore: Sendable {
    /// Every stored object and the store's current revision.
    func load() async throws(StoreError) -> StoreSnapshot

    /// Applies all writes atomically, iff every precondition holds (the writes' expected
    /// revisions and the `reads` of the validation that allowed them), and returns the changes
    /// with the one revision assigned to this commit. Returns only once the commit is durable.
    func commit(_ writes: [StoreWrite], reads: ReadSet) async throws(StoreError) -> [StoredChange]

    /// `commit`, calling `ordered` once the commit's place among this store's commits is fixed,
    /// which may be before it is durable: the Service then checks its next write meanwhile.
    func commit(_ writes: [StoreWrite], reads: ReadSet, ordered: @escaping @Sendable () -> Void) async throws(StoreError) -> [StoredChange]

    /// Committed changes with a revision greater than `revision`, oldest first, at most `limit`.
    /// Throws `.compacted` when the log no longer reaches back that far.
    func changes(after revision: Int64, limit: Int) async throws(StoreError) -> [StoredChange]

    /// Every commit after `revision`, in order, one batch per commit, as it is made, whoever made
    /// it (this process, another replica, mkube). The index and the watch hub follow this and
    /// nothing else. Ends when the store closes; fails with a `StoreError` (`.compacted` when
    /// `revision` is older than the log) after which the follower must load again.
    func follow(after revision: Int64) -> AsyncThrowingStream<[StoredChange], any Error>

    func close() async

    /// Whether the store answers (an upstream or a remote cluster may not); reads and the boot
    /// path go on from the index either way, writes get 503 while it does not.
    var health: StoreHealth { get }
    var maxWritesPerCommit: Int { get }
}

extension ObjectStore {
    public func commit(_ writes: [StoreWrite]) async throws(StoreError) -> [StoredChange] {
        try await commit(writes, reads: ReadSet(asOf: 0))
    }

    /// A store that does not group commits fixes their order when they are made.
    public func commit(_ writes: [StoreWrite], reads: ReadSet, ordered: @escaping @Sendable () -> Void) async throws(StoreError) -> [StoredChange] {
        defer { ordered() }
        return try await commit(writes, reads: reads)
    }

    /// How many writes one commit may carry (boot counters are written in batches).
    public var maxWritesPerCommit: Int { 256 }

    public var health: StoreHealth { StoreHealth(reachable: true, since: StoreHealth.started, reason: nil) }
}

public struct StoreHealth: Sendable, Equatable {
    public var reachable: Bool
    /// Since when it is (un)reachable.
    public var since: Date
    public var reason: String?
    static let started = Date()
}

public struct StoreSnapshot: Sendable {
    public var objects: [ResourceObject]
    public var revision: Int64
}

/// One write, with its precondition: the revision the caller read (`nil` for "must not exist").
public enum StoreWrite: Sendable {
    case put(ResourceObject, expectedRevision: Int64?)
    case delete(ObjectKey, expectedRevision: Int64)

    var key: ObjectKey {
        switch self {
        case .put(let o, _): return o.key
        case .delete(let k, _): return k
        }
    }
}

/// What the validation of a commit read, as of the index revision `asOf`. A store that other
/// writers share (etcd replicas) turns it into conditions of the commit, so two replicas cannot
/// both accept writes that together break a rule; a store with one writer (SQLite, whose writes
/// the Service serialises) and mkube (no conditional writes) ignore it.
public struct ReadSet: Sendable {
    public var asOf: Int64
    /// Objects the check read: they must still exist, unchanged since `asOf`.
    public var objects: [ObjectKey] = []
    /// Objects whose users (hosts on a config or ISO, ISOs listing a config) the check read:
    /// none may have started or stopped using them since `asOf`.
    public var usersOf: [ObjectKey] = []
    /// Objects this commit starts or stops using (a host's config and ISO, an ISO's configs).
    public var uses: [ObjectKey] = []
    /// What the commit's host holds alone, as `mac/<mac>` and `ip/<spec.ip>`: nobody may have
    /// claimed or let go of them since `asOf` (the check saw who held them then).
    public var claims: [(claim: String, holder: ObjectKey)] = []
    /// Claims a host lets go of.
    public var releases: [String] = []

    public init(asOf: Int64) { self.asOf = asOf }
}

public struct StoredChange: Sendable, Hashable {
    public enum ChangeType: String, Sendable, Codable {
        case added = "ADDED"
        case modified = "MODIFIED"
        case deleted = "DELETED"
    }
    public var revision: Int64
    public var type: ChangeType
    /// The object after the change; for `deleted`, the last full object.
    public var object: ResourceObject
}

public enum StoreError: Error, Sendable, Equatable {
    /// The object changed since it was read (or exists when it must not).
    case conflict(ObjectKey, expected: Int64?, actual: Int64?)
    /// Something the validation read changed in the store (another replica wrote it); the
    /// store is at `revision`. Validate again once the index has caught up.
    case moved(revision: Int64, reason: String)
    /// The change log was compacted past the requested revision.
    case compacted(oldest: Int64)
    case io(String)
    /// The disk holding the store has no room left: nothing was written; retry once there is.
    case full(String)
    /// The store cannot be reached now (an upstream that does not answer): try again later.
    case unavailable(String)
    /// An upstream refused the write, with its status and its own message.
    case rejected(status: Int, message: String)
}
