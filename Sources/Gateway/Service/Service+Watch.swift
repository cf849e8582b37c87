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

public enum WatchItem: Sendable {
    case event(type: String, object: ResourceObject)
    case bookmark(revision: Int64)
    case keepAlive
}

extension Service {
    public func watch(_ request: WatchRequest) async throws(APIError) -> AsyncStream<WatchItem> {
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

        let (stream, continuation) = AsyncStream<WatchItem>.makeStream()
        let filtered = initial.filter { if case .event(_, let o) = $0 { return request.query.matches(o) } else { return true } }
        let includeSecrets = request.query.includeSecrets
        let forward = Task {
            for i in filtered { continuation.yield(i) }
            for await change in live {
                guard request.query.namespace.map({ change.object.namespace == $0 }) ?? true,
                      request.query.matches(change.object) else { continue }
                continuation.yield(.event(type: change.type.rawValue, object: present(change.object, includeSecrets: includeSecrets)))
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
                continuation.yield(request.allowBookmarks ? .bookmark(revision: index.revision) : .keepAlive)
            }
            continuation.finish()
        }
        continuation.onTermination = { _ in
            forward.cancel()
            ticker.cancel()
        }
        return stream
    }

    private func item(for change: StoredChange, _ request: WatchRequest) -> WatchItem {
        .event(type: change.type.rawValue, object: present(change.object, includeSecrets: request.query.includeSecrets))
    }
}
