import Foundation

/// Caps how many plugin processes run at once across the server, so a burst of machines
/// booting together queues up instead of forking hundreds of interpreters. Each run is bounded
/// by its timeout, so a waiting caller is bounded too.
actor PluginGate {
    static let shared = PluginGate(limit: max(4, ProcessInfo.processInfo.activeProcessorCount * 2))

    let limit: Int
    private var running = 0
    private var waiting: [CheckedContinuation<Void, Never>] = []

    init(limit: Int) {
        self.limit = max(1, limit)
    }

    func acquire() async {
        if running < limit {
            running += 1
            return
        }
        await withCheckedContinuation { waiting.append($0) }
    }

    func release() {
        if waiting.isEmpty {
            running -= 1
        } else {
            // The slot passes straight to the longest waiter.
            waiting.removeFirst().resume()
        }
    }

    func run<T: Sendable>(_ body: @Sendable () async -> T) async -> T {
        await acquire()
        let result = await body()
        release()
        return result
    }
}
