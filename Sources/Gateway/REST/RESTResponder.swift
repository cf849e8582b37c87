import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore

/// The REST transport: decodes an HTTP request into an `OperationRequest`, runs the operation
/// through the `OperationRunner` (which checks access), and encodes the result as mkube does
/// (JSON + newline), with Kubernetes Status errors, kubectl Tables and newline-delimited watch
/// streams. Cross-origin rules (`CORSPolicy`) are applied here, before anything runs.
public struct RESTResponder: HTTPResponder {
    public typealias Context = GatewayContext

    let runner: OperationRunner
    var service: Service { runner.service }
    let router: OperationRouter
    let cors: CORSPolicy
    /// The JSON-RPC transport over the same operations (`POST /rpc`, and `/rpc/ws` through the server).
    public let rpcServer: JSONRPCServer
    /// Requests not in the operation table (the web page, its assets) go here.
    let fallback: (@Sendable (Request, GatewayContext) async throws -> Response?)?
    static let maxBody = 16 * 1024 * 1024
    let maxURILength: Int

    public init(runner: OperationRunner, cors: CORSPolicy = CORSPolicy(), operations: [Operation] = OperationTable.all,
                maxURILength: Int = ConnectionLimits.defaultMaxURILength,
                fallback: (@Sendable (Request, GatewayContext) async throws -> Response?)? = nil) {
        self.runner = runner
        self.maxURILength = maxURILength
        self.router = OperationRouter(operations)
        self.cors = cors
        self.rpcServer = JSONRPCServer(runner: runner, operations: operations)
        self.fallback = fallback
    }

    public init(service: Service, operations: [Operation] = OperationTable.all,
                fallback: (@Sendable (Request, GatewayContext) async throws -> Response?)? = nil) {
        self.init(runner: OperationRunner(service: service), operations: operations, fallback: fallback)
    }

    public func respond(to request: Request, context: GatewayContext) async throws -> Response {
        let origin = request.headers[.origin]
        if request.method == .options {
            let (status, headers) = cors.preflight(origin: origin)
            return Response(status: .init(code: status), headers: headers)
        }
        // A browser on another site's page sends its Origin; nothing runs for it unless listed.
        guard cors.permits(origin: origin, host: request.head.authority) else {
            return Self.error(AccessPolicy.forbidden("cross-origin requests from \(origin ?? "") are refused; start bootgate with --cors-origin \(origin ?? "") to allow that page"))
        }
        guard request.uri.string.utf8.count <= maxURILength else {
            return Self.error(APIError(code: 414, reason: "URITooLong", message: "the request target is longer than \(maxURILength) bytes"))
        }
        var response = try await route(request, context)
        cors.addHeaders(to: &response.headers, origin: origin)
        return response
    }

    func route(_ request: Request, _ context: GatewayContext) async throws -> Response {
        let method = request.method.rawValue
        let path = request.uri.path
        if path == "/rpc", method == "POST" { return try await rpc(request, context) }
        switch router.match(method: method, path: path) {
        case .found(let op, let params):
            var req = OperationRequest()
            req.path = params
            req.query = QueryString.parse(request.uri.query)
            req.contentType = request.headers[.contentType]
            req.accept = request.headers[.accept]
            req.remoteIP = context.peerIP
            for field in request.headers { req.headers[field.name.canonicalName] = field.value }
            if req.flag("watch") { req.watchControl = WatchControl() }
            if op.streamsBody {
                // Read by the operation as it arrives; its own limit applies (`--max-iso-size`).
                req.bodyStream = StreamedBody(request.body, declaredLength: request.headers[.contentLength].flatMap { UInt64($0) })
            } else if op.body != nil || method == "POST" {
                var r = request
                do {
                    let buffer = try await r.collectBody(upTo: Self.maxBody)
                    req.body = Array(buffer.readableBytesView)
                } catch {
                    return Self.error(APIError(code: 413, reason: "RequestEntityTooLarge", message: "the request body is larger than \(Self.maxBody) bytes"))
                }
            }
            do {
                let result = try await runner.run(op, req)
                return encode(result, accept: req.accept, head: method == "HEAD", connection: context.channel, control: req.watchControl)
            } catch {
                return Self.error(error)
            }
        case .methodNotAllowed(let allowed):
            if let denied = pageDenied(request, isAsset: false) { return denied }
            var r = Self.error(APIError(code: 405, reason: "MethodNotAllowed", message: "\(method) is not allowed on \(path); allowed: \(allowed.joined(separator: ", "))"))
            r.headers[.allow] = allowed.joined(separator: ", ")
            return r
        case .notFound:
            if let fallback, let response = try await fallback(request, context) {
                if let denied = pageDenied(request, isAsset: true) { return denied }
                return response
            }
            if let denied = pageDenied(request, isAsset: false) { return denied }
            if path == "/rpc/ws" {
                return Self.error(.badRequest("/rpc/ws is a WebSocket endpoint: send an Upgrade request (from an allowed origin)"))
            }
            return Self.error(APIError(code: 404, reason: "NotFound", message: "the server could not find the requested resource: \(method) \(path)"))
        }
    }

    /// The access check for what no operation serves (see `AccessPolicy.authorizePage`).
    func pageDenied(_ request: Request, isAsset: Bool) -> Response? {
        do throws(APIError) {
            try runner.policy.authorizePage(isAsset: isAsset, authorization: request.headers[.authorization])
            return nil
        } catch {
            return Self.error(error)
        }
    }

    /// `POST /rpc`: the JSON-RPC transport over the same operations. Only `application/json`:
    /// a form or `text/plain` body is what a foreign page can send without a preflight.
    func rpc(_ request: Request, _ context: GatewayContext) async throws -> Response {
        let type = (request.headers[.contentType] ?? "").split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
        guard type == "application/json" else {
            return Self.error(.unsupportedMediaType("JSON-RPC requests must be sent as Content-Type: application/json, got \"\(type)\""))
        }
        var r = request
        guard let buffer = try? await r.collectBody(upTo: Self.maxBody) else {
            return Self.error(APIError(code: 413, reason: "RequestEntityTooLarge", message: "the request body is larger than \(Self.maxBody) bytes"))
        }
        let caller = JSONRPCServer.Caller(remoteIP: context.peerIP, authorization: request.headers[.authorization])
        guard let reply = await rpcServer.handle(Array(buffer.readableBytesView), caller: caller) else {
            return Response(status: .noContent)
        }
        return Response(status: .ok, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: ByteBuffer(bytes: reply)))
    }

    func encode(_ result: OperationResult, accept: String?, head: Bool, connection: (any Channel)?, control: WatchControl?) -> Response {
        if case .watch(let kind, let stream) = result {
            return watchResponse(kind, stream, table: TableView.wanted(accept), connection: connection, control: control)
        }
        if case .file(let slice) = result { return fileResponse(slice, head: head) }
        return RESTReply(result, accept: accept, lists: service.encoded)?.response(head: head) ?? Self.error(.internalError("unencodable result"))
    }

    func watchResponse(_ kind: ResourceKind, _ stream: AsyncStream<WatchItem>, table: Bool, connection: (any Channel)?, control: WatchControl?) -> Response {
        // In place before the head is sent: a client may hang up as soon as it has it.
        let uninstall = connection.flatMap { c in control.map { WatchHangup.install($0, on: c) } }
        let body = ResponseBody { writer in
            defer { uninstall?() }
            // Cut off for not reading: its pending writes would never drain, so the connection
            // goes (the client resumes from its last resourceVersion).
            if let connection { control?.onOverflow { connection.close(promise: nil) } }
            for await item in stream {
                var line: [UInt8]
                switch item {
                case .event(let type, let object):
                    let payload = table ? TableView.table(kind, [object], revision: object.resourceVersion) : object.json
                    line = JSONWriter.bytes(.object(JSONObject([("type", .string(type)), ("object", payload)])), trailingNewline: true)
                case .bookmark(let revision):
                    let object: JSONValue = .object(JSONObject([("kind", .string(kind.rawValue)), ("apiVersion", "v1"),
                                                                 ("metadata", ["resourceVersion": .string(String(revision))])]))
                    line = JSONWriter.bytes(.object(JSONObject([("type", "BOOKMARK"), ("object", object)])), trailingNewline: true)
                case .keepAlive:
                    line = [0x0A]
                }
                try await writer.write(ByteBuffer(bytes: line))
            }
            if control?.overflowed == true { return }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: [.contentType: "application/json", .cacheControl: "no-cache"], body: body)
    }

    /// A file inside an ISO, read and sent a piece at a time (`FileSlice.chunk`).
    func fileResponse(_ slice: FileSlice, head: Bool) -> Response {
        var headers: HTTPFields = [.contentType: slice.contentType, .contentLength: String(slice.length)]
        for (n, v) in slice.headers { if let name = HTTPField.Name(n) { headers[name] = v } }
        guard !head else { return Response(status: .init(code: slice.status), headers: headers, body: ResponseBody()) }
        let body = ResponseBody(contentLength: Int(slice.length)) { writer in
            var offset: UInt64 = 0
            while offset < slice.length {
                let n = Int(min(UInt64(FileSlice.chunk), slice.length - offset))
                let bytes = try slice.source.read(at: slice.start + offset, count: n)
                guard bytes.count == n else { throw ISO9660Error.io("the ISO file ended early") }
                try await writer.write(ByteBuffer(bytes: bytes))
                offset += UInt64(n)
            }
            try await writer.finish(nil)
        }
        return Response(status: .init(code: slice.status), headers: headers, body: body)
    }

    static func error(_ error: APIError) -> Response {
        RESTReply.error(error).response()
    }
}
