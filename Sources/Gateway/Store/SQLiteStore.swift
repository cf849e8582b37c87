import Foundation
import GRDB
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The embedded store: SQLite in WAL mode with `synchronous=FULL`, so a commit is on disk
/// before it is acknowledged; commits made while one syncs share the next sync. Objects live in `objects`; every commit appends to `changes`,
/// the log watches resume from.
public final class SQLiteStore: ObjectStore {
    private let pool: DatabasePool
    /// How many revisions of change log to keep for watch resumption.
    private let retainedRevisions: Int64
    private let keyring: SecretKeyring
    private let keyFiles: SecretKeyFiles
    /// One rotation at a time.
    private let rotating = Mutex(false)
    /// Held until `close()`: see `StoreLock`.
    private let lock: Mutex<StoreLock?>
    private let feed: ChangeFeed
    private let probe: DataFolderProbe
    private let queue = Mutex(CommitQueue())
    /// At most this many commits share one transaction (and one fsync).
    static let maxGroup = 64
    /// Transactions written: fewer than commits when commits were grouped.
    public let commitGroups = Atomic<Int>(0)

    private struct QueuedCommit {
        let writes: [StoreWrite]
        let done: CheckedContinuation<Result<[StoredChange], StoreError>, Never>
    }

    /// Commits waiting for the group being written; the first to find none being written
    /// writes them all.
    private struct CommitQueue {
        var waiting: [QueuedCommit] = []
        var writing = false
    }

    /// `lockWait`: how long to wait for another process to let go of the folder.
    public init(directory: String, retainedRevisions: Int64 = 100_000, lockWait: Duration = .seconds(5)) throws(StoreError) {
        self.retainedRevisions = retainedRevisions
        probe = DataFolderProbe(directory: directory)
        do {
            // Said before anything else fails on it in less plain words.
            if FileManager.default.fileExists(atPath: directory), probe.writeErrno() == EROFS {
                throw StoreError.io("the data folder \(directory) is on a read-only file system; bootgate keeps its store there and must be able to write (mount it read-write or choose another --data)")
            }
            try Self.makePrivate(directory)
            lock = Mutex(try StoreLock(directory: directory, wait: lockWait))
            keyFiles = SecretKeyFiles(directory: directory)
            keyring = try SecretKeyring.load(keyFiles)
            pool = try DatabasePool(path: directory + "/bootgate.sqlite")
            // After the pool is made: GRDB sets the writer to NORMAL when it turns WAL on, and
            // NORMAL loses the last commits when the machine (not the process) goes down.
            try pool.writeWithoutTransaction { db in
                try db.execute(sql: "PRAGMA synchronous = FULL")
                guard try Int.fetchOne(db, sql: "PRAGMA synchronous") == 2 else {
                    throw StoreError.io("SQLite would not sync each commit (PRAGMA synchronous = FULL did not hold)")
                }
            }
            for name in Self.privateFiles { chmod(directory + "/" + name, 0o600) }
            try pool.write { db in
                try db.execute(sql: """
                    CREATE TABLE IF NOT EXISTS objects (
                        kind TEXT NOT NULL, namespace TEXT NOT NULL, name TEXT NOT NULL,
                        revision INTEGER NOT NULL, json BLOB NOT NULL,
                        PRIMARY KEY (kind, namespace, name));
                    CREATE TABLE IF NOT EXISTS changes (
                        seq INTEGER PRIMARY KEY AUTOINCREMENT, revision INTEGER NOT NULL,
                        type TEXT NOT NULL, kind TEXT NOT NULL, json BLOB NOT NULL);
                    CREATE INDEX IF NOT EXISTS changes_revision ON changes(revision);
                    CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
                    INSERT OR IGNORE INTO meta VALUES ('revision', 0), ('compacted', 0);
                    """)
            }
            feed = ChangeFeed(revision: try pool.read { db in try Int64.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'revision'") ?? 0 })
        } catch let error as StoreError {
            throw error
        } catch {
            throw .io("opening SQLite store in \(directory): \(Self.describe(error))")
        }
    }

    /// An error in words: a Foundation file error as its cause ("No such file or directory"),
    /// not its domain and user-info dump; SQLite's own errors as GRDB says them.
    static func describe(_ error: any Error) -> String {
        let ns = error as NSError
        guard ns.domain == NSCocoaErrorDomain || ns.domain == NSPOSIXErrorDomain else { return "\(error)" }
        if let underlying = ns.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
            return String(cString: strerror(Int32(underlying.code)))
        }
        if ns.domain == NSPOSIXErrorDomain { return String(cString: strerror(Int32(ns.code))) }
        switch ns.code {
        case NSFileNoSuchFileError, NSFileReadNoSuchFileError: return "no such file or folder"
        case NSFileReadNoPermissionError, NSFileWriteNoPermissionError: return "permission denied"
        case NSFileWriteOutOfSpaceError: return "no space left on device"
        default: return ns.localizedDescription
        }
    }

    /// What the data folder holds; none of it is anyone else's business (the store has every
    /// config with its root passwords, the key opens the BMC passwords).
    static let privateFiles = ["bootgate.sqlite", "bootgate.sqlite-wal", "bootgate.sqlite-shm", "secret.key", "secret.key.next", "bootgate.lock"]

    /// The folder 0700 and its files 0600, whatever the umask, fixing a folder made by an
    /// earlier version (0755 and 0644). The database file is made here, 0600, before SQLite
    /// opens it: SQLite gives its WAL and shared-memory files the database file's mode.
    static func makePrivate(_ directory: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        guard chmod(directory, 0o700) == 0 else { throw StoreError.io("cannot make \(directory) private (chmod 0700): \(String(cString: strerror(errno)))") }
        let db = directory + "/bootgate.sqlite"
        let fd = open(db, O_WRONLY | O_CREAT | O_CLOEXEC, 0o600)
        if fd >= 0 { Glibc.close(fd) }
        for name in privateFiles { chmod(directory + "/" + name, 0o600) }
    }

    public func load() async throws(StoreError) -> StoreSnapshot {
        do {
            return try await pool.read { db in
                var objects: [ResourceObject] = []
                let rows = try Row.fetchCursor(db, sql: "SELECT kind, json FROM objects")
                while let row = try rows.next() {
                    objects.append(try self.decode(kind: row[0], json: row[1]))
                }
                let revision = try Int64.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'revision'") ?? 0
                return StoreSnapshot(objects: objects, revision: revision)
            }
        } catch let e as StoreError {
            throw e
        } catch {
            throw .io("loading store: \(Self.describe(error))")
        }
    }

    /// `reads` is not checked: one process owns the folder (`StoreLock`) and the Service
    /// checks one write at a time.
    public func commit(_ writes: [StoreWrite], reads: ReadSet) async throws(StoreError) -> [StoredChange] {
        try await commit(writes, reads: reads, ordered: {})
    }

    /// Group commit: commits that arrive while others are being written wait, then go to disk
    /// together in one transaction and one fsync, each with its own revision, in the order they
    /// arrived. One whose precondition fails is left out; the others still land.
    public func commit(_ writes: [StoreWrite], reads: ReadSet, ordered: @escaping @Sendable () -> Void) async throws(StoreError) -> [StoredChange] {
        guard !writes.isEmpty else {
            ordered()
            return []
        }
        let result = await withCheckedContinuation { (done: CheckedContinuation<Result<[StoredChange], StoreError>, Never>) in
            let lead: Bool = queue.withLock { q in
                q.waiting.append(QueuedCommit(writes: writes, done: done))
                defer { q.writing = true }
                return !q.writing
            }
            ordered()
            if lead { Task { await self.writeQueued() } }
        }
        return try result.get()
    }

    /// Writes what is queued, a group at a time, until nothing is.
    private func writeQueued() async {
        while true {
            let group: [QueuedCommit] = queue.withLock { q in
                let n = min(q.waiting.count, Self.maxGroup)
                if n == 0 { q.writing = false }
                defer { q.waiting.removeFirst(n) }
                return Array(q.waiting.prefix(n))
            }
            guard !group.isEmpty else { return }
            let results = await write(group.map(\.writes))
            commitGroups.add(1, ordering: .relaxed)
            for (entry, result) in zip(group, results) {
                if case .success(let changes) = result { feed.publish(changes) }
                entry.done.resume(returning: result)
            }
        }
    }

    private func write(_ commits: [[StoreWrite]]) async -> [Result<[StoredChange], StoreError>] {
        let retained = retainedRevisions
        do {
            return try await pool.write { db in
                let first = try Int64.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'revision'") ?? 0
                var revision = first
                var results: [Result<[StoredChange], StoreError>] = []
                for writes in commits {
                    var changes: [StoredChange] = []
                    do {
                        try db.inSavepoint {
                            changes = try self.apply(writes, revision: revision + 1, db)
                            return .commit
                        }
                        revision += 1
                        results.append(.success(changes))
                    } catch let e as StoreError {
                        results.append(.failure(e))
                    }
                }
                guard revision > first else { return results }
                try db.execute(sql: "UPDATE meta SET value = ? WHERE key = 'revision'", arguments: [revision])
                // Compact now and then, in the same transaction, so the log stays bounded.
                let every = max(1, min(1000, retained / 2))
                if revision > retained, revision / every != first / every {
                    try db.execute(sql: "DELETE FROM changes WHERE revision <= ?", arguments: [revision - retained])
                    try db.execute(sql: "UPDATE meta SET value = ? WHERE key = 'compacted'", arguments: [revision - retained])
                }
                return results
            }
        } catch {
            let failure = probe.failure(error, describing: Self.describe(error))
            return commits.map { _ in .failure(failure) }
        }
    }

    /// One commit's writes at `revision`; throws `.conflict` when a precondition fails.
    private func apply(_ writes: [StoreWrite], revision: Int64, _ db: Database) throws -> [StoredChange] {
        var changes: [StoredChange] = []
        for write in writes {
            let key = write.key
            let row = try Row.fetchOne(db, sql: "SELECT revision, json FROM objects WHERE kind = ? AND namespace = ? AND name = ?",
                                       arguments: [key.kind.rawValue, key.namespace, key.name])
            let actual: Int64? = row?[0]
            switch write {
            case .put(var object, let expected):
                guard expected == actual else { throw StoreError.conflict(key, expected: expected, actual: actual) }
                object.json.set(.string(String(revision)), at: ["metadata", "resourceVersion"])
                let bytes = Data(JSONWriter.bytes(keyring.seal(object.json)))
                try db.execute(sql: "INSERT OR REPLACE INTO objects VALUES (?, ?, ?, ?, ?)",
                               arguments: [key.kind.rawValue, key.namespace, key.name, revision, bytes])
                let type: StoredChange.ChangeType = actual == nil ? .added : .modified
                try db.execute(sql: "INSERT INTO changes (revision, type, kind, json) VALUES (?, ?, ?, ?)",
                               arguments: [revision, type.rawValue, key.kind.rawValue, bytes])
                changes.append(StoredChange(revision: revision, type: type, object: object))
            case .delete(_, let expected):
                guard let actual, let json: Data = row?[1] else { throw StoreError.conflict(key, expected: expected, actual: nil) }
                guard expected == actual else { throw StoreError.conflict(key, expected: expected, actual: actual) }
                var object = try decode(kind: key.kind.rawValue, json: json)
                object.json.set(.string(String(revision)), at: ["metadata", "resourceVersion"])
                try db.execute(sql: "DELETE FROM objects WHERE kind = ? AND namespace = ? AND name = ?",
                               arguments: [key.kind.rawValue, key.namespace, key.name])
                try db.execute(sql: "INSERT INTO changes (revision, type, kind, json) VALUES (?, ?, ?, ?)",
                               arguments: [revision, StoredChange.ChangeType.deleted.rawValue, key.kind.rawValue,
                                           Data(JSONWriter.bytes(keyring.seal(object.json)))])
                changes.append(StoredChange(revision: revision, type: .deleted, object: object))
            }
        }
        return changes
    }

    public func follow(after revision: Int64) -> AsyncThrowingStream<[StoredChange], any Error> {
        feed.follow(after: revision) { [self] (after: Int64, upTo: Int64) throws(StoreError) -> [StoredChange] in
            try await log(after: after, through: upTo, limit: Int.max)
        }
    }

    public func changes(after revision: Int64, limit: Int) async throws(StoreError) -> [StoredChange] {
        try await log(after: revision, through: Int64.max, limit: limit)
    }

    private func log(after revision: Int64, through last: Int64, limit: Int) async throws(StoreError) -> [StoredChange] {
        do {
            return try await pool.read { db in
                let compacted = try Int64.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'compacted'") ?? 0
                if revision < compacted { throw StoreError.compacted(oldest: compacted) }
                var out: [StoredChange] = []
                let rows = try Row.fetchCursor(db, sql: "SELECT revision, type, kind, json FROM changes WHERE revision > ? AND revision <= ? ORDER BY seq LIMIT ?",
                                               arguments: [revision, last, limit])
                while let row = try rows.next() {
                    let type = StoredChange.ChangeType(rawValue: row[1]) ?? .modified
                    out.append(StoredChange(revision: row[0], type: type, object: try self.decode(kind: row[2], json: row[3])))
                }
                return out
            }
        } catch let e as StoreError {
            throw e
        } catch {
            throw .io("reading change log: \(Self.describe(error))")
        }
    }

    /// Whether a server has this folder's store open now.
    public static func isInUse(directory: String) -> Bool { StoreLock.isHeld(directory: directory) }

    /// Whether `secret.key.next` is waiting to be rotated to (a `bootgate key rotate` asked,
    /// or one was stopped half-way).
    public var keyRotationPending: Bool { keyFiles.rotationPending }

    /// Re-seals every secret in the store and its change log under a new key (the one in
    /// `secret.key.next`, made if absent), then makes it `secret.key`. The server goes on
    /// serving: objects are re-sealed `batchSize` rows per transaction, between other writes,
    /// and their revisions do not change (the secrets' plaintext does not). Writes seal with the
    /// new key from the start, and both keys open everything until the end, so whenever this
    /// stops (a crash included) the next start or the next `rotateSecretKey` finishes it.
    /// Last, the database is vacuumed and its WAL emptied, so no page sealed under the old key
    /// is left in the files.
    public func rotateSecretKey(batchSize: Int = 200) async throws(StoreError) -> KeyRotationReport {
        guard rotating.withLock({ busy in defer { busy = true }; return !busy }) else { throw .io("a key rotation is already running") }
        defer { rotating.withLock { $0 = false } }
        do {
            let next = try keyFiles.beginRotation()
            keyring.adopt(next)
            var report = KeyRotationReport(keyID: next.keyID)
            report.objects = try await reseal(table: "objects", batchSize: batchSize)
            report.logEntries = try await reseal(table: "changes", batchSize: batchSize)
            // Nothing can be sealed under the old key any more: every write since `adopt`
            // sealed with the new one, and the passes above ran after those writes.
            report.unopenable = try await pool.read { db in
                try ["objects", "changes"].reduce(0) { sum, table in
                    sum + (try Int.fetchOne(db, sql: "SELECT count(*) FROM \(table) WHERE instr(json, 'sealed:') > 0 AND instr(json, ?) = 0",
                                            arguments: [next.sealedPrefix]) ?? 0)
                }
            }
            try keyFiles.finishRotation()
            keyring.retireOthers()
            try await pool.writeWithoutTransaction { db in try db.execute(sql: "VACUUM") }
            try await checkpointTruncating()
            return report
        } catch let e as StoreError {
            throw e
        } catch {
            throw .io("rotating the secret key: \(error)")
        }
    }

    /// One pass in rowid order. A row rewritten by a commit meanwhile (INSERT OR REPLACE gives
    /// it a new rowid) was sealed with the new key by that commit.
    private func reseal(table: String, batchSize: Int) async throws -> Int {
        let prefix = keyring.sealing.sealedPrefix
        var after: Int64 = -1, count = 0
        while true {
            let from = after
            let (last, changed) = try await pool.write { db -> (Int64?, Int) in
                let rows = try Row.fetchAll(db, sql: "SELECT rowid, kind, json FROM \(table) WHERE rowid > ? AND instr(json, 'sealed:') > 0 AND instr(json, ?) = 0 ORDER BY rowid LIMIT ?",
                                            arguments: [from, prefix, batchSize])
                var changed = 0
                for row in rows {
                    let json: Data = row[2]
                    guard let resealed = self.keyring.resealed(try JSONParser.parse(Array(json))) else { continue }
                    try db.execute(sql: "UPDATE \(table) SET json = ? WHERE rowid = ?", arguments: [Data(JSONWriter.bytes(resealed)), row[0] as Int64])
                    changed += 1
                }
                return (rows.last?[0], changed)
            }
            count += changed
            guard let last else { return count }
            after = last
        }
    }

    /// Moves the WAL into the database and empties it; readers may hold it back a moment.
    private func checkpointTruncating() async throws {
        for attempt in 0..<50 {
            let busy = try await pool.writeWithoutTransaction { db in
                try Int.fetchOne(db, sql: "PRAGMA wal_checkpoint(TRUNCATE)") ?? 1
            }
            if busy == 0 { return }
            try await Task.sleep(for: .milliseconds(20 * (attempt + 1)))
        }
        throw StoreError.io("the WAL could not be emptied after the key rotation (readers held it); it will be on the next checkpoint")
    }

    public func close() async {
        feed.close()
        try? pool.close()
        lock.withLock { $0 = nil }
    }

    private func decode(kind: String, json: Data) throws -> ResourceObject {
        guard let k = ResourceKind(rawValue: kind) else { throw StoreError.io("unknown kind \(kind) in store") }
        do {
            return ResourceObject(kind: k, json: keyring.open(try JSONParser.parse(Array(json))))
        } catch {
            throw StoreError.io("corrupt \(kind) row: \(error)")
        }
    }
}
