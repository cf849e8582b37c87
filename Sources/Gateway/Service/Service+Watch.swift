import Synchronization

/// Watch: the current state as ADDED events (or the changes after a given resourceVersion),
/// then live changes, with bookmarks and keep-alives so idle proxies do not cut the stream.
public struct WatchRequest: Sendable {
    public var kind: ResourceKind
    public var query: Service.ListQuery
    /// Empty or "0": start with the current state. Otherwise: changes after that revision.
    public var resourceVersion: String
    public var allowBookmarks: Bool
    public var timeoutSeconds: Int?
    /// Keep-alive period: a BOOKMARK when allowed, otherwise a bare newline.
    public var keepAlive: Duration
    /// Set by a transport that must end the watch from outside (its client hung up).
    public var control: WatchControl?
    /// Who watches (the peer address), for `ServiceSettings.maxWatchesPerClient`; empty: not counted.
    public var client = ""

    public init(kind: ResourceKind, query: Service.ListQuery = .init(), resourceVersion: String = "", allowBookmarks: Bool = false,
                timeoutSeconds: Int? = nil, keepAlive: Duration = .seconds(30)) {
        self.kind = kind
        self.query = query
        self.resourceVersion = resourceVersion
        self.allowBookmarks = allowBookmarks
        self.timeoutSeconds = timeoutSeconds
        self.keepAlive = keepAlive
    }
}

/// Connects a watch with its transport. The transport stops it when its client hangs up; the
/// watch says when it ended because its client fell too far behind (it then held
/// `ServiceSettings.watchBuffer` undelivered events), so the transport closes the connection
/// instead of waiting on a client that does not read.
public final class WatchControl: Sendable {
    private struct State {
        var finish: (@Sendable () -> Void)?
        var stopped = false
        var overflowed = false
        var onOverflow: (@Sendable () -> Void)?
    }
    private let state = Mutex(State())

    public init() {}

    func attach(_ finish: @escaping @Sendable () -> Void) {
        let stopNow = state.withLock { s -> Bool in
            s.finish = finish
            return s.stopped
        }
        if stopNow { finish() }
    }

    /// Ends the watch (idempotent, and effective even before it started).
    public func stop() {
        let finish = state.withLock { s -> (@Sendable () -> Void)? in
            s.stopped = true
            defer { s.finish = nil }
            return s.finish
        }
        finish?()
    }

    /// What the transport does when the watch is cut off (close a connection whose writes are stuck).
    public func onOverflow(_ action: @escaping @Sendable () -> Void) { state.withLock { $0.onOverflow = action } }

    func markOverflowed() {
        let action = state.withLock { s -> (@Sendable () -> Void)? in
            s.overflowed = true
            return s.onOverflow
        }
        action?()
    }

    /// Whether the watch was cut off for falling behind.
    public var overflowed: Bool { state.withLock { $0.overflowed } }

    /// Whether it was stopped (by its transport or a revoked token).
    public var stopped: Bool { state.withLock { $0.stopped } }
}

public enum WatchItem: Sendable {
    case event(type: String, object: ResourceObject)
    case bookmark(revision: Int64)
    case keepAlive
}

extension Service {
    public func watch(_ request: WatchRequest) async throws(APIError) -> AsyncStream<WatchItem> {
        var release: (@Sendable () -> Void)?
        if !request.client.isEmpty {
            guard let r = watchQuota.take(request.client) else {
                var e = APIError(code: 429, reason: "TooManyRequests",
                                 message: "\(request.client) has \(settings.maxWatchesPerClient) watches open already; close one first")
                e.retryAfter = 5
                throw e
            }
            release = r
        }
        do {
            return try await openWatch(request, release: release)
        } catch {
            release?()
            throw error
        }
    }

    private func openWatch(_ request: WatchRequest, release: (@Sendable () -> Void)?) async throws(APIError) -> AsyncStream<WatchItem> {
        let kind = request.kind
        var initial: [WatchItem] = []
        var after: Int64
        if request.resourceVersion.isEmpty || request.resourceVersion == "0" {
            let (items, revision) = list(kind, request.query)
            initial = items.map { .event(type: "ADDED", object: $0) }
            after = revision
        } else {
            guard let rv = Int64(request.resourceVersion), rv >= 0 else {
                throw .badRequest("resourceVersion \"\(request.resourceVersion)\" is not a valid revision")
            }
            after = rv
        }

        var live: WatchHub.Stream?
        // Memory holds recent history; older revisions come from the store's change log.
        for _ in 0..<5 {
            switch hub.subscribe(kind, after: after) {
            case .stream(let s):
                live = s
            case .tooOld:
                let older: [StoredChange]
                do {
                    older = try await store.changes(after: after, limit: 1_000_000)
                } catch {
                    if case .compacted(let oldest) = error {
                        throw .gone("too old resource version: \(after) (the oldest kept is \(oldest)); list again and watch from the list's resourceVersion")
                    }
                    throw .internalError("reading the change log: \(error)")
                }
                for c in older where c.object.kind == kind && (request.query.namespace.map { c.object.namespace == $0 } ?? true) {
                    initial.append(item(for: c, request))
                }
                after = older.last?.revision ?? after
            }
            if live != nil { break }
        }
        guard let live else { throw .gone("resource version \(after) could not be resumed; list again") }

        let filtered = initial.filter { if case .event(_, let o) = $0 { return request.query.matches(o) } else { return true } }
        // Bounded: the initial state plus `watchBuffer` events a client has not read yet. A
        // watcher further behind is cut off (20 that never read once took the server from 50 to
        // 557 MB in 15,000 writes); it resumes from its last resourceVersion.
        let (stream, continuation) = AsyncStream<WatchItem>.makeStream(bufferingPolicy: .bufferingOldest(filtered.count + settings.watchBuffer))
        let control = request.control
        @Sendable func deliver(_ item: WatchItem) -> Bool {
            if case .dropped = continuation.yield(item) {
                control?.markOverflowed()
                continuation.finish()
                return false
            }
            return true
        }
        let includeSecrets = request.query.includeSecrets
        let forward = Task {
            for i in filtered { continuation.yield(i) }
            for await change in live {
                guard request.query.namespace.map({ change.object.namespace == $0 }) ?? true,
                      request.query.matches(change.object) else { continue }
                guard deliver(.event(type: change.type.rawValue, object: present(change.object, includeSecrets: includeSecrets))) else { break }
            }
            continuation.finish()
        }
        let index = self.index
        let ticker = Task {
            let started = ContinuousClock.now
            while !Task.isCancelled {
                var wait = request.keepAlive
                if let t = request.timeoutSeconds {
                    let left = started + .seconds(t) - ContinuousClock.now
                    if left <= .zero { break }
                    wait = min(wait, left)
                }
                try? await Task.sleep(for: wait)
                if Task.isCancelled { return }
                if let t = request.timeoutSeconds, ContinuousClock.now - started >= .seconds(t) { break }
                guard deliver(request.allowBookmarks ? .bookmark(revision: index.revision) : .keepAlive) else { return }
            }
            continuation.finish()
        }
        continuation.onTermination = { _ in
            forward.cancel()
            ticker.cancel()
            release?()
            // Marks it ended for whoever keeps the control (`TokenStore` forgets it then).
            control?.stop()
        }
        control?.attach { continuation.finish() }
        return stream
    }

    private func item(for change: StoredChange, _ request: WatchRequest) -> WatchItem {
        .event(type: change.type.rawValue, object: present(change.object, includeSecrets: request.query.includeSecrets))
    }
}
