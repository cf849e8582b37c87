/// Why a plugin run produced no usable answer. `message` names the plugin and the cause, and
/// is what operators see in validation errors, boot-path errors and logs.
public struct PluginFailure: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Kind: Sendable, Hashable {
        /// The executable could not be started.
        case launchFailed
        /// It did not finish within the timeout and was killed.
        case timedOut
        /// It wrote more than the stdout limit and was killed.
        case outputTooLarge
        /// It exited with a non-zero status or was killed by a signal.
        case crashed
        /// It exited 0 but its stdout is not a valid response.
        case badResponse
        /// It answered with `{"error": …}`.
        case reportedError
    }

    public var kind: Kind
    /// The executable's file name, e.g. `bootgate-render-toml`.
    public var plugin: String
    public var detail: String
    /// The start of what the plugin wrote to stderr, if anything.
    public var stderr: String

    public init(_ kind: Kind, plugin: String, detail: String, stderr: String = "") {
        self.kind = kind
        self.plugin = plugin
        self.detail = detail
        self.stderr = stderr
    }

    public var message: String {
        var text = "renderer plugin \(plugin) \(detail)"
        if !stderr.isEmpty { text += "; stderr: \(stderr)" }
        return text
    }

    public var description: String { message }
}
