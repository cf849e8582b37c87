import NIOCore

/// Ends a watch as soon as its client hangs up.
///
/// Connections allow half-closure (a client may close its side and still read its answer), and
/// a watch's writer only waits for the next change, so a watcher that went away would be
/// noticed only when a keep-alive write failed: up to two keep-alive intervals later, a
/// subscriber and its buffers per dead watcher until then. A watch never reads from its
/// connection again, so the end of its input means the client is gone.
enum WatchHangup {
    /// `stream`, finished (and its subscription with it) when the connection's input ends or the
    /// connection closes.
    static func ending(_ stream: AsyncStream<WatchItem>, when connection: any Channel) -> AsyncStream<WatchItem> {
        let (relayed, relay) = AsyncStream<WatchItem>.makeStream()
        let forward = Task {
            for await item in stream { relay.yield(item) }
            relay.finish()
        }
        // Cancelling the forwarding ends its iteration of `stream`, which unsubscribes it.
        relay.onTermination = { _ in forward.cancel() }
        let hangup = HangupHandler { relay.finish() }
        connection.pipeline.addHandler(hangup, position: .first).whenComplete { _ in
            // Closed before the handler was in place: it will not hear of it.
            if !connection.isActive { relay.finish() }
        }
        return relayed
    }

    private final class HangupHandler: ChannelInboundHandler, RemovableChannelHandler, Sendable {
        typealias InboundIn = ByteBuffer
        let hungUp: @Sendable () -> Void

        init(_ hungUp: @escaping @Sendable () -> Void) { self.hungUp = hungUp }

        func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
            if case ChannelEvent.inputClosed? = event as? ChannelEvent {
                hungUp()
                context.close(promise: nil)
            }
            context.fireUserInboundEventTriggered(event)
        }

        func channelInactive(context: ChannelHandlerContext) {
            hungUp()
            context.fireChannelInactive()
        }
    }
}
