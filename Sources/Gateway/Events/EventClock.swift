import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The time events are named, stamped and aged by: the wall clock read once at start, moved on
/// by the monotonic clock only. A wall-clock step while running (a bad NTP server, an operator's
/// `date -s`) then neither sorts new events before old ones (names sort by time, `EventName`)
/// nor ages months of audit history out at once; the step is taken up at the next start. That
/// start never goes behind the newest stored event, so names keep the order events happened in.
public final class EventClock: Sendable {
    private let wallAtStart: Int64
    private let monotonicAtStart: Int64

    /// `newest`: the newest stored event's milliseconds since 1970 (0 when there is none).
    init(notBefore newest: Int64) {
        wallAtStart = max(Timestamp.nowMilliseconds(), newest + 1)
        monotonicAtStart = Self.monotonicMilliseconds()
    }

    func nowMilliseconds() -> Int64 {
        wallAtStart + Self.monotonicMilliseconds() - monotonicAtStart
    }

    private static func monotonicMilliseconds() -> Int64 {
        var t = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t)
        return Int64(t.tv_sec) * 1000 + Int64(t.tv_nsec) / 1_000_000
    }
}
