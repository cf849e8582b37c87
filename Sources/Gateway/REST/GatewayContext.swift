import Hummingbird
import NIOCore

/// The request context: Hummingbird's core storage plus the peer address the boot path keys on.
public struct GatewayContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let remoteAddress: SocketAddress?
    /// The connection, for a watch to notice its client hanging up (`WatchHangup`).
    public let channel: (any Channel)?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
        channel = source.channel
    }

    /// The peer IP as text (`127.0.0.1`, `::1`), without port.
    public var peerIP: String { remoteAddress?.ipAddress ?? "" }
}
