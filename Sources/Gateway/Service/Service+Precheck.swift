import Logging

/// Hosts' configs are rendered and checked when the host, its config or its ISO is written, and
/// for every host at start, in the background. A config that a host's values break (a space in
/// a data URL, say) is then a warning in the log when it is written, not a surprise at boot; and
/// since a verdict depends only on the template and the values, the checks are remembered
/// (`IgnitionRenderPlan`), so a rack booting later only has its configs rendered.
extension Service {
    /// The most refusals one pre-check logs one by one; the rest are counted.
    static let precheckLogLimit = 5

    func precheck(_ hosts: Set<ObjectKey>) {
        guard settings.precheckConfigs, !hosts.isEmpty else { return }
        Task(priority: .background) { [self] in
            var refused = 0
            for (i, key) in hosts.sorted().enumerated() {
                // The check at start covers every host: leave the pool to requests now and then.
                if i % 256 == 255 { await Task.yield() }
                guard let subject = configSubject(forKey: key), !subject.host.configRef.isEmpty else { continue }
                do throws(APIError) {
                    // Only what renders without waiting: plugins run when a machine asks.
                    _ = try configNow(for: subject, file: nil, accept: nil)
                } catch {
                    refused += 1
                    if refused <= Self.precheckLogLimit {
                        logger.warning("host \(subject.host.keyText) would be refused its config at boot: \(error.message)")
                    }
                }
            }
            if refused > Self.precheckLogLimit {
                logger.warning("\(refused) hosts in all would be refused their configs at boot (bootgate render --every-host lists them)")
            }
        }
    }
}
