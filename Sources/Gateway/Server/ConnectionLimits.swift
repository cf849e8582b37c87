import HummingbirdCore
import NIOCore

/// What every connection may cost, whichever lane serves it (see docs/security.md).
public struct ConnectionLimits: Sendable {
    /// A request head must be complete this long after its first byte (`RequestDeadline`).
    public var headerTimeout: Duration = .seconds(10)
    /// A request body must be complete this long after its head; answers (watches) are not limited.
    public var bodyTimeout: Duration = .seconds(60)
    /// A connection Hummingbird serves is closed after this long without a request. A response
    /// still being written (a watch) keeps it open.
    public var idleTimeout: Duration = .seconds(120)
    /// Request heads: one header line, all of them, and how many.
    public var maxHeaderFieldSize = 16 * 1024
    public var maxHeaderListSize = 64 * 1024
    public var maxHeaderFieldCount = ConnectionLimits.defaultMaxHeaderFieldCount
    public static let defaultMaxHeaderFieldCount = 100
    /// Longest request target (path and query) the API reads.
    public var maxURILength = ConnectionLimits.defaultMaxURILength
    public static let defaultMaxURILength = 8 * 1024

    public init() {}

    var http1: HTTP1Channel.Configuration {
        HTTP1Channel.Configuration(idleTimeout: .init(idleTimeout),
                                   httpDecoderConfiguration: .init(maxHeaderFieldSize: maxHeaderFieldSize, maxHeaderListSize: maxHeaderListSize,
                                                                   maxHeaderFieldCount: maxHeaderFieldCount))
    }
}
