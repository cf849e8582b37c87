import Synchronization

/// The last revision of the store's feed that the index and the watch hub have applied. A write
/// is acknowledged once this reaches its commit's revision, so its client reads its own write.
final class AppliedRevision: Sendable {
    private struct State {
        var revision: Int64
        var waiters: [(revision: Int64, continuation: CheckedContinuation<Void, Never>)] = []
    }

    private let state: Mutex<State>

    init(_ revision: Int64) { state = Mutex(State(revision: revision)) }

    var current: Int64 { state.withLock { $0.revision } }

    func advance(to revision: Int64) {
        let ready: [CheckedContinuation<Void, Never>] = state.withLock { s in
            s.revision = max(s.revision, revision)
            let now = s.revision
            let (done, rest) = (s.waiters.filter { $0.revision <= now }, s.waiters.filter { $0.revision > now })
            s.waiters = rest
            return done.map(\.continuation)
        }
        for c in ready { c.resume() }
    }

    /// True once `revision` has been applied; false if it has not within `limit`. Polls: only
    /// a write that lost a race with another replica waits here.
    func reached(_ revision: Int64, within limit: Duration) async -> Bool {
        let deadline = ContinuousClock.now + limit
        while current < revision {
            if ContinuousClock.now >= deadline { return false }
            try? await Task.sleep(for: .milliseconds(5))
        }
        return true
    }

    /// Returns once `revision` has been applied.
    func wait(for revision: Int64) async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let now: Bool = state.withLock { s in
                if s.revision >= revision { return true }
                s.waiters.append((revision, c))
                return false
            }
            if now { c.resume() }
        }
    }
}
