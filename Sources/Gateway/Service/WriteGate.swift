import Synchronization

/// Serialises the checks of writes without blocking a thread: a write is validated against the
/// index and handed to the store alone, so what it was checked against is the state it commits
/// onto. The gate opens again once the store has fixed the commit's place in its order, not once
/// it is durable: the next write is checked while this one syncs (`InFlightWrites` keeps the two
/// from depending on each other), and a store that groups commits syncs both at once.
final class WriteGate: Sendable {
    private struct State {
        var busy = false
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Mutex(State())

    func acquire() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let now: Bool = state.withLock { s in
                if s.busy {
                    s.waiters.append(c)
                    return false
                }
                s.busy = true
                return true
            }
            if now { c.resume() }
        }
    }

    func release() {
        let next: CheckedContinuation<Void, Never>? = state.withLock { s in
            if s.waiters.isEmpty {
                s.busy = false
                return nil
            }
            return s.waiters.removeFirst()
        }
        next?.resume()
    }

    /// The gate as one write holds it: let go once, early (`Service.commitWrites`) or at the end.
    final class Hold: Sendable {
        let gate: WriteGate
        private let held = Mutex(false)
        /// The commits in flight when the current check began (`InFlightWrites`).
        let seen = Mutex<Set<Int>>([])

        init(_ gate: WriteGate) { self.gate = gate }

        func acquire() async {
            guard !held.withLock({ $0 }) else { return }
            await gate.acquire()
            held.withLock { $0 = true }
        }

        func release() {
            if held.withLock({ h in defer { h = false }; return h }) { gate.release() }
        }
    }

    /// The hold of the write the current task is checking (`Service.serialized`).
    @TaskLocal static var current: Hold?
}
