import Synchronization

/// Every boot step bootgate saw (iPXE fetch, config fetch, boot-complete, refusals), newest last,
/// so an operator can see how long each phase took.
public final class BootEventLog: Sendable {
    public struct Event: Sendable, Hashable {
        /// Milliseconds since 1970; formatted only when the log is read.
        public var milliseconds: Int64
        /// RFC 3339 with milliseconds.
        public var time: String { Timestamp.milliseconds(at: milliseconds) }
        public var type: String
        /// `namespace/name`, empty when no host matched.
        public var host: String
        public var mac: String
        public var ip: String
        public var detail: String
    }

    /// A ring: recording is O(1) however full it is (the boot path records every request).
    private struct Ring {
        var slots: [Event] = []
        var next = 0
    }

    private let ring = Mutex(Ring())
    private let capacity: Int

    public init(capacity: Int) {
        self.capacity = max(1, capacity)
    }

    public func record(_ event: Event) {
        ring.withLock { r in
            if r.slots.count < capacity {
                r.slots.append(event)
            } else {
                r.slots[r.next] = event
            }
            r.next = (r.next + 1) % capacity
        }
    }

    /// Oldest first.
    public func list(host: String? = nil, limit: Int = 1000) -> [Event] {
        let ordered = ring.withLock { r in
            r.slots.count < capacity ? r.slots : Array(r.slots[r.next...] + r.slots[..<r.next])
        }
        let matching = host.map { h in ordered.filter { $0.host == h } } ?? ordered
        return Array(matching.suffix(limit))
    }
}
