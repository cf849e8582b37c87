/// How bootgate drives BMCs (`bootgate serve --power-control …`, docs/power.md).
public struct PowerSettings: Sendable {
    /// On bootgate's own store bootgate drives the BMCs. Off: power actions only write
    /// `spec.online`, for a deployment where something else (mkube's controller in upstream
    /// mode) acts on it.
    public var enabled = true
    /// Time from the end of one round of power reads to the start of the next.
    public var pollInterval: Duration = .seconds(30)
    /// BMCs read at once: a rack of 500 is read 16 at a time, never all together.
    public var concurrency = 16
    /// Deadline of one BMC call; a BMC that does not answer holds one slot this long, no more.
    public var timeout: Duration = .seconds(10)
    /// A power request no replica acted on (none led, or the leader died first) is still done
    /// by the next leader within this time of being made; an older one is dropped, with an event.
    public var requestLifetime: Duration = .seconds(300)
    /// The ipmitool executable (a name is looked up in the usual bin folders).
    public var ipmitool = "ipmitool"
    public init() {}
}
