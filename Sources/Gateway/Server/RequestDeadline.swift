import NIOCore
import NIOHTTP1

/// Slow-client protection on every connection, whichever lane serves it: a request head must be
/// complete within `headerTimeout` of its first byte (a slowloris client sending a byte every
/// 100 ms was never closed, and a few hundred of them took every descriptor), and a request
/// NIO's decoder cannot read gets a 400 and the connection is closed (it used to stay open
/// without an answer).
///
/// The deadline is shared by two handlers on the connection's event loop: `RawSide`, first in
/// the pipeline, sees bytes arrive; `HeadSide`, right behind the HTTP decoder, sees heads
/// complete and decoder errors. The boot lane, which answers requests between the two, reports
/// its own. A WebSocket upgrade switches it off (frames are not requests).
final class RequestDeadline {
    enum Phase { case idle, readingHead, inRequest, off }

    private(set) var phase = Phase.idle
    /// When the current phase began (a head's first byte, a head's end).
    private var since = NIODeadline.now()
    private let timeout: TimeAmount
    /// A request's body must be read this long after its head (a watch has none, so its
    /// stream is never cut by this).
    private let bodyTimeout: TimeAmount
    /// One check per connection, a few times per timeout, rather than a timer per request:
    /// the boot lane answers tens of thousands of requests a second.
    private var check: RepeatedTask?
    /// The first handler's context: answers written here go straight to the socket.
    private var context: ChannelHandlerContext?
    /// Answers Hummingbird has begun and not finished (a watch stays here while it streams).
    private var pendingResponses = 0
    /// Told whether the connection has a request in progress, so it is never shed while it does.
    private let guardian: ConnectionGuard?
    private let channel: any Channel
    private var waiting = true
    /// The request in progress is an ISO upload: its body may take as long as it keeps moving,
    /// so `bodyTimeout` counts from the last body bytes rather than from the head.
    private var streamingUpload = false

    init(timeout: TimeAmount, bodyTimeout: TimeAmount = .seconds(60), channel: any Channel, guardian: ConnectionGuard? = nil) {
        self.timeout = timeout
        self.bodyTimeout = bodyTimeout
        self.channel = channel
        self.guardian = guardian
    }

    private func start(_ context: ChannelHandlerContext) {
        self.context = context
        let period = max(.milliseconds(250), TimeAmount.nanoseconds(min(timeout, bodyTimeout).nanoseconds / 4))
        let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
        check = context.eventLoop.scheduleRepeatedTask(initialDelay: period, delay: period) { _ in loopBound.value.expireIfLate() }
    }

    private func expireIfLate() {
        let age = NIODeadline.now() - since
        switch phase {
        case .readingHead where age >= timeout, .inRequest where age >= bodyTimeout:
            reject(.requestTimeout)
        default:
            break
        }
    }

    /// Reports a change of "no request in progress" to the guard.
    private func updateWaiting() {
        let now = (phase == .idle || phase == .readingHead) && pendingResponses == 0
        guard now != waiting else { return }
        waiting = now
        guardian?.mark(channel, waiting: now)
    }

    func bytesArrived() {
        guard phase == .idle else { return }
        phase = .readingHead
        since = .now()
        updateWaiting()
    }

    func headComplete(upload: Bool = false) {
        guard phase != .off else { return }
        streamingUpload = upload
        phase = .inRequest
        since = .now()
        pendingResponses += 1
        updateWaiting()
    }

    func responseEnded() {
        pendingResponses = max(0, pendingResponses - 1)
        updateWaiting()
    }

    func bodyArrived() {
        guard streamingUpload, phase == .inRequest else { return }
        since = .now()
    }

    /// An upload's route (`ISOOperations`): POST /api/v1/iscsi-cdroms/NAME/upload.
    static func isUpload(_ head: HTTPRequestHead) -> Bool {
        guard head.method == .POST else { return false }
        let path = head.uri.split(separator: "?", maxSplits: 1).first ?? ""
        let parts = path.split(separator: "/")
        return parts.count == 5 && parts[0] == "api" && parts[1] == "v1" && parts[2] == "iscsi-cdroms" && parts[4] == "upload"
    }

    /// The request is read (its answer may still be streaming): the next byte starts a new head.
    func requestRead() {
        guard phase != .off else { return }
        phase = .idle
        updateWaiting()
    }

    /// The boot lane answered what it had; `partial`: the start of the next head is waiting.
    func laneAnswered(partial: Bool) {
        guard phase != .off else { return }
        requestRead()
        if partial { bytesArrived() }
    }

    func switchOff() {
        phase = .off
        check?.cancel()
        check = nil
        updateWaiting()
    }

    /// Answers with a status and closes (no keep-alive after a request that could not be read).
    func reject(_ status: HTTPResponseStatus) {
        guard let context, context.channel.isActive else { return }
        switchOff()
        var out = context.channel.allocator.buffer(capacity: 96)
        out.writeString("HTTP/1.1 \(status.code) \(status.reasonPhrase)\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
        context.writeAndFlush(NIOAny(out)).whenComplete { _ in context.close(promise: nil) }
    }

    /// First in the pipeline: bytes arriving.
    final class RawSide: ChannelInboundHandler, RemovableChannelHandler {
        typealias InboundIn = ByteBuffer
        typealias InboundOut = ByteBuffer
        let deadline: RequestDeadline

        init(_ deadline: RequestDeadline) { self.deadline = deadline }

        func handlerAdded(context: ChannelHandlerContext) { deadline.start(context) }

        func handlerRemoved(context: ChannelHandlerContext) {
            deadline.switchOff()
            deadline.context = nil
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            deadline.bytesArrived()
            context.fireChannelRead(data)
        }

        func channelInactive(context: ChannelHandlerContext) {
            deadline.switchOff()
            context.fireChannelInactive()
        }
    }

    /// Behind the HTTP decoder: heads read, requests read, requests that could not be read, and
    /// answers finished. Typed `Any`: after a WebSocket upgrade, frames pass through untouched.
    final class HeadSide: ChannelDuplexHandler, RemovableChannelHandler {
        typealias InboundIn = Any
        typealias OutboundIn = Any
        let deadline: RequestDeadline

        init(_ deadline: RequestDeadline) { self.deadline = deadline }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            if let part = unwrapInboundIn(data) as? HTTPServerRequestPart {
                switch part {
                case .head(let head): deadline.headComplete(upload: RequestDeadline.isUpload(head))
                case .end: deadline.requestRead()
                case .body: deadline.bodyArrived()
                }
            }
            context.fireChannelRead(data)
        }

        func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
            if case .end? = unwrapOutboundIn(data) as? HTTPServerResponsePart { deadline.responseEnded() }
            context.write(data, promise: promise)
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            if error is HTTPParserError || error is ByteToMessageDecoderError {
                deadline.reject(.badRequest)
            }
            context.fireErrorCaught(error)
        }
    }
}
