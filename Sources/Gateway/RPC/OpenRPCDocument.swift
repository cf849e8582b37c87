/// The OpenRPC description of the JSON-RPC transport, generated from `OperationTable` like the
/// OpenAPI document, so the two cannot disagree. Returned by `rpc.discover`; checked in as
/// `openapi/openrpc.json`.
public enum OpenRPCDocument {
    public static let json: JSONValue = build(OperationTable.all)

    static func build(_ operations: [Operation]) -> JSONValue {
        var methods: [JSONValue] = operations.map(method)
        methods.append(.object(JSONObject([
            ("name", "rpc.discover"), ("summary", "This OpenRPC document"), ("params", .array([])),
            ("result", ["name": "openrpc", "schema": ["type": "object"]]),
        ])))
        methods.append(.object(JSONObject([
            ("name", "rpc.unsubscribe"), ("summary", "WebSocket only: stop a watch subscription"), ("paramStructure", "by-name"),
            ("params", [["name": "subscription", "required": true, "schema": ["type": "string"]]]),
            ("result", ["name": "stopped", "schema": ["type": "boolean"]]),
        ])))
        return .object(JSONObject([
            ("openrpc", "1.2.6"),
            ("info", .object(JSONObject([
                ("title", "bootgate JSON-RPC"), ("version", .string(GatewayVersion.string)),
                ("description", "JSON-RPC 2.0 at POST /rpc (single, batch, notifications) and over the WebSocket /rpc/ws. Each method is the REST operation of the same operationId: params are its path and query parameters and `body` by name, the result is the REST response's JSON. Errors: the standard codes, or the HTTP status as code with the Kubernetes Status as data. Over the WebSocket a list method with `watch: true` returns {subscription} and sends `watch.event` notifications {subscription, type, object}, then `watch.end`."),
            ]))),
            ("servers", [["name": "bootgate", "url": "/rpc"]]),
            ("methods", .array(methods)),
            ("components", .object(JSONObject([("schemas", .object(OpenAPIDocument.schemas()))]))),
        ]))
    }

    static func method(_ op: Operation) -> JSONValue {
        var params: [JSONValue] = op.parameters.map { p in
            var schema = JSONObject([("type", .string(p.type))])
            if let allowed = p.allowed { schema["enum"] = .array(allowed.map { .string($0) }) }
            return .object(JSONObject([("name", .string(p.name)), ("description", .string(p.description)),
                                       ("required", .bool(p.required || p.location == .path)), ("schema", .object(schema))]))
        }
        if let body = op.body {
            params.append(.object(JSONObject([("name", "body"), ("required", .bool(body.required)),
                                               ("schema", body.schema.map(OpenAPIDocument.ref) ?? ["type": "object"])])))
        }
        if op.method == .patch {
            params.append(["name": "patchType", "description": "merge (RFC 7386, default) or json (RFC 6902)",
                           "schema": ["type": "string", "enum": ["merge", "json"]]])
        }
        let success = op.responses.first { $0.status < 300 }
        let resultSchema: JSONValue = success?.schema.map(OpenAPIDocument.ref) ?? ["type": "string"]
        return .object(JSONObject([
            ("name", .string(op.id)), ("summary", .string(op.summary)), ("tags", [["name": .string(op.tag)]]),
            ("paramStructure", "by-name"), ("params", .array(params)),
            ("result", .object(JSONObject([("name", "result"), ("schema", resultSchema)]))),
        ]))
    }
}
