import Foundation
import Synchronization

/// RFC 3339 UTC timestamps (`2026-12-01T06:40:00Z`, `…06:40:00.123Z`) without Foundation's
/// formatters, which cost microseconds per call: the boot path stamps every request. The
/// date-and-time part is formatted once per second.
enum Timestamp {
    private static let cache = Mutex<(second: Int, text: String)>((-1, ""))

    /// Whole seconds, as Kubernetes writes `creationTimestamp`.
    static func seconds() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return secondsText(Int(now.tv_sec)) + "Z"
    }

    /// With milliseconds, for boot events a few of which share a second.
    static func milliseconds() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        let ms = Int(now.tv_nsec) / 1_000_000
        let fraction = ms < 10 ? "00\(ms)" : ms < 100 ? "0\(ms)" : "\(ms)"
        return secondsText(Int(now.tv_sec)) + "." + fraction + "Z"
    }

    private static func secondsText(_ second: Int) -> String {
        cache.withLock { c in
            if c.second != second { c = (second, format(second)) }
            return c.text
        }
    }

    static func format(_ second: Int) -> String {
        var t = time_t(second)
        var parts = tm()
        gmtime_r(&t, &parts)
        func pad(_ v: Int32, _ width: Int) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, width - s.count)) + s
        }
        return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))T\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2))"
    }
}
