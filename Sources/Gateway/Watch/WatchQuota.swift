import Synchronization

/// Open watches per client address. Each holds a subscriber, a task pair and up to
/// `watchBuffer` events, so one client opening thousands would cost everyone; past the quota it
/// gets 429 and may retry once it closes some.
final class WatchQuota: Sendable {
    private let open = Mutex<[String: Int]>([:])
    let perClient: Int

    init(perClient: Int) { self.perClient = perClient }

    /// Takes a slot for `client`, or nil when it holds `perClient` already. The returned
    /// closure gives it back (call it once).
    func take(_ client: String) -> (@Sendable () -> Void)? {
        let granted = open.withLock { counts -> Bool in
            let n = counts[client, default: 0]
            guard n < perClient else { return false }
            counts[client] = n + 1
            return true
        }
        guard granted else { return nil }
        let released = Mutex(false)
        return { [self] in
            guard released.withLock({ r in defer { r = true }; return !r }) else { return }
            open.withLock { counts in
                let n = counts[client, default: 1] - 1
                counts[client] = n > 0 ? n : nil
            }
        }
    }
}
