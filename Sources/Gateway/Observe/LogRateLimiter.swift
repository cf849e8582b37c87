import Synchronization

/// Lets at most `perSecond` lines through in each wall-clock second, so a boot storm logs a
/// sample of its steps rather than one line per request; what it held back is counted and said
/// by the first line let through afterwards. Lock-free: two atomics per line, no allocation.
public final class LogRateLimiter: Sendable {
    public let perSecond: Int
    /// The second the count is for, and how many lines it let through (packed: second << 20 | count).
    private let window = Atomic<Int64>(0)
    private let suppressed = Atomic<Int>(0)

    public init(perSecond: Int) {
        self.perSecond = max(1, min(perSecond, (1 << 20) - 1))
    }

    public enum Decision: Equatable, Sendable {
        case suppress
        /// Log it; `suppressed` lines were held back since the last one logged.
        case log(suppressed: Int)
    }

    public func decide(atSecond second: Int64) -> Decision {
        while true {
            let packed = window.load(ordering: .relaxed)
            let (current, count) = (packed >> 20, Int(packed & ((1 << 20) - 1)))
            let next: Int64
            if current == second {
                if count >= perSecond {
                    suppressed.add(1, ordering: .relaxed)
                    return .suppress
                }
                next = packed + 1
            } else if current < second {
                next = second << 20 | 1
            } else {
                // A clock that stepped back: count it against the newer second.
                if count >= perSecond {
                    suppressed.add(1, ordering: .relaxed)
                    return .suppress
                }
                next = packed + 1
            }
            if window.compareExchange(expected: packed, desired: next, ordering: .relaxed).exchanged {
                return .log(suppressed: suppressed.exchange(0, ordering: .relaxed))
            }
        }
    }
}
