import Synchronization

/// Commits handed to the store whose changes the index has not applied yet. A write is checked
/// against the index, so it must not depend on one of these: when it would (it writes what one
/// writes, reads what one changes, or claims what one claims), it waits for them and is checked
/// again. Writes that share nothing, such as a rack of hosts created on one ISO and one config,
/// go on without waiting.
final class InFlightWrites: Sendable {
    /// What one commit changes, and what its check read.
    struct Footprint: Sendable {
        var written: Set<ObjectKey> = []
        /// Objects whose users the commit changes (`ReadSet.uses`) or joins (`ReadSet.objects`).
        var usedOrReferenced: Set<ObjectKey> = []
        var readObjects: Set<ObjectKey> = []
        var readUsersOf: Set<ObjectKey> = []
        var claims: Set<String> = []

        init(_ writes: [StoreWrite], _ reads: ReadSet?) {
            written = Set(writes.map(\.key))
            guard let reads else { return }
            readObjects = Set(reads.objects)
            readUsersOf = Set(reads.usersOf)
            usedOrReferenced = Set(reads.uses).union(reads.objects)
            claims = Set(reads.claims.map(\.claim)).union(reads.releases)
        }

        /// Whether a check made without `earlier` applied may be wrong once it is.
        func dependsOn(_ earlier: Footprint) -> Bool {
            !written.isDisjoint(with: earlier.written)
                || !readObjects.isDisjoint(with: earlier.written)
                || !readUsersOf.isDisjoint(with: earlier.usedOrReferenced)
                || !claims.isDisjoint(with: earlier.claims)
        }
    }

    private struct State {
        var commits: [Int: Footprint] = [:]
        /// Commits applied lately: a check that began while one was in flight may have read
        /// the index before it.
        var finished: [Int: Footprint] = [:]
        var finishedOrder: [Int] = []
        var nextID = 0
        /// Each waits for the commits numbered below its `before`.
        var drained: [(before: Int, continuation: CheckedContinuation<Void, Never>)] = []

        func settled(before id: Int) -> Bool { !commits.keys.contains { $0 < id } }
    }

    private let state = Mutex(State())

    static let finishedKept = 1024

    /// The commits in flight now: taken when a check begins.
    func current() -> Set<Int> { state.withLock { Set($0.commits.keys) } }

    /// Whether a check that began while `seen` were in flight may be wrong: it depends on one
    /// of them (applied since or not; one too old to tell counts as depended on).
    func overlaps(_ footprint: Footprint, seen: Set<Int>) -> Bool {
        state.withLock { s in
            seen.contains { id in
                guard let earlier = s.commits[id] ?? s.finished[id] else { return true }
                return footprint.dependsOn(earlier)
            }
        }
    }

    func add(_ footprint: Footprint) -> Int {
        state.withLock { s in
            defer { s.nextID += 1 }
            s.commits[s.nextID] = footprint
            return s.nextID
        }
    }

    /// The commit is in the index, or failed.
    func remove(_ id: Int) {
        let ready: [CheckedContinuation<Void, Never>] = state.withLock { s in
            if let done = s.commits.removeValue(forKey: id) {
                s.finished[id] = done
                s.finishedOrder.append(id)
                if s.finishedOrder.count > Self.finishedKept { s.finished[s.finishedOrder.removeFirst()] = nil }
            }
            let (done, waiting) = (s.drained.filter { s.settled(before: $0.before) }, s.drained.filter { !s.settled(before: $0.before) })
            s.drained = waiting
            return done.map(\.continuation)
        }
        for c in ready { c.resume() }
    }

    /// Returns once every commit in flight now has been applied or has failed (not those that
    /// join later).
    func drain() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let now: Bool = state.withLock { s in
                if s.settled(before: s.nextID) { return true }
                s.drained.append((s.nextID, c))
                return false
            }
            if now { c.resume() }
        }
    }
}
