import Synchronization

/// Fans committed changes out to watchers. Keeps the most recent changes in memory so a watch
/// can resume from a recent `resourceVersion` without reading the store.
public final class WatchHub: Sendable {
    public typealias Stream = AsyncStream<StoredChange>

    private struct Subscriber {
        var kind: ResourceKind
        var continuation: Stream.Continuation
    }

    private struct State {
        var history: [StoredChange] = []
        /// Revision of the oldest change still in `history` minus one: resumption from here is exact.
        var floor: Int64 = 0
        var subscribers: [Int: Subscriber] = [:]
        var nextID = 0
    }

    private let state: Mutex<State>
    private let capacity: Int
    /// A watcher this far behind is cut off; it resumes with its last resourceVersion.
    private let perWatcherBuffer: Int

    public init(startRevision: Int64, history: [StoredChange] = [], capacity: Int = 10_000, perWatcherBuffer: Int = 10_000) {
        var s = State()
        s.history = Array(history.suffix(capacity))
        s.floor = s.history.first.map { $0.revision - 1 } ?? startRevision
        state = Mutex(s)
        self.capacity = capacity
        self.perWatcherBuffer = perWatcherBuffer
    }

    public enum SubscribeResult: Sendable {
        case stream(Stream)
        /// The requested revision is older than what memory holds.
        case tooOld(floor: Int64)
    }

    /// Changes of `kind` after `revision`: first those already committed, then live ones.
    public func subscribe(_ kind: ResourceKind, after revision: Int64) -> SubscribeResult {
        let (stream, continuation) = Stream.makeStream(bufferingPolicy: .bufferingOldest(perWatcherBuffer))
        let id: Int? = state.withLock { s in
            guard revision >= s.floor else { return nil }
            for c in s.history where c.revision > revision && c.object.kind == kind {
                continuation.yield(c)
            }
            let id = s.nextID
            s.nextID += 1
            s.subscribers[id] = Subscriber(kind: kind, continuation: continuation)
            return id
        }
        guard let id else {
            continuation.finish()
            return .tooOld(floor: state.withLock { $0.floor })
        }
        continuation.onTermination = { [weak self] _ in
            self?.state.withLock { _ = $0.subscribers.removeValue(forKey: id) }
        }
        return .stream(stream)
    }

    /// Whether `kind` changed in (`after`, `through`]: nil when the history in memory does not
    /// cover that span (paged lists use it to serve a state they no longer keep).
    public func kindChanged(_ kind: ResourceKind, after: Int64, through: Int64) -> Bool? {
        state.withLock { s in
            let head = s.history.last?.revision ?? s.floor
            guard after >= s.floor, head >= through else { return nil }
            return s.history.contains { $0.revision > after && $0.revision <= through && $0.object.kind == kind }
        }
    }

    public func publish(_ changes: [StoredChange]) {
        // Finishing a stream runs its onTermination, which takes the lock: do it outside.
        let cutOff: [Stream.Continuation] = state.withLock { s in
            s.history.append(contentsOf: changes)
            if s.history.count > capacity {
                let drop = s.history.count - capacity
                s.floor = s.history[drop - 1].revision
                s.history.removeFirst(drop)
            }
            var overflowed: [Int] = []
            for (id, sub) in s.subscribers {
                for c in changes where c.object.kind == sub.kind {
                    if case .dropped = sub.continuation.yield(c) {
                        overflowed.append(id)
                        break
                    }
                }
            }
            return overflowed.compactMap { s.subscribers.removeValue(forKey: $0)?.continuation }
        }
        for c in cutOff { c.finish() }
    }

    /// Forgets the history and ends every watch: the index was loaded again at `revision`.
    public func restart(at revision: Int64) {
        let all = state.withLock { s in
            s.history.removeAll()
            s.floor = revision
            defer { s.subscribers.removeAll() }
            return s.subscribers.values.map(\.continuation)
        }
        for c in all { c.finish() }
    }

    public var subscriberCount: Int { state.withLock { $0.subscribers.count } }

    public func finishAll() {
        let all = state.withLock { s in
            defer { s.subscribers.removeAll() }
            return s.subscribers.values.map(\.continuation)
        }
        for c in all { c.finish() }
    }
}
