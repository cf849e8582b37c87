import Synchronization

/// Every boot step bootgate saw (iPXE fetch, config fetch, boot-complete, refusals), newest last,
/// so an operator can see how long each phase took.
public final class BootEventLog: Sendable {
    public struct Event: Sendable, Hashable {
        public var time: String
        public var type: String
        /// `namespace/name`, empty when no host matched.
        public var host: String
        public var mac: String
        public var ip: String
        public var detail: String
    }

    private let events: Mutex<[Event]>
    private let capacity: Int

    public init(capacity: Int) {
        self.capacity = capacity
        events = Mutex([])
    }

    public func record(_ event: Event) {
        events.withLock { e in
            e.append(event)
            if e.count > capacity { e.removeFirst(e.count - capacity) }
        }
    }

    public func list(host: String? = nil, limit: Int = 1000) -> [Event] {
        events.withLock { e in
            let matching = host.map { h in e.filter { $0.host == h } } ?? e
            return Array(matching.suffix(limit))
        }
    }
}
