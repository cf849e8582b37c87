import Logging

/// Hosts' configs are rendered and checked when the host, or what its rendering reads of its
/// config or ISO, is written, and for every host at start, in the background. A config that a
/// host's values break (a space in a data URL, say) is then a warning in the log when it is
/// written, not a surprise at boot; and since a verdict depends only on the template and the
/// values, the checks are remembered (`IgnitionRenderPlan`), so a rack booting later only has
/// its configs rendered.
extension Service {
    /// The most refusals one pass logs one by one; the rest are counted.
    static let precheckLogLimit = 5
    /// How long a drain waits before its first pass, so a burst of writes becomes one pass.
    static let precheckDelay: Duration = .milliseconds(20)

    func precheck(_ hosts: Set<ObjectKey>) {
        guard settings.precheckConfigs, prechecks.add(hosts) else { return }
        Task(priority: .background) { [self] in
            try? await Task.sleep(for: Self.precheckDelay)
            while let pass = prechecks.take() {
                // Only what renders without waiting: plugins run when a machine asks.
                // `renderConfigs` leaves the pool to requests now and then.
                let result = await renderConfigs(of: Array(pass), plugins: false)
                prechecks.counted(result.checked)
                for r in result.refused.prefix(Self.precheckLogLimit) {
                    logger.warning("host \(r.host) would be refused its config at boot: \(r.message)")
                }
                if result.refused.count > Self.precheckLogLimit {
                    logger.warning("\(result.refused.count) hosts in all would be refused their configs at boot (bootgate render --every-host lists them)")
                }
            }
        }
    }

    /// Hosts whose configs the checks at write time and at start have rendered so far.
    public var precheckedHosts: Int { prechecks.checked }
    /// True when no check is running or waiting.
    public var prechecksIdle: Bool { prechecks.idle }
}
