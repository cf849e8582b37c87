import Foundation
import HTTPTypes
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1

/// Answers the operations marked `inline` (the boot path) from the connection's bytes, on its
/// event loop.
///
/// Every other request goes through NIO's HTTP decoder and encoder, Hummingbird's request and
/// response types, and a hop from the event loop to the Swift concurrency pool and back; for a
/// 100-byte iPXE script that machinery costs several times what finding the host does. A rack
/// powering on is all `/ipxe` and `/api/v1/bootconfig`, so this handler sits first in the
/// pipeline and answers plain GETs of those routes itself. Anything else (another method or
/// route, a body, `Connection: close`, HTTP/1.0, an odd header) and everything after it on that
/// connection goes on to Hummingbird untouched; the handler then leaves the pipeline. Answers
/// are written in request order, and none is pending when the bytes move on, so a pipelining
/// client still gets its responses in order; one that stops reading them is passed on too.
///
/// While it holds the connection, a connection that sends nothing for `idleTimeout` (to twice
/// that) is closed, half-sent heads included.
final class InlineRouteHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// A request head longer than this is left to the HTTP decoder and its limits.
    static let maxHead = 16 * 1024
    /// How long a connection may stay silent after an answer that ends the client's HTTP use
    /// (`Operation.endsClientHTTP`) before it is closed. A client that goes on asking (a
    /// benchmark, a script) sends its next request well within it and keeps the connection.
    static let handOffLinger: TimeAmount = .seconds(2)

    private let lane: InlineLane
    /// Succeeds with true when the connection moves on to Hummingbird, false when it closes first.
    private let handedOver: EventLoopPromise<Bool>
    private let idleTimeout: TimeAmount
    private var idleCheck: RepeatedTask?
    /// Whether bytes arrived since the last idle check.
    private var active = true
    /// Whether `handedOver` is completed.
    private var settled = false
    /// The start of a request whose head has not fully arrived.
    private var partial: ByteBuffer?
    private var peerIP: String?
    /// Told of each request answered here, so the head deadline restarts for the next one.
    private let deadline: RequestDeadline?
    /// Counts reads, so a hand-off check knows whether anything arrived since it was set.
    private var reads = 0
    private var handOffCheck: Scheduled<Void>?

    init(lane: InlineLane, handedOver: EventLoopPromise<Bool>, idleTimeout: TimeAmount, deadline: RequestDeadline? = nil) {
        self.lane = lane
        self.handedOver = handedOver
        self.idleTimeout = idleTimeout
        self.deadline = deadline
    }

    func handlerAdded(context: ChannelHandlerContext) {
        // One timer per connection, not one per request: a check every timeout.
        // The task runs on this loop; it is cancelled when the connection closes or moves on.
        let handler = NIOLoopBound(self, eventLoop: context.eventLoop), bound = NIOLoopBound(context, eventLoop: context.eventLoop)
        idleCheck = context.eventLoop.scheduleRepeatedTask(initialDelay: idleTimeout, delay: idleTimeout) { _ in
            if !handler.value.active { bound.value.close(promise: nil) }
            handler.value.active = false
        }
    }

    /// Removed while the connection is open: passed on. (A closing channel removes its handlers
    /// after `channelInactive`, which has settled it already.)
    func handlerRemoved(context: ChannelHandlerContext) {
        settle(passedOn: true)
    }

    func channelInactive(context: ChannelHandlerContext) {
        settle(passedOn: false)
        context.fireChannelInactive()
    }

    private func settle(passedOn: Bool) {
        idleCheck?.cancel()
        idleCheck = nil
        handOffCheck?.cancel()
        handOffCheck = nil
        guard !settled else { return }
        settled = true
        handedOver.succeed(passedOn)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        active = true
        reads &+= 1
        handOffCheck?.cancel()
        handOffCheck = nil
        var bytes = unwrapInboundIn(data)
        if var earlier = partial {
            earlier.writeBuffer(&bytes)
            bytes = earlier
            partial = nil
        }
        var answered = false, handsOff = false
        while bytes.readableBytes > 0 {
            switch RawRequestHead.parse(bytes.readableBytesView) {
            case .incomplete where bytes.readableBytes <= Self.maxHead:
                partial = bytes
                if answered {
                    context.flush()
                    deadline?.laneAnswered(partial: true)
                }
                return
            case .complete(let head, let length):
                // A client that pipelines without reading its answers gets Hummingbird's
                // backpressure instead of an ever-growing write buffer here.
                // A head longer than the decoder takes is left to it too (and refused there).
                guard context.channel.isWritable, length <= Self.maxHead else { break }
                if let (operation, request) = lane.match(target: head.target, headers: head.headers, peerIP: peerIP(context)),
                   let reply = lane.answer(operation, request) {
                    context.write(wrapOutboundOut(lane.encode(reply, allocator: context.channel.allocator)), promise: nil)
                    bytes.moveReaderIndex(forwardBy: length)
                    answered = true
                    handsOff = operation.endsClientHTTP
                    continue
                }
            case .incomplete, .unsupported:
                break
            }
            if answered { deadline?.laneAnswered(partial: true) }
            return passOn(bytes, context: context, flush: answered)
        }
        if answered {
            context.flush()
            deadline?.laneAnswered(partial: false)
            if handsOff { closeIfSilent(context: context) }
        }
    }

    /// Closes the connection unless something arrives within `handOffLinger`.
    private func closeIfSilent(context: ChannelHandlerContext) {
        let seen = reads
        let handler = NIOLoopBound(self, eventLoop: context.eventLoop), bound = NIOLoopBound(context, eventLoop: context.eventLoop)
        handOffCheck = context.eventLoop.scheduleTask(in: Self.handOffLinger) {
            if handler.value.reads == seen, !handler.value.settled { bound.value.close(promise: nil) }
        }
    }

    /// Hands the rest of the connection to the HTTP decoder behind this handler and leaves.
    private func passOn(_ bytes: ByteBuffer, context: ChannelHandlerContext, flush: Bool) {
        if flush { context.flush() }
        context.fireChannelRead(wrapInboundOut(bytes))
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }

    private func peerIP(_ context: ChannelHandlerContext) -> String {
        if let peerIP { return peerIP }
        let ip = context.channel.remoteAddress?.ipAddress ?? ""
        peerIP = ip
        return ip
    }
}

/// The head of a plain HTTP/1.1 GET, read straight from the connection's bytes. Only the
/// simplest form is accepted; whatever is not is `.unsupported` and left to NIO's decoder,
/// which answers malformed requests properly.
struct RawRequestHead {
    var target: String
    /// Lower-cased names, in order.
    var headers: [(name: String, value: String)]

    enum Parsed {
        case complete(RawRequestHead, length: Int)
        case incomplete
        case unsupported
    }

    /// Headers whose presence means the request is not a plain keep-alive GET without a body.
    /// `Connection: keep-alive` (iPXE sends it) is the one `Connection` value that is.
    private static let disqualifying: Set<String> = ["content-length", "transfer-encoding", "upgrade", "expect", "te", "trailer"]

    static func parse(_ bytes: ByteBufferView) -> Parsed {
        let cr = UInt8(ascii: "\r"), lf = UInt8(ascii: "\n"), space = UInt8(ascii: " ")
        var i = bytes.startIndex
        let end = bytes.endIndex
        // "GET " target " HTTP/1.1\r\n"
        for expected in "GET /".utf8 {
            guard i < end else { return .incomplete }
            guard bytes[i] == expected else { return .unsupported }
            i += 1
        }
        let targetStart = i - 1
        while i < end, bytes[i] != space {
            guard (0x21...0x7E).contains(bytes[i]) else { return .unsupported }
            i += 1
        }
        let targetEnd = i
        for expected in " HTTP/1.1\r\n".utf8 {
            guard i < end else { return .incomplete }
            guard bytes[i] == expected else { return .unsupported }
            i += 1
        }
        var headers: [(name: String, value: String)] = []
        while true {
            guard i + 1 < end else { return .incomplete }
            if bytes[i] == cr {
                guard bytes[i + 1] == lf else { return .unsupported }
                let target = String(decoding: bytes[targetStart..<targetEnd], as: UTF8.self)
                return .complete(RawRequestHead(target: target, headers: headers), length: i + 2 - bytes.startIndex)
            }
            let nameStart = i
            while i < end, bytes[i] != UInt8(ascii: ":") {
                guard isTokenByte(bytes[i]) else { return .unsupported } // also refuses obs-fold
                i += 1
            }
            guard i < end else { return .incomplete }
            guard i > nameStart else { return .unsupported }
            let name = String(decoding: bytes[nameStart..<i], as: UTF8.self).lowercased()
            i += 1
            while i < end, bytes[i] == space || bytes[i] == UInt8(ascii: "\t") { i += 1 }
            let valueStart = i
            while i < end, bytes[i] != cr {
                let b = bytes[i]
                guard b == UInt8(ascii: "\t") || (0x20...0x7E).contains(b) else { return .unsupported }
                i += 1
            }
            guard i + 1 < end else { return .incomplete }
            guard bytes[i + 1] == lf else { return .unsupported }
            var valueEnd = i
            while valueEnd > valueStart, bytes[valueEnd - 1] == space || bytes[valueEnd - 1] == UInt8(ascii: "\t") { valueEnd -= 1 }
            let value = String(decoding: bytes[valueStart..<valueEnd], as: UTF8.self)
            if disqualifying.contains(name) || (name == "connection" && value.lowercased() != "keep-alive") { return .unsupported }
            headers.append((name, value))
            i += 2
        }
    }

    /// RFC 9110 token characters.
    private static func isTokenByte(_ b: UInt8) -> Bool {
        switch b {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        default:
            return "!#$%&'*+-.^_`|~".utf8.contains(b)
        }
    }
}

/// What the inline handlers of every connection share: the service and its inline routes.
struct InlineLane: Sendable {
    let runner: OperationRunner
    var service: Service { runner.service }
    let router: OperationRouter
    let serverName: String
    /// The fixed part of a 200 answer's head per content type (status line, content type,
    /// server), encoded from a `RESTReply` once so the two paths send the same headers.
    private let heads: [String: [UInt8]]

    init(runner: OperationRunner, operations: [Operation], serverName: String) {
        self.runner = runner
        let service = runner.service
        self.router = OperationRouter(operations.filter { $0.inline != nil })
        self.serverName = serverName
        var heads: [String: [UInt8]] = [:]
        for contentType in [BootOperations.ipxeText] + BootOperations.configContentTypes {
            if let reply = RESTReply(.bytes([], contentType: contentType, status: 200, headers: []), table: nil, lists: service.encoded) {
                heads[contentType] = Self.fixedHead(reply, serverName: serverName)
            }
        }
        self.heads = heads
    }

    /// A finished answer: most are bytes with a content type whose head is already encoded.
    enum Reply {
        case ok(body: [UInt8], head: [UInt8])
        case other(RESTReply)
    }

    /// The inline operation for a GET, with its decoded input; nil to leave it to Hummingbird.
    func match(target: String, headers: [(name: String, value: String)], peerIP: String) -> (Operation, OperationRequest)? {
        let path: Substring, query: Substring?
        if let q = target.firstIndex(of: "?") {
            path = target[..<q]
            query = target[target.index(after: q)...]
        } else {
            path = target[...]
            query = nil
        }
        // Longer targets and more headers go on to the responder and NIO's decoder, which refuse them.
        guard target.utf8.count <= ConnectionLimits.defaultMaxURILength, headers.count <= ConnectionLimits.defaultMaxHeaderFieldCount,
              case .found(let operation, let params) = router.match(method: "GET", path: String(path)) else { return nil }
        // A browser's cross-origin request: the responder's CORS rules decide.
        if headers.contains(where: { $0.name == "origin" }) { return nil }
        var req = OperationRequest()
        req.path = params
        req.query = QueryString.parse(query.map(String.init))
        req.remoteIP = peerIP
        for (name, value) in headers { req.headers[name] = value }
        req.accept = req.headers["accept"]
        return (operation, req)
    }

    /// The reply, or nil when the operation declined (it then has done nothing).
    func answer(_ operation: Operation, _ request: OperationRequest) -> Reply? {
        do throws(APIError) {
            guard let result = try runner.runInline(operation, request) else { return nil }
            if case .bytes(let body, let contentType, 200, let extra) = result, extra.isEmpty, let head = heads[contentType] {
                return .ok(body: body, head: head)
            }
            return .other(RESTReply(result, table: TableView.format(accept: request.accept, query: request.query), lists: service.encoded) ?? RESTReply.error(.internalError("\(operation.id) returned a stream")))
        } catch {
            return .other(RESTReply.error(error))
        }
    }

    func encode(_ reply: Reply, allocator: ByteBufferAllocator) -> ByteBuffer {
        let head: [UInt8], body: [UInt8]
        switch reply {
        case .ok(let b, let h):
            (head, body) = (h, b)
        case .other(let r):
            (head, body) = (Self.fixedHead(r, serverName: serverName), r.body)
        }
        var out = allocator.buffer(capacity: head.count + 80 + body.count)
        out.writeBytes(head)
        out.writeString("Content-Length: \(body.count)\r\nDate: \(Timestamp.httpDate())\r\n\r\n")
        out.writeBytes(body)
        return out
    }

    /// Status line and headers, without the ones written per answer (length, date).
    static func fixedHead(_ reply: RESTReply, serverName: String) -> [UInt8] {
        let status = HTTPResponseStatus(statusCode: reply.status)
        var text = "HTTP/1.1 \(status.code) \(status.reasonPhrase)\r\n"
        for field in reply.headers where field.name != .contentLength {
            text += "\(field.name.rawName): \(field.value)\r\n"
        }
        text += "Server: \(serverName)\r\n"
        return Array(text.utf8)
    }
}

/// Puts an `InlineRouteHandler` in front of every connection of a Hummingbird child channel.
struct InlineLaneChannel<Inner: ServerChildChannel>: ServerChildChannel {
    struct Value: ServerChildChannelValue {
        var inner: Inner.Value
        var handedOver: EventLoopFuture<Bool>
        var channel: any Channel { inner.channel }
    }
    let inner: Inner
    let lane: InlineLane
    let idleTimeout: Duration
    let limits: ConnectionLimits
    let guardian: ConnectionGuard

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        inner.setup(channel: channel, logger: logger).flatMapThrowing { value in
            let handedOver = channel.eventLoop.makePromise(of: Bool.self)
            do {
                guardian.admit(channel)
                channel.closeFuture.whenComplete { [guardian] _ in guardian.closed(channel) }
                let deadline = RequestDeadline(timeout: .init(limits.headerTimeout), bodyTimeout: .init(limits.bodyTimeout), channel: channel, guardian: guardian)
                let ops = channel.pipeline.syncOperations
                // In front of HTTP, behind TLS when there is TLS: both read plain bytes.
                let encoder = try ops.handler(type: HTTPResponseEncoder.self)
                let inline = InlineRouteHandler(lane: lane, handedOver: handedOver, idleTimeout: .init(idleTimeout), deadline: deadline)
                try ops.addHandler(inline, position: .before(encoder))
                try ops.addHandler(RequestDeadline.RawSide(deadline), position: .before(inline))
                let decoder = try ops.handler(type: ByteToMessageHandler<HTTPRequestDecoder>.self)
                try ops.addHandler(RequestDeadline.HeadSide(deadline), position: .after(decoder))
            } catch {
                handedOver.fail(error)
                throw error
            }
            return Value(inner: value, handedOver: handedOver.futureResult)
        }
    }

    /// Hummingbird handles only connections the lane passed on. One the lane served to the end
    /// never reached its HTTP upgrade negotiation, which would report the close as an error.
    func handle(value: Value, logger: Logger) async {
        guard (try? await value.handedOver.get()) == true else { return }
        await inner.handle(value: value.inner, logger: logger)
    }
}
