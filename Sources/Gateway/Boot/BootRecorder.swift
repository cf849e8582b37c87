import Synchronization

/// Paces the batches of boot records (counters here, events in `BootEventLog`).
/// Counts iPXE scripts served per host and writes `status.lastBoot` / `status.bootCount` in
/// batches shortly after, so the boot path answers from memory and never waits on the disk.
///
/// A batch rewrites every host that booted since the last one. So that a storm of thousands of
/// machines cannot spend the server on rewriting them, the next batch waits at least nine
/// times as long as the last one took: batches use at most a tenth of the time, however many
/// hosts boot, and a quiet rack still sees its counters within half a second.
final class BootRecorder: Sendable {
    let minimumDelay: Duration
    static let maximumDelay: Duration = .seconds(10)
    struct Pending: Sendable {
        var count: Int64
        /// The last boot, in seconds since 1970 (formatted when written).
        var last: Int
    }

    private struct State {
        var pending: [ObjectKey: Pending] = [:]
        var scheduled = false
        var lastBatch: Duration = .zero
    }

    private let state = Mutex(State())

    init(minimumDelay: Duration = .milliseconds(500)) {
        self.minimumDelay = minimumDelay
    }

    /// Notes a boot; returns true when the caller should schedule a flush.
    func note(_ key: ObjectKey, at time: Int) -> Bool {
        state.withLock { s in
            s.pending[key, default: Pending(count: 0, last: time)].count += 1
            s.pending[key]?.last = time
            if s.scheduled { return false }
            s.scheduled = true
            return true
        }
    }

    /// Asks for a batch without a boot to count (a boot event, events to trim); true when the
    /// caller should schedule it.
    func wake() -> Bool {
        state.withLock { s in
            if s.scheduled { return false }
            s.scheduled = true
            return true
        }
    }

    /// How long to wait before writing the next batch.
    var delay: Duration {
        min(max(Self.maximumDelay, minimumDelay), max(minimumDelay, state.withLock { $0.lastBatch } * 9))
    }

    /// The boots to write now. The batch stays scheduled until `finished`, so batches never overlap.
    func take() -> [ObjectKey: Pending] {
        state.withLock { s in
            defer { s.pending = [:] }
            return s.pending
        }
    }

    /// Records how long the batch took; true when boots arrived meanwhile and the caller
    /// should schedule the next batch.
    func finished(in duration: Duration, more: Bool = false) -> Bool {
        state.withLock { s in
            s.lastBatch = duration
            s.scheduled = !s.pending.isEmpty || more
            return s.scheduled
        }
    }
}
