import Synchronization

/// Counts iPXE scripts served per host and writes `status.lastBoot` / `status.bootCount` in
/// batches shortly after, so the boot path answers from memory and never waits on the disk.
final class BootRecorder: Sendable {
    struct Pending: Sendable {
        var count: Int64
        var last: String
    }

    private let state = Mutex<(pending: [ObjectKey: Pending], scheduled: Bool)>(([:], false))

    /// Notes a boot; returns true when the caller should schedule a flush.
    func note(_ key: ObjectKey, at time: String) -> Bool {
        state.withLock { s in
            s.pending[key, default: Pending(count: 0, last: time)].count += 1
            s.pending[key]?.last = time
            if s.scheduled { return false }
            s.scheduled = true
            return true
        }
    }

    func take() -> [ObjectKey: Pending] {
        state.withLock { s in
            defer {
                s.pending = [:]
                s.scheduled = false
            }
            return s.pending
        }
    }
}
