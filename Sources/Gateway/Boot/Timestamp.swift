import Foundation
import Synchronization

/// The clock as bootgate writes it, without Foundation's formatters, which cost microseconds
/// per call: the boot path stamps every request and dates every answer. Each text is formatted
/// once per second.
enum Timestamp {
    private static let rfc3339 = PerSecond(format: rfc3339Text)
    private static let imf = PerSecond(format: imfText)

    /// RFC 3339 in whole seconds (`2026-12-01T06:40:00Z`), as Kubernetes writes `creationTimestamp`.
    static func seconds() -> String {
        seconds(at: now().tv_sec)
    }

    static func seconds(at second: Int) -> String {
        rfc3339.text(at: second) + "Z"
    }

    /// Milliseconds since 1970: what the boot path stores per request, formatted when read.
    static func nowMilliseconds() -> Int64 {
        let t = now()
        return Int64(t.tv_sec) * 1000 + Int64(t.tv_nsec) / 1_000_000
    }

    /// RFC 3339 with milliseconds (`…06:40:00.123Z`), for boot events a few of which share a second.
    static func milliseconds(at ms: Int64) -> String {
        let (second, fraction) = ms.quotientAndRemainder(dividingBy: 1000)
        let digits = fraction < 10 ? "00\(fraction)" : fraction < 100 ? "0\(fraction)" : "\(fraction)"
        return rfc3339.text(at: Int(second)) + "." + digits + "Z"
    }

    /// The HTTP `Date` header value (RFC 9110 IMF-fixdate: `Tue, 01 Dec 2026 06:40:00 GMT`).
    static func httpDate() -> String {
        imf.text(at: now().tv_sec)
    }

    private static func now() -> timespec {
        var t = timespec()
        clock_gettime(CLOCK_REALTIME, &t)
        return t
    }

    private static func utc(_ second: Int) -> tm {
        var t = time_t(second)
        var parts = tm()
        gmtime_r(&t, &parts)
        return parts
    }

    private static func pad(_ v: Int32, _ width: Int = 2) -> String {
        let s = String(v)
        return String(repeating: "0", count: max(0, width - s.count)) + s
    }

    static func rfc3339Text(_ second: Int) -> String {
        let t = utc(second)
        return "\(pad(t.tm_year + 1900, 4))-\(pad(t.tm_mon + 1))-\(pad(t.tm_mday))T\(pad(t.tm_hour)):\(pad(t.tm_min)):\(pad(t.tm_sec))"
    }

    static func imfText(_ second: Int) -> String {
        let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        let t = utc(second)
        return "\(days[Int(t.tm_wday)]), \(pad(t.tm_mday)) \(months[Int(t.tm_mon)]) \(t.tm_year + 1900) \(pad(t.tm_hour)):\(pad(t.tm_min)):\(pad(t.tm_sec)) GMT"
    }

    /// A text that changes once a second, formatted by the first call in each second.
    private final class PerSecond: Sendable {
        private let cache = Mutex<(second: Int, text: String)>((-1, ""))
        private let format: @Sendable (Int) -> String

        init(format: @escaping @Sendable (Int) -> String) { self.format = format }

        func text(at second: Int) -> String {
            cache.withLock { c in
                if c.second != second { c = (second, format(second)) }
                return c.text
            }
        }
    }
}
