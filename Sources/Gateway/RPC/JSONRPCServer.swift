import Foundation

/// The JSON-RPC 2.0 transport: every operation of `OperationTable` is a method named by its
/// operationId, taking the REST path, query and body as named params and returning the REST
/// response's JSON. Single requests, batches and notifications; standard error codes; an
/// application error's `code` is the HTTP status and its `data` the same `Status` REST returns.
public struct JSONRPCServer: Sendable {
    public static let parseError = -32700, invalidRequest = -32600, methodNotFound = -32601, invalidParams = -32602, internalError = -32603
    /// A batch item not run because the batch's answers already passed `maxBatchReply` bytes.
    public static let replyTooLarge = -32001
    static let maxBatch = 1000
    /// A batch of 8.6 KB asking for one large config 100 times once answered 1 GB; its answers
    /// stop here, and the items after it are not run.
    let maxBatchReply: Int

    let runner: OperationRunner
    var service: Service { runner.service }
    let operations: [String: Operation]

    public init(runner: OperationRunner, operations: [Operation] = OperationTable.all, maxBatchReply: Int = 16 * 1024 * 1024) {
        self.runner = runner
        self.operations = Dictionary(uniqueKeysWithValues: operations.map { ($0.id, $0) })
        self.maxBatchReply = maxBatchReply
    }

    public init(service: Service, operations: [Operation] = OperationTable.all) {
        self.init(runner: OperationRunner(service: service), operations: operations)
    }

    /// Who is calling: the connection's address and the HTTP request's (or WebSocket upgrade's)
    /// `Authorization`, given to every call of a message.
    public struct Caller: Sendable {
        public var remoteIP: String
        public var authorization: String?
        public init(remoteIP: String, authorization: String? = nil) {
            self.remoteIP = remoteIP
            self.authorization = authorization
        }
    }

    /// What a request asked for, once decoded.
    enum Call {
        /// `id` nil: a notification, which gets no reply even when it fails.
        case invalid(JSONValue, id: JSONValue?)
        case method(Operation, OperationRequest, watch: Bool, id: JSONValue?)
        case builtin(String, JSONObject, id: JSONValue?)
    }

    /// The reply bytes for an HTTP body, or nil when nothing is owed (only notifications).
    public func handle(_ body: [UInt8], caller: Caller) async -> [UInt8]? {
        let reply = await handle(parsing: body, caller: caller) { _, _ in
            .failure(Self.error(Self.invalidParams, "Invalid params: watch needs a stream; use the WebSocket endpoint /rpc/ws"))
        }
        return reply.map { JSONWriter.bytes($0, trailingNewline: true) }
    }

    /// Parses and answers one message; `watch` decides what a watch request becomes.
    func handle(parsing body: [UInt8], caller: Caller, watch: (Operation, OperationRequest) async -> WatchOutcome) async -> JSONValue? {
        let message: JSONValue
        do {
            message = try JSONParser.parse(body)
        } catch {
            return Self.response(id: .null, error: Self.error(Self.parseError, "Parse error: \(error.description)"))
        }
        if case .array(let items) = message {
            if items.isEmpty { return Self.response(id: .null, error: Self.error(Self.invalidRequest, "Invalid Request: empty batch")) }
            if items.count > Self.maxBatch {
                return Self.response(id: .null, error: Self.error(Self.invalidRequest, "Invalid Request: batch of \(items.count) requests exceeds \(Self.maxBatch)"))
            }
            var replies: [JSONValue] = []
            var size = 0
            for item in items {
                if size > maxBatchReply {
                    let id = item.objectValue?["id"]
                    if let id { replies.append(Self.response(id: id, error: Self.error(Self.replyTooLarge, "Reply too large: the batch's answers passed \(maxBatchReply) bytes; this request was not run, send it again in another batch"))) }
                    continue
                }
                if let r = await answer(item, caller: caller, watch: watch) {
                    size += JSONWriter.bytes(r).count
                    if size > maxBatchReply {
                        let id = item.objectValue?["id"] ?? .null
                        replies.append(Self.response(id: id, error: Self.error(Self.replyTooLarge, "Reply too large: the batch's answers passed \(maxBatchReply) bytes; this request ran but its answer is left out")))
                    } else {
                        replies.append(r)
                    }
                }
            }
            return replies.isEmpty ? nil : .array(replies)
        }
        return await answer(message, caller: caller, watch: watch)
    }

    enum WatchOutcome {
        case result(JSONValue)
        case failure(JSONValue)
    }

    func answer(_ request: JSONValue, caller: Caller, watch: (Operation, OperationRequest) async -> WatchOutcome) async -> JSONValue? {
        switch decode(request, caller: caller) {
        case .invalid(let error, let id):
            return id.map { Self.response(id: $0, error: error) }
        case .builtin(let name, let params, let id):
            let result = builtin(name, params, caller: caller)
            guard let id else { return nil }
            switch result {
            case .success(let v): return Self.response(id: id, result: v)
            case .failure(let e): return Self.response(id: id, error: e.value)
            }
        case .method(let op, let req, let isWatch, let id):
            if isWatch {
                switch await watch(op, req) {
                case .result(let v): return id.map { Self.response(id: $0, result: v) }
                case .failure(let e): return id.map { Self.response(id: $0, error: e) }
                }
            }
            do throws(APIError) {
                let result = try await runner.run(op, req)
                return id.map { Self.response(id: $0, result: Self.json(result)) }
            } catch {
                return id.map { Self.response(id: $0, error: Self.error(error)) }
            }
        }
    }

    struct RPCError: Error { var value: JSONValue }

    func builtin(_ name: String, _ params: JSONObject, caller: Caller) -> Result<JSONValue, RPCError> {
        switch name {
        case "rpc.discover":
            // The description is a read like any other.
            do throws(APIError) {
                try runner.policy.authorizePage(isAsset: false, authorization: caller.authorization)
            } catch {
                return .failure(RPCError(value: Self.error(error)))
            }
            return .success(OpenRPCDocument.json)
        default: return .failure(RPCError(value: Self.error(Self.methodNotFound, "Method not found: \(name)")))
        }
    }

    func decode(_ request: JSONValue, caller: Caller) -> Call {
        guard let obj = request.objectValue else {
            return .invalid(Self.error(Self.invalidRequest, "Invalid Request: a request is an object, got \(request.typeName)"), id: .null)
        }
        let id: JSONValue? = obj["id"]
        if let i = id {
            switch i {
            case .string, .int, .double, .null: break
            default:
                return .invalid(Self.error(Self.invalidRequest, "Invalid Request: id must be a string, a number or null"), id: .null)
            }
        }
        guard obj["jsonrpc"] == .string("2.0") else {
            return .invalid(Self.error(Self.invalidRequest, "Invalid Request: \"jsonrpc\" must be \"2.0\""), id: id ?? .null)
        }
        guard let method = obj["method"]?.stringValue else {
            return .invalid(Self.error(Self.invalidRequest, "Invalid Request: \"method\" must be a string"), id: id ?? .null)
        }
        let params: JSONObject
        switch obj["params"] {
        case nil, .some(.null): params = JSONObject()
        case .some(.object(let o)): params = o
        case .some(.array):
            return .invalid(Self.error(Self.invalidParams, "Invalid params: params are passed by name (an object), not by position"), id: id)
        case .some(let other):
            return .invalid(Self.error(Self.invalidRequest, "Invalid Request: params must be an object, got \(other.typeName)"), id: id ?? .null)
        }
        if method.hasPrefix("rpc.") { return .builtin(method, params, id: id) }
        guard let op = operations[method] else {
            return .invalid(Self.error(Self.methodNotFound, "Method not found: \(method)"), id: id)
        }
        switch Self.operationRequest(op, params, caller: caller) {
        case .success(let (req, isWatch)): return .method(op, req, watch: isWatch, id: id)
        case .failure(let e): return .invalid(e.value, id: id)
        }
    }

    /// Named params → the operation's path, query and body, checked by name and type.
    static func operationRequest(_ op: Operation, _ params: JSONObject, caller: Caller) -> Result<(OperationRequest, Bool), RPCError> {
        var req = OperationRequest()
        req.remoteIP = caller.remoteIP
        if let a = caller.authorization { req.headers["authorization"] = a }
        var known: [String: Operation.Parameter] = [:]
        for p in op.parameters { known[p.name] = p }
        let extra = (op.body != nil ? ["body"] : []) + (op.method == .patch ? ["patchType"] : [])
        for (name, value) in params {
            if name == "body", op.body != nil {
                req.parsedBody = value
                continue
            }
            if name == "patchType", op.method == .patch {
                guard let t = value.stringValue, ["merge", "json"].contains(t) else {
                    return .failure(RPCError(value: error(invalidParams, "Invalid params: patchType must be \"merge\" or \"json\"")))
                }
                req.query["patchType"] = t
                continue
            }
            guard let p = known[name] else {
                let valid = (op.parameters.map(\.name) + extra).joined(separator: ", ")
                return .failure(RPCError(value: error(invalidParams, "Invalid params: unknown param \"\(name)\" for \(op.id); params: \(valid.isEmpty ? "none" : valid)")))
            }
            let text: String
            switch (p.type, value) {
            case ("boolean", .bool(let b)): text = b ? "true" : "false"
            case ("integer", .int(let i)): text = String(i)
            case ("string", .string(let s)): text = s
            case (_, .null): continue
            default:
                return .failure(RPCError(value: error(invalidParams, "Invalid params: \"\(name)\" must be a \(p.type), got \(value.typeName)")))
            }
            if p.location == .path { req.path[name] = text } else { req.query[name] = text }
        }
        for p in op.parameters where (p.required || p.location == .path) && req.path[p.name] == nil && req.query[p.name] == nil {
            return .failure(RPCError(value: error(invalidParams, "Invalid params: \"\(p.name)\" is required for \(op.id)")))
        }
        if op.body?.required == true, req.parsedBody == nil {
            return .failure(RPCError(value: error(invalidParams, "Invalid params: \"body\" is required for \(op.id)")))
        }
        let isWatch = req.flag("watch")
        return .success((req, isWatch))
    }

    /// The REST response body as JSON.
    static func json(_ result: OperationResult) -> JSONValue {
        switch result {
        case .resource(let o, _, _): return o.json
        case .list(let kind, let items, let revision):
            return .object(JSONObject([("kind", .string(kind.listKind)), ("apiVersion", "v1"),
                                       ("metadata", ["resourceVersion": .string(String(revision))]), ("items", .array(items.map(\.json)))]))
        case .json(let v, _): return v
        case .bytes(let b, _, _, _): return .string(String(decoding: b, as: UTF8.self))
        case .file(let slice):
            // JSON carries small files only; kernels and initrds go over REST.
            guard slice.length <= 4 << 20, let bytes = try? slice.source.read(at: slice.start, count: Int(slice.length)) else {
                return .object(JSONObject([("size", .int(Int64(slice.length))), ("message", "larger than 4 MiB: read it over REST (GET …/files?path=)")]))
            }
            return .object(JSONObject([("size", .int(Int64(slice.length))), ("base64", .string(Data(bytes).base64EncodedString()))]))
        case .watch: return .null
        }
    }

    static func error(_ code: Int, _ message: String, data: JSONValue? = nil) -> JSONValue {
        var o = JSONObject([("code", .int(Int64(code))), ("message", .string(message))])
        if let data { o["data"] = data }
        return .object(o)
    }

    /// An operation's failure: the HTTP status as the code (500s are -32603), the Status as data.
    static func error(_ e: APIError) -> JSONValue {
        error(e.code >= 500 ? internalError : e.code, e.message, data: e.status)
    }

    static func response(id: JSONValue?, result: JSONValue) -> JSONValue {
        .object(JSONObject([("jsonrpc", "2.0"), ("result", result), ("id", id ?? .null)]))
    }

    static func response(id: JSONValue?, error: JSONValue) -> JSONValue {
        .object(JSONObject([("jsonrpc", "2.0"), ("error", error), ("id", id ?? .null)]))
    }
}
