/// One API operation, written once. The REST adapter routes to it by method and path; the
/// JSON-RPC adapter by `id` (its OpenAPI operationId); the OpenAPI document is generated from it.
public struct Operation: Sendable {
    public enum Method: String, Sendable, CaseIterable { case get = "GET", post = "POST", put = "PUT", patch = "PATCH", delete = "DELETE" }

    public struct Parameter: Sendable {
        public enum Location: String, Sendable { case path, query, header }
        public var name: String
        public var location: Location
        public var type: String
        public var description: String
        public var required: Bool
        public var allowed: [String]?
        public init(_ name: String, _ description: String, in location: Location = .query, type: String = "string", required: Bool = false, allowed: [String]? = nil) {
            self.name = name
            self.location = location
            self.type = type
            self.description = description
            self.required = required
            self.allowed = allowed
        }
    }

    public struct Response: Sendable {
        public var status: Int
        public var description: String
        /// `#/components/schemas/<name>`, or nil for a body that is not JSON.
        public var schema: String?
        public var contentTypes: [String]
        public init(_ status: Int, _ description: String, schema: String? = nil, contentTypes: [String] = ["application/json"]) {
            self.status = status
            self.description = description
            self.schema = schema
            self.contentTypes = contentTypes
        }
    }

    public struct Body: Sendable {
        public var schema: String?
        public var contentTypes: [String]
        public var required: Bool
    }

    public typealias Handler = @Sendable (Service, OperationRequest) async throws(APIError) -> OperationResult

    public var id: String
    public var method: Method
    public var path: String
    public var summary: String
    public var tag: String
    public var parameters: [Parameter]
    public var body: Body?
    public var responses: [Response]
    /// The Kubernetes kind and verb, published as `x-kubernetes-*` so kubectl finds its way.
    public var kube: (kind: ResourceKind, action: String)? = nil
    public var handler: Handler
    /// The body is handed to the handler as it arrives (`OperationRequest.bodyStream`), with
    /// the operation's own size limit, instead of being read whole first (ISO uploads).
    public var streamsBody = false
    /// Set for work that never suspends (the boot path): the REST transport runs it on the
    /// connection's event loop, skipping the hop to the concurrency pool. It returns nil, having
    /// done nothing, when this request needs `handler` after all (a renderer that is a plugin).
    public var inline: InlineHandler? = nil

    public typealias InlineHandler = @Sendable (Service, OperationRequest) throws(APIError) -> OperationResult?

    /// Set for answers after which the client is done with HTTP (the final iPXE script: it
    /// sanboots or exits to the firmware). The boot lane closes such a connection once it has
    /// been silent for `InlineRouteHandler.handOffLinger`, instead of holding it until the idle
    /// timeout: firmware that hands off never closes its own, and a machine that reboots within
    /// the idle timeout can reuse the same source port (old iPXE seeds its port choice from a
    /// coarse tick count, so on UEFI it often does), which a NAT in between, such as QEMU's
    /// user-mode network, still maps to the dead connection: the new SYN times out.
    public var endsClientHTTP = false

    /// What the access check asks of a caller, worked out once (`OperationTable.all`) from the
    /// id and method rather than per request: the boot lane runs this check too.
    var access: AccessPolicy.Need? = nil

    /// An operation whose work never suspends; `handler` runs `inline` too, then `orElse` when
    /// `inline` declines.
    static func inline(id: String, method: Method, path: String, summary: String, tag: String, parameters: [Parameter], body: Body?,
                       responses: [Response], inline: @escaping InlineHandler, orElse slow: Handler? = nil) -> Operation {
        var op = Operation(id: id, method: method, path: path, summary: summary, tag: tag, parameters: parameters, body: body, responses: responses) { service, req throws(APIError) in
            if let out = try inline(service, req) { return out }
            guard let slow else { throw .internalError("\(id) has no answer for this request") }
            return try await slow(service, req)
        }
        op.inline = inline
        return op
    }

    /// Path parameters, in order, from the `{name}` segments.
    public var pathParameterNames: [String] {
        path.split(separator: "/").compactMap { seg in seg.hasPrefix("{") && seg.hasSuffix("}") ? String(seg.dropFirst().dropLast()) : nil }
    }
}

/// An operation's input, however it arrived.
public struct OperationRequest: Sendable {
    public var path: [String: String] = [:]
    public var query: [String: String] = [:]
    public var body: [UInt8] = []
    /// The body as it arrives, for an operation that `streamsBody` (REST only).
    public var bodyStream: StreamedBody?
    /// Set when the body is already parsed (JSON-RPC params).
    public var parsedBody: JSONValue?
    public var contentType: String?
    public var accept: String?
    public var headers: [String: String] = [:]
    /// The caller's address as the connection shows it.
    public var remoteIP: String = ""
    /// How it came: rest, jsonrpc (over HTTP or WebSocket); named in audit records.
    public var transport = "rest"
    /// What the access check allowed (`OperationRunner` sets it).
    public var grant = Grant()
    /// For a watch: how its transport ends it (`WatchControl`).
    public var watchControl: WatchControl?

    public init() {}

    func pathValue(_ name: String) -> String { path[name] ?? "" }
    func flag(_ name: String) -> Bool { ["true", "1"].contains(query[name]?.lowercased() ?? "") }
}

/// An operation's output, before a transport encodes it.
public enum OperationResult: Sendable {
    /// A resource (REST may render it as a kubectl Table).
    case resource(ResourceObject, status: Int, warnings: [String])
    /// A list of resources (REST may render it as a kubectl Table).
    case list(ListPage)
    /// Any other JSON document.
    case json(JSONValue, status: Int)
    /// Bytes with their own content type (iPXE scripts, rendered configs, OpenAPI YAML).
    case bytes([UInt8], contentType: String, status: Int, headers: [(String, String)])
    /// Part or all of a file, sent in pieces (files inside an ISO).
    case file(FileSlice)
    /// A watch stream.
    case watch(ResourceKind, AsyncStream<WatchItem>)
}
