/// Bounds on one run of an out-of-process plugin, so a broken plugin costs a bounded amount of
/// time and memory and never stalls the server.
public struct PluginLimits: Sendable, Hashable {
    /// Wall-clock time for one run; the process (and its process group) is killed after it.
    public var timeout: Duration
    /// Largest stdout accepted; the process is killed as soon as it writes more.
    public var maxOutputBytes: Int
    /// How much of stderr is kept for error messages; the rest is read and dropped.
    public var maxErrorBytes: Int

    public init(timeout: Duration = .seconds(5), maxOutputBytes: Int = 16 << 20, maxErrorBytes: Int = 4096) {
        self.timeout = timeout
        self.maxOutputBytes = maxOutputBytes
        self.maxErrorBytes = maxErrorBytes
    }
}
