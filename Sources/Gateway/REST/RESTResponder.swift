import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore

/// The REST transport: decodes an HTTP request into an `OperationRequest`, runs the operation,
/// and encodes the result as mkube does (JSON + newline, CORS headers), with Kubernetes Status
/// errors, kubectl Tables and newline-delimited watch streams.
public struct RESTResponder: HTTPResponder {
    public typealias Context = GatewayContext

    let service: Service
    let router: OperationRouter
    /// The JSON-RPC transport over the same operations (`POST /rpc`, and `/rpc/ws` through the server).
    public let rpcServer: JSONRPCServer
    /// Requests not in the operation table (the web page, its assets) go here.
    let fallback: (@Sendable (Request, GatewayContext) async throws -> Response?)?
    static let maxBody = 16 * 1024 * 1024

    public init(service: Service, operations: [Operation] = OperationTable.all,
                fallback: (@Sendable (Request, GatewayContext) async throws -> Response?)? = nil) {
        self.service = service
        self.router = OperationRouter(operations)
        self.rpcServer = JSONRPCServer(service: service, operations: operations)
        self.fallback = fallback
    }

    public func respond(to request: Request, context: GatewayContext) async throws -> Response {
        let method = request.method.rawValue
        if method == "OPTIONS" { return Self.withCORS(Response(status: .noContent)) }
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
            if op.body != nil || method == "POST" {
                var r = request
                do {
                    let buffer = try await r.collectBody(upTo: Self.maxBody)
                    req.body = Array(buffer.readableBytesView)
                } catch {
                    return Self.error(APIError(code: 413, reason: "RequestEntityTooLarge", message: "the request body is larger than \(Self.maxBody) bytes"))
                }
            }
            do {
                let result = try await op.handler(service, req)
                return encode(result, accept: req.accept, head: method == "HEAD", connection: context.channel)
            } catch {
                service.noteFailure(of: op.id, error)
                return Self.error(error)
            }
        case .methodNotAllowed(let allowed):
            var r = Self.error(APIError(code: 405, reason: "MethodNotAllowed", message: "\(method) is not allowed on \(path); allowed: \(allowed.joined(separator: ", "))"))
            r.headers[.allow] = allowed.joined(separator: ", ")
            return r
        case .notFound:
            if let fallback, let response = try await fallback(request, context) { return Self.withCORS(response) }
            return Self.error(APIError(code: 404, reason: "NotFound", message: "the server could not find the requested resource: \(method) \(path)"))
        }
    }

    /// `POST /rpc`: the JSON-RPC transport over the same operations.
    func rpc(_ request: Request, _ context: GatewayContext) async throws -> Response {
        var r = request
        guard let buffer = try? await r.collectBody(upTo: Self.maxBody) else {
            return Self.error(APIError(code: 413, reason: "RequestEntityTooLarge", message: "the request body is larger than \(Self.maxBody) bytes"))
        }
        guard let reply = await rpcServer.handle(Array(buffer.readableBytesView), remoteIP: context.peerIP) else {
            return Self.withCORS(Response(status: .noContent))
        }
        return Self.withCORS(Response(status: .ok, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: ByteBuffer(bytes: reply))))
    }

    func encode(_ result: OperationResult, accept: String?, head: Bool, connection: (any Channel)?) -> Response {
        if case .watch(let kind, let stream) = result {
            return watchResponse(kind, connection.map { WatchHangup.ending(stream, when: $0) } ?? stream, table: TableView.wanted(accept))
        }
        return RESTReply(result, accept: accept, lists: service.encoded)?.response(head: head) ?? Self.error(.internalError("unencodable result"))
    }

    func watchResponse(_ kind: ResourceKind, _ stream: AsyncStream<WatchItem>, table: Bool) -> Response {
        let body = ResponseBody { writer in
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
            try await writer.finish(nil)
        }
        return Self.withCORS(Response(status: .ok, headers: [.contentType: "application/json", .cacheControl: "no-cache"], body: body))
    }

    static func error(_ error: APIError) -> Response {
        RESTReply.error(error).response()
    }

    static func withCORS(_ r: Response) -> Response {
        var copy = r
        RESTReply.addCORS(to: &copy.headers)
        return copy
    }
}
