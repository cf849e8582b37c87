import Synchronization

/// The live half of a store's `follow(after:)`: every commit, in revision order, to every
/// follower. Commits may finish out of order (two writers racing past their fsync); a batch is
/// held until the one before it has been passed on, so followers never see a gap.
final class ChangeFeed: Sendable {
    typealias Batches = AsyncStream<[StoredChange]>

    private struct State {
        /// The last revision passed on.
        var last: Int64
        var early: [Int64: [StoredChange]] = [:]
        var followers: [Int: Batches.Continuation] = [:]
        var nextID = 0
        var closed = false
    }

    private let state: Mutex<State>

    init(revision: Int64) { state = Mutex(State(last: revision)) }

    /// Passes one commit's changes on (all of one revision), once those before it have been.
    func publish(_ batch: [StoredChange]) {
        guard let revision = batch.first?.revision else { return }
        state.withLock { s in
            s.early[revision] = batch
            while let next = s.early.removeValue(forKey: s.last + 1) {
                s.last += 1
                for f in s.followers.values { f.yield(next) }
            }
        }
    }

    /// Commits after the current revision, as they are made; and that revision. Unbounded:
    /// a follower is the index, which must not miss a change.
    func live() -> (Batches, after: Int64) {
        let (stream, continuation) = Batches.makeStream()
        let (id, last, closed): (Int, Int64, Bool) = state.withLock { s in
            let id = s.nextID
            s.nextID += 1
            if !s.closed { s.followers[id] = continuation }
            return (id, s.last, s.closed)
        }
        if closed { continuation.finish() }
        continuation.onTermination = { [weak self] _ in
            self?.state.withLock { _ = $0.followers.removeValue(forKey: id) }
        }
        return (stream, last)
    }

    /// Ends every follower's stream: the store is closing.
    func close() {
        let all = state.withLock { s in
            s.closed = true
            defer { s.followers.removeAll() }
            return Array(s.followers.values)
        }
        for f in all { f.finish() }
    }

    /// `follow(after:)` for a store that keeps a log: what the log holds after `revision`
    /// up to the live feed's start, then the live feed.
    func follow(after revision: Int64, log: @escaping @Sendable (Int64, Int64) async throws(StoreError) -> [StoredChange]) -> AsyncThrowingStream<[StoredChange], any Error> {
        let (live, start) = live()
        let (stream, continuation) = AsyncThrowingStream<[StoredChange], any Error>.makeStream()
        let task = Task {
            do {
                if revision < start {
                    var batch: [StoredChange] = []
                    for change in try await log(revision, start) {
                        if let r = batch.first?.revision, r != change.revision {
                            continuation.yield(batch)
                            batch = []
                        }
                        batch.append(change)
                    }
                    if !batch.isEmpty { continuation.yield(batch) }
                }
                for await batch in live where batch[0].revision > revision { continuation.yield(batch) }
                continuation.finish()
            } catch {
                continuation.finish(throwing: error)
            }
        }
        continuation.onTermination = { _ in task.cancel() }
        return stream
    }
}
