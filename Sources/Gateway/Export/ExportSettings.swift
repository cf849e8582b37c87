/// How bootgate exports ISOs itself (`bootgate serve --export tgt …`). Off by default, and
/// always off in front of mkube, which exports through RouterOS.
public struct ExportSettings: Sendable {
    public var enabled = false
    /// The tgtadm executable (a name is looked up in the usual bin folders).
    public var tgtadm = "tgtadm"
    /// tgtd's control port (`tgtd -C N`); nil for the system's default tgtd.
    public var controlPort: Int?
    /// The address machines reach the target at, written to `status.portalIP` (tgtd's own
    /// listening address may differ, e.g. behind NAT).
    public var portal = "127.0.0.1"
    public var port = 3260
    /// Targets are named `<prefix>:<ISO name>`.
    public var iqnPrefix = "iqn.2026-01.io.bootgate"
    /// How often the target software is read back (a tgtd restart loses every target).
    public var pollInterval: Duration = .seconds(5)
    /// Deadline of one tgtadm call.
    public var timeout: Duration = .seconds(10)
    public init() {}
}
