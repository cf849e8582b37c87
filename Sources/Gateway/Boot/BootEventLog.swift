import Synchronization

/// Boot steps bootgate saw (iPXE fetch, config fetch, boot-complete, refusals, power results)
/// on their way to the store, where they are `BootEvent` objects. The boot path only appends
/// here (no disk, no JSON); `Service.flushBootRecords` takes them in batches, with the boot
/// counters, so a boot storm is a few commits rather than a write per boot.
public final class BootEventLog: Sendable {
    public struct Event: Sendable, Hashable {
        /// Milliseconds since 1970; formatted only when the event is written or read.
        public var milliseconds: Int64
        /// RFC 3339 with milliseconds.
        public var time: String { Timestamp.milliseconds(at: milliseconds) }
        public var type: String
        /// `namespace/name`, empty when no host matched.
        public var host: String
        public var mac: String
        public var ip: String
        public var detail: String
        /// Set by `record`: with the time, the object's name (`EventName`).
        var sequence: UInt64 = 0

        public init(milliseconds: Int64, type: String, host: String, mac: String, ip: String, detail: String) {
            self.milliseconds = milliseconds
            self.type = type
            self.host = host
            self.mac = mac
            self.ip = ip
            self.detail = detail
        }

        var name: String { EventName.make(milliseconds: milliseconds, sequence: sequence) }
    }

    private struct Queue {
        /// Recorded, not yet taken by a flush.
        var pending: [Event] = []
        /// Taken by the flush under way: still shown by `recent` until it is in the index.
        var inFlight: [Event] = []
        /// Dropped since the last `take` because `pending` was full (the store is slower than
        /// the storm, or unreachable).
        var dropped = 0
    }

    private let queue = Mutex(Queue())
    private let sequence = Atomic<UInt64>(0)
    /// Most events waiting for the store; beyond it the oldest waiting ones are dropped (and
    /// counted), so an unreachable store costs bounded memory.
    let capacity: Int

    public init(capacity: Int) {
        self.capacity = max(1, capacity)
    }

    /// Queues the event; true when it is the first one waiting (a flush must be asked for: later
    /// ones ride along with it, without touching the recorder's lock).
    @discardableResult
    public func record(_ event: Event) -> Bool {
        var e = event
        e.sequence = sequence.wrappingAdd(1, ordering: .relaxed).newValue
        return queue.withLock { q in
            if q.pending.count >= capacity {
                // Amortised: drop a tenth at once rather than shifting the array per event.
                let n = max(1, capacity / 10)
                q.pending.removeFirst(n)
                q.dropped += n
            }
            q.pending.append(e)
            return q.pending.count == 1
        }
    }

    /// The events to write now, and how many were dropped since the last call. They stay
    /// visible through `recent` until `written()`.
    func take() -> (events: [Event], dropped: Int) {
        queue.withLock { q in
            q.inFlight = q.pending
            defer {
                q.pending = []
                q.dropped = 0
            }
            return (q.inFlight, q.dropped)
        }
    }

    /// The events taken last are in the index (or were given up).
    func written() {
        queue.withLock { $0.inFlight = [] }
    }

    var hasPending: Bool { queue.withLock { !$0.pending.isEmpty } }

    /// Events not yet in the index, oldest first.
    func recent(host: String?) -> [Event] {
        let all = queue.withLock { $0.inFlight + $0.pending }
        guard let host else { return all }
        return all.filter { $0.host == host }
    }

    /// The event as the store keeps it.
    static func object(_ e: Event) -> ResourceObject {
        let json: JSONValue = .object(JSONObject([
            ("kind", .string(ResourceKind.bootEvent.rawValue)), ("apiVersion", "v1"),
            ("metadata", .object(JSONObject([("name", .string(e.name)), ("creationTimestamp", .string(Timestamp.seconds(at: Int(e.milliseconds / 1000))))]))),
            ("time", .string(e.time)), ("type", .string(e.type)), ("host", .string(e.host)),
            ("mac", .string(e.mac)), ("ip", .string(e.ip)), ("detail", .string(e.detail)),
        ]))
        return ResourceObject(kind: .bootEvent, json: json)
    }

    /// A stored event back in this form (for `/api/v1/events`).
    static func event(_ o: ResourceObject) -> Event {
        Event(milliseconds: EventName.milliseconds(o.name) ?? 0, type: o.string("type"), host: o.string("host"),
              mac: o.string("mac"), ip: o.string("ip"), detail: o.string("detail"))
    }
}
