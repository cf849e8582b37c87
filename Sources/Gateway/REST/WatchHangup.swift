import NIOCore

/// Ends a watch as soon as its client hangs up.
///
/// Connections allow half-closure (a client may close its side and still read its answer), and
/// a watch's writer only waits for the next change, so a watcher that went away would be
/// noticed only when a keep-alive write failed: up to two keep-alive intervals later, a
/// subscriber and its buffers per dead watcher until then. A watch never reads from its
/// connection again, so the end of its input means the client is gone.
enum WatchHangup {
    /// Stops `control`'s watch when the connection's input ends or the connection closes.
    /// Returns what removes the handler again: a watch that ends by itself (`timeoutSeconds`)
    /// leaves a connection that may serve other requests, whose half-closure must not close it.
    static func install(_ control: WatchControl, on connection: any Channel) -> @Sendable () -> Void {
        let hangup = HangupHandler { control.stop() }
        connection.pipeline.addHandler(hangup, position: .first).whenComplete { _ in
            // Closed before the handler was in place: it will not hear of it.
            if !connection.isActive { control.stop() }
        }
        return { connection.pipeline.removeHandler(hangup, promise: nil) }
    }

    private final class HangupHandler: ChannelInboundHandler, RemovableChannelHandler, Sendable {
        typealias InboundIn = ByteBuffer
        let hungUp: @Sendable () -> Void

        init(_ hungUp: @escaping @Sendable () -> Void) { self.hungUp = hungUp }

        func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
            context.fireUserInboundEventTriggered(event)
            if case ChannelEvent.inputClosed? = event as? ChannelEvent {
                context.close(promise: nil)
                hungUp()
            }
        }

        func channelInactive(context: ChannelHandlerContext) {
            context.fireChannelInactive()
            hungUp()
        }
    }
}
