import Synchronization

/// Hosts waiting for their configs to be checked again (`Service.precheck`). A burst of writes
/// adds to one pending set that a single drain takes in passes, so a host changed twice before
/// its pass is checked once, and the backlog is a set of keys, never a task per write.
final class PrecheckQueue: Sendable {
    private struct State {
        var pending: Set<ObjectKey> = []
        var draining = false
    }

    private let state = Mutex(State())
    private let checks = Atomic<Int>(0)

    /// Adds hosts; true when the caller must start the drain (none is running).
    func add(_ hosts: Set<ObjectKey>) -> Bool {
        state.withLock { s in
            s.pending.formUnion(hosts)
            if s.draining || s.pending.isEmpty { return false }
            s.draining = true
            return true
        }
    }

    /// The next pass; nil, ending the drain, when nothing is pending.
    func take() -> Set<ObjectKey>? {
        state.withLock { s in
            if s.pending.isEmpty {
                s.draining = false
                return nil
            }
            defer { s.pending = [] }
            return s.pending
        }
    }

    func counted(_ hosts: Int) { checks.add(hosts, ordering: .relaxed) }

    /// Hosts checked so far: how the tests see that a write costs what it changes.
    var checked: Int { checks.load(ordering: .relaxed) }

    /// No pass is running or waiting.
    var idle: Bool { state.withLock { !$0.draining && $0.pending.isEmpty } }
}
