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
            // Only what renders without waiting: plugins run when a machine asks. The check at
            // start covers every host; `renderConfigs` leaves the pool to requests now and then.
            let refused = await renderConfigs(of: Array(hosts), plugins: false).refused
            for r in refused.prefix(Self.precheckLogLimit) {
                logger.warning("host \(r.host) would be refused its config at boot: \(r.message)")
            }
            if refused.count > Self.precheckLogLimit {
                logger.warning("\(refused.count) hosts in all would be refused their configs at boot (bootgate render --every-host lists them)")
            }
        }
    }
}
