/// The OpenAPI 3.1 description, generated from `OperationTable` and the kinds' `ObjectSchema`s,
/// so it cannot drift from what the server does. `openapi/openapi.yaml` is this document checked
/// in (`bootgate openapi > openapi/openapi.yaml`); a test fails when they differ.
public enum OpenAPIDocument {
    public static let json: JSONValue = build(OperationTable.all)
    public static let yaml: String = YAMLWriter.string(json)
    /// A short digest of the document, so clients can cache it by URL.
    public static let hash: String = {
        var h: UInt64 = 0xcbf29ce484222325
        for b in yaml.utf8 { h = (h ^ UInt64(b)) &* 0x100000001b3 }
        return String(h, radix: 16)
    }()

    /// The document as the Kubernetes API server serves it at `/openapi/v3/api/v1`: OpenAPI
    /// 3.0, where a nullable field is `type: T` with `nullable: true` rather than 3.1's
    /// `type: [T, "null"]` (`kubectl explain` compares `type` with a string and fails otherwise).
    public static let kubernetes: JSONValue = {
        var doc = openAPI30(json)
        doc["openapi"] = "3.0.0"
        return doc
    }()

    static func openAPI30(_ value: JSONValue) -> JSONValue {
        switch value {
        case .array(let items):
            return .array(items.map(openAPI30))
        case .object(let o):
            var out = JSONObject()
            for (k, v) in o {
                if k == "type", case .array(let types) = v {
                    let named = types.filter { $0 != "null" }
                    out[k] = named.count == 1 ? named[0] : v
                    if named.count < types.count { out["nullable"] = true }
                } else if k == "enum", case .array(let allowed) = v {
                    out[k] = .array(allowed.filter { $0 != .null })
                } else {
                    out[k] = openAPI30(v)
                }
            }
            return .object(out)
        default:
            return value
        }
    }

    static func build(_ operations: [Operation]) -> JSONValue {
        var paths = JSONObject()
        for path in orderedPaths(operations) {
            var item = JSONObject()
            for op in operations where op.path == path {
                item[op.method.rawValue.lowercased()] = operation(op)
            }
            paths[path] = .object(item)
        }
        paths["/rpc"] = rpcPath
        return .object(JSONObject([
            ("openapi", "3.1.0"),
            ("info", .object(JSONObject([
                ("title", "bootgate"),
                ("version", .string(GatewayVersion.string)),
                ("description", "Decides and serves how bare-metal servers boot. Kubernetes-style REST (wire-compatible with mkube) with watch; every operation is also a JSON-RPC 2.0 method named by its operationId."),
            ]))),
            ("paths", .object(paths)),
            ("components", .object(JSONObject([("schemas", .object(schemas())), ("securitySchemes", securitySchemes)]))),
            // Bearer tokens when the server has a token file (`serve --token-file`); open otherwise.
            ("security", [["bearer": .array([])]]),
        ]))
    }

    /// The JSON-RPC transport itself; its methods are described by the OpenRPC document.
    static let rpcPath: JSONValue = .object(JSONObject([("post", .object(JSONObject([
        ("operationId", "rpc.call"),
        ("summary", "JSON-RPC 2.0: every operationId here is a method (params by name); see openapi/openrpc.json or rpc.discover"),
        ("tags", ["rpc"]),
        ("requestBody", .object(JSONObject([("required", true), ("content", ["application/json": ["schema": .object(JSONObject([
            ("oneOf", [["type": "object"], ["type": "array", "items": ["type": "object"]]])]))]])]))),
        ("responses", .object(JSONObject([
            ("200", ["description": "Response or batch of responses", "content": ["application/json": ["schema": .object(JSONObject([
                ("oneOf", [["$ref": "#/components/schemas/RPCResponse"], ["type": "array", "items": ["$ref": "#/components/schemas/RPCResponse"]]])]))]]]),
            ("204", ["description": "Only notifications: nothing to answer"]),
            ("default", .object(JSONObject([("description", "Error, as a Kubernetes Status"),
                                            ("content", ["application/json": ["schema": ["$ref": "#/components/schemas/Status"]]])]))),
        ]))),
    ])))]))

    static let securitySchemes: JSONValue = ["bearer": .object(JSONObject([
        ("type", "http"), ("scheme", "bearer"),
        ("description", "A token from `bootgate token create`; its role (viewer, operator, bmc-agent, admin) decides what it may do (x-bootgate-access). Without a token file on the server, no token is needed."),
    ]))]

    static func orderedPaths(_ operations: [Operation]) -> [String] {
        var seen = Set<String>()
        return operations.map(\.path).filter { seen.insert($0).inserted }
    }

    static func ref(_ name: String) -> JSONValue { .object(JSONObject([("$ref", .string("#/components/schemas/\(name)"))])) }

    static func operation(_ op: Operation) -> JSONValue {
        var o = JSONObject([("operationId", .string(op.id)), ("summary", .string(op.summary)), ("tags", .array([.string(op.tag)]))])
        if let kube = op.kube {
            o["x-kubernetes-action"] = .string(kube.action)
            o["x-kubernetes-group-version-kind"] = .object(JSONObject([("group", ""), ("version", "v1"), ("kind", .string(kube.kind.rawValue))]))
        }
        if !op.parameters.isEmpty {
            o["parameters"] = .array(op.parameters.map { p in
                var schema = JSONObject([("type", .string(p.type))])
                if let allowed = p.allowed { schema["enum"] = .array(allowed.map { .string($0) }) }
                return .object(JSONObject([("name", .string(p.name)), ("in", .string(p.location.rawValue)), ("required", .bool(p.required || p.location == .path)),
                                           ("description", .string(p.description)), ("schema", .object(schema))]))
            })
        }
        if let body = op.body {
            var content = JSONObject()
            for t in body.contentTypes {
                // A raw body is the bytes themselves, whatever the operation's form schema.
                let schema: JSONValue = t == "application/octet-stream" ? ["type": "string", "format": "binary"] : body.schema.map(ref) ?? .object(JSONObject())
                content[t] = .object(JSONObject([("schema", schema)]))
            }
            o["requestBody"] = .object(JSONObject([("required", .bool(body.required)), ("content", .object(content))]))
        }
        let access = AccessPolicy.describe(op)
        o["x-bootgate-access"] = .string(access.text)
        if !access.needsToken { o["security"] = .array([]) }
        var responses = JSONObject()
        for r in op.responses {
            var content = JSONObject()
            for t in r.contentTypes {
                content[t] = .object(JSONObject([("schema", r.schema.map(ref) ?? .object(JSONObject()))]))
            }
            responses[String(r.status)] = .object(JSONObject([("description", .string(r.description)), ("content", .object(content))]))
        }
        responses["default"] = .object(JSONObject([("description", "Error, as a Kubernetes Status"),
                                                   ("content", .object(JSONObject([("application/json", .object(JSONObject([("schema", ref("Status"))])))])))]))
        o["responses"] = .object(responses)
        return .object(o)
    }

    static func schemas() -> JSONObject {
        var s = JSONObject()
        for kind in ResourceKind.allCases {
            var kindSchema = schema(.object(kind.schema), description: "\(kind.rawValue) (\(kind.namespaced ? "namespaced" : "cluster-scoped"), short name \(kind.shortNames[0]))")
            // How `kubectl explain` finds a kind's schema.
            kindSchema["x-kubernetes-group-version-kind"] = gvk(kind.rawValue)
            s[kind.rawValue] = kindSchema
            s[kind.listKind] = .object(JSONObject([
                ("type", "object"),
                ("properties", .object(JSONObject([
                    ("kind", ["type": "string"]), ("apiVersion", ["type": "string"]),
                    ("metadata", .object(JSONObject([("type", "object"), ("properties", .object(JSONObject([
                        ("resourceVersion", ["type": "string"]),
                        ("continue", .object(JSONObject([("type", "string"), ("description", "Set when more items follow: pass it as `continue` for the next page")]))),
                        ("remainingItemCount", .object(JSONObject([("type", "integer"), ("description", "Items after this page (only without selectors)")]))),
                    ])))]))),
                    ("items", .object(JSONObject([("type", "array"), ("items", ref(kind.rawValue))]))),
                ]))),
                ("required", ["kind", "apiVersion", "metadata", "items"]),
                ("x-kubernetes-group-version-kind", gvk(kind.listKind)),
            ]))
        }
        s["Status"] = .object(JSONObject([
            ("type", "object"),
            ("description", "Kubernetes Status: errors, and the success body of DELETE"),
            ("properties", .object(JSONObject([
                ("kind", ["type": "string"]), ("apiVersion", ["type": "string"]),
                ("metadata", .object(JSONObject([("type", "object"), ("properties", .object(JSONObject([
                    ("continue", .object(JSONObject([("type", "string"), ("description", "On 410 Expired for a paged list: a token that reads the rest from the current state")]))),
                ])))]))),
                ("status", ["type": "string"]), ("message", ["type": "string"]), ("reason", ["type": "string"]),
                ("code", ["type": "integer"]),
                ("details", .object(JSONObject([("type", "object"), ("properties", .object(JSONObject([
                    ("name", ["type": "string"]), ("kind", ["type": "string"]), ("uid", ["type": "string"]),
                    ("causes", .object(JSONObject([("type", "array"), ("items", .object(JSONObject([("type", "object"), ("properties", [
                        "field": ["type": "string"], "message": ["type": "string"], "reason": ["type": "string"],
                    ])])))]))),
                ])))]))),
            ]))),
            ("required", ["kind", "status"]),
        ]))
        s["Patch"] = .object(JSONObject([
            ("description", "A JSON merge patch (object) or a JSON Patch (array of operations)"),
            ("oneOf", [["type": "object"], ["type": "array", "items": ["type": "object"]]]),
        ]))
        s["Object"] = ["type": "object"]
        s["RPCResponse"] = .object(JSONObject([
            ("type", "object"),
            ("properties", .object(JSONObject([
                ("jsonrpc", ["type": "string", "enum": ["2.0"]]), ("result", .object(JSONObject())),
                ("error", ["type": "object", "properties": ["code": ["type": "integer"], "message": ["type": "string"], "data": .object(JSONObject())], "required": ["code", "message"]]),
                ("id", ["type": ["string", "number", "null"]]),
            ]))),
            ("required", ["jsonrpc", "id"]),
        ]))
        s["ISOUpload"] = .object(JSONObject([
            ("type", "object"),
            ("properties", ["iso": ["type": "string", "format": "binary", "description": "The ISO image (curl -F iso=@file.iso); other fields are ignored"]]),
            ("required", ["iso"]),
        ]))
        s["DeriveRequest"] = .object(JSONObject([
            ("type", "object"),
            ("properties", ["name": ["type": "string"], "description": ["type": "string"], "version": ["type": "string"],
                            "operations": ["type": "array", "items": ["type": "object", "properties": [
                                "op": ["type": "string", "enum": ["replace", "delete"]], "path": ["type": "string"],
                                "content": ["type": "string", "format": "byte", "description": "replace: the new bytes, base64"]], "required": ["op", "path"]]]]),
            ("required", ["name"]),
        ]))
        s["Subscriber"] = .object(JSONObject([
            ("type", "object"),
            ("properties", ["name": ["type": "string"], "initiatorIQN": ["type": "string"]]),
            ("required", ["name"]),
        ]))
        s["PowerRequest"] = .object(JSONObject([
            ("type", "object"),
            ("properties", ["action": ["type": "string", "enum": ["on", "off", "restart"],
                                       "description": "on and off set spec.online; restart powers the host off and on once (on if it is off) and leaves spec.online true. Into an install image, the next boot is from the network, once"]]),
            ("required", ["action"]),
        ]))
        s["PowerAccepted"] = .object(JSONObject([
            ("type", "object"),
            ("properties", ["host": ["type": "string"], "action": ["type": "string"], "message": ["type": "string"],
                            "powerControl": ["type": "boolean", "description": "Whether bootgate drives the BMC (else only spec.online was written)"]]),
            ("required", ["host", "action", "powerControl", "message"]),
        ]))
        s["PowerReading"] = .object(JSONObject([
            ("type", "object"),
            ("properties", .object(JSONObject([
                ("host", ["type": "string", "description": "namespace/name"]),
                ("address", ["type": "string", "description": "The BMC as bootgate reads spec.bmc.address"]),
                ("protocol", ["type": "string", "description": "IPMI or Redfish"]),
                ("poweredOn", ["type": ["boolean", "null"]]),
                ("readAt", ["type": ["string", "null"], "description": "RFC 3339 time of the last successful read"]),
                ("checkedAt", ["type": ["string", "null"], "description": "RFC 3339 time of the last attempt"]),
                ("error", ["type": ["object", "null"], "properties": ["reason": ["type": "string"], "message": ["type": "string"]]]),
                ("action", ["type": ["string", "null"], "description": "The power action running now"]),
                ("source", ["type": "string", "enum": ["bmc", "store"],
                            "description": "bmc: read from the BMC by this replica; store: another replica drives the BMCs, and this is status.poweredOn and the BMCConnected condition as it stored them (no read times)"]),
            ]))),
            ("required", ["host"]),
        ]))
        s["PowerReadingList"] = .object(JSONObject([
            ("type", "object"),
            ("properties", ["powerControl": ["type": "boolean"], "items": ["type": "array", "items": ref("PowerReading")]]),
            ("required", ["powerControl", "items"]),
        ]))
        s["BootComplete"] = .object(JSONObject([
            ("type", "object"),
            ("properties", ["nextBootConfig": ["type": "string", "description": "Config the installed system gets next; \"\" for none. Else the host's bootgate.io/next-boot-config annotation, else that of its installer config, else none: bootConfigRef is cleared"]]),
        ]))
        s["Preview"] = .object(JSONObject([
            ("type", "object"),
            ("properties", .object(JSONObject([
                ("host", ["type": "string"]), ("ipxe", ["type": ["string", "null"]]),
                ("config", ["type": ["object", "null"], "properties": ["name": ["type": "string"], "file": ["type": "string"], "contentType": ["type": "string"], "body": ["type": "string"]]]),
                ("problems", ["type": "array", "items": ["type": "string"]]),
            ]))),
            ("required", ["host", "ipxe", "config", "problems"]),
        ]))
        s["EventList"] = .object(JSONObject([
            ("type", "object"),
            ("properties", ["kind": ["type": "string"], "items": ["type": "array", "items": ["type": "object", "properties": [
                "time": ["type": "string"], "type": ["type": "string"], "host": ["type": "string"], "mac": ["type": "string"],
                "ip": ["type": "string"], "detail": ["type": "string"], "secondsSincePrevious": ["type": "number"],
            ]]]]),
        ]))
        s["WatchEvent"] = .object(JSONObject([
            ("type", "object"),
            ("properties", ["type": ["type": "string", "enum": ["ADDED", "MODIFIED", "DELETED", "BOOKMARK", "ERROR"]], "object": ["type": "object"]]),
            ("required", ["type", "object"]),
        ]))
        return s
    }

    static func gvk(_ kind: String) -> JSONValue {
        .array([.object(JSONObject([("group", ""), ("kind", .string(kind)), ("version", "v1")]))])
    }

    static func schema(_ type: FieldType, description: String = "") -> JSONValue {
        var o = JSONObject()
        func nullable(_ t: String) -> JSONValue { .array([.string(t), "null"]) }
        switch type {
        case .string(let allowed):
            o["type"] = nullable("string")
            if let allowed { o["enum"] = .array(allowed.map { .string($0) } + [.string(""), .null]) }
        case .bool: o["type"] = nullable("boolean")
        case .int: o["type"] = nullable("integer")
        case .number: o["type"] = nullable("number")
        case .any: break
        case .array(let element):
            o["type"] = nullable("array")
            o["items"] = schema(element)
        case .map(let element):
            o["type"] = nullable("object")
            o["additionalProperties"] = schema(element)
        case .object(let obj):
            o["type"] = nullable("object")
            var props = JSONObject()
            for f in obj.fields { props[f.name] = schema(f.type, description: f.description) }
            o["properties"] = .object(props)
            o["additionalProperties"] = false
        }
        if !description.isEmpty { o["description"] = .string(description) }
        return .object(o)
    }
}

/// A small YAML emitter for JSON documents (block style; strings quoted when YAML would
/// otherwise read them as something else). With `literalBlocks`, multi-line strings (a boot
/// config's files) are written as `|` blocks a person can read, as kubectl does.
public enum YAMLWriter {
    public static func string(_ value: JSONValue, literalBlocks: Bool = false) -> String {
        var out = ""
        emit(value, indent: 0, into: &out, inline: false, blocks: literalBlocks)
        return out
    }

    private static func scalar(_ v: JSONValue) -> String? {
        switch v {
        case .null: return "null"
        case .bool(let b): return b ? "true" : "false"
        case .int(let i): return String(i)
        case .double(let d): return String(d)
        case .string(let s): return quote(s)
        case .array(let a) where a.isEmpty: return "[]"
        case .object(let o) where o.isEmpty: return "{}"
        default: return nil
        }
    }

    static func quote(_ s: String) -> String {
        let plainSafe = !s.isEmpty && s.allSatisfy { $0.isLetter || $0.isNumber || " _-./()".contains($0) }
            && !s.hasPrefix(" ") && !s.hasSuffix(" ") && !s.hasPrefix("-") && Double(s) == nil && Int(s) == nil
            && !["true", "false", "null", "yes", "no", "on", "off", "~", "y", "n"].contains(s.lowercased())
        return plainSafe ? s : JSONWriter.string(.string(s))
    }

    /// A `|` block for a multi-line string that reads back the same: printable text (tabs
    /// allowed), not starting with a space, whose lines carry no trailing blanks.
    private static func block(_ s: String, indent: Int) -> String? {
        guard s.contains("\n"), !s.hasPrefix(" "), !s.hasPrefix("\n"),
              s.unicodeScalars.allSatisfy({ $0 == "\n" || $0 == "\t" || ($0.value >= 0x20 && $0.value != 0x7F && $0.value != 0xFEFF) })
        else { return nil }
        var body = Substring(s)
        var chomp = "-"
        if body.hasSuffix("\n") {
            body = body.dropLast()
            chomp = body.hasSuffix("\n") ? "+" : ""
        }
        let lines = body.split(separator: "\n", omittingEmptySubsequences: false)
        guard lines.allSatisfy({ $0.last != " " && $0.last != "\t" }) else { return nil }
        if chomp == "+" { return nil }
        let pad = String(repeating: "  ", count: indent)
        return "|" + chomp + "\n" + lines.map { $0.isEmpty ? "" : pad + $0 }.joined(separator: "\n") + "\n"
    }

    private static func emit(_ value: JSONValue, indent: Int, into out: inout String, inline: Bool, blocks: Bool) {
        let pad = String(repeating: "  ", count: indent)
        switch value {
        case .object(let o) where !o.isEmpty:
            var first = true
            for (k, v) in o {
                if !(inline && first) { out += pad }
                first = false
                out += quote(k) + ":"
                if blocks, case .string(let s) = v, let b = block(s, indent: indent + 1) {
                    out += " " + b
                } else if let s = scalar(v) { out += " " + s + "\n" } else {
                    out += "\n"
                    emit(v, indent: indent + 1, into: &out, inline: false, blocks: blocks)
                }
            }
        case .array(let a) where !a.isEmpty:
            for v in a {
                out += pad + "- "
                if blocks, case .string(let s) = v, let b = block(s, indent: indent + 1) {
                    out += b
                } else if let s = scalar(v) { out += s + "\n" } else { emit(v, indent: indent + 1, into: &out, inline: true, blocks: blocks) }
            }
        default:
            out += pad + (scalar(value) ?? "") + "\n"
        }
    }
}
