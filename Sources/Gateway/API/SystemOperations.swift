/// Discovery (what kubectl reads first), version, health and the API description.
enum SystemOperations {
    static func all() -> [Operation] {
        let json = [Operation.Response(200, "Discovery document", schema: "Object")]
        return [
            Operation(id: "discovery.api", method: .get, path: "/api", summary: "Kubernetes API versions (kubectl discovery)", tag: "discovery",
                      parameters: [], body: nil, responses: json) { _, _ throws(APIError) in
                .json(.object(JSONObject([("kind", "APIVersions"), ("versions", ["v1"]),
                                          ("serverAddressByClientCIDRs", [["clientCIDR": "0.0.0.0/0", "serverAddress": ""]])])), status: 200)
            },
            Operation(id: "discovery.apis", method: .get, path: "/apis", summary: "API groups (none: every kind is in the core v1 group, as in mkube)", tag: "discovery",
                      parameters: [], body: nil, responses: json) { _, _ throws(APIError) in
                .json(.object(JSONObject([("kind", "APIGroupList"), ("apiVersion", "v1"), ("groups", .array([]))])), status: 200)
            },
            Operation(id: "discovery.resources", method: .get, path: "/api/v1", summary: "Resources of v1 with short names and verbs", tag: "discovery",
                      parameters: [], body: nil, responses: json) { _, _ throws(APIError) in
                let resources: [JSONValue] = ResourceKind.allCases.map { k in
                    .object(JSONObject([
                        ("name", .string(k.plural)), ("singularName", .string(k.singular)), ("namespaced", .bool(k.namespaced)),
                        ("kind", .string(k.rawValue)),
                        ("verbs", k.isEvent ? ["get", "list", "watch"] : ["create", "delete", "get", "list", "patch", "update", "watch"]),
                        ("shortNames", .array(k.shortNames.map { .string($0) })),
                        // `kubectl get all` lists objects, not the event log.
                        ("categories", k.isEvent ? ["bootgate"] : ["all", "bootgate"]),
                    ]))
                }
                return .json(.object(JSONObject([("kind", "APIResourceList"), ("apiVersion", "v1"), ("groupVersion", "v1"), ("resources", .array(resources))])), status: 200)
            },
            Operation(id: "system.metrics", method: .get, path: "/metrics",
                      summary: "Boot requests by route and result, config renders and refusals by format, render and commit latency, watchers, store size and health, in Prometheus text format", tag: "system",
                      parameters: [], body: nil, responses: [.init(200, "Prometheus text exposition format 0.0.4", contentTypes: ["text/plain"])]) { service, _ throws(APIError) in
                .bytes(service.metrics.exposition(service), contentType: "text/plain; version=0.0.4; charset=utf-8", status: 200, headers: [])
            },
            Operation(id: "system.violations", method: .get, path: "/api/v1/violations",
                      summary: "Objects that break the seed's rules (data from mkube, which never checked them), with what each breaks (items), and the hosts that cannot boot as meant yet (warnings)", tag: "system",
                      parameters: [], body: nil, responses: [.init(200, "Violations", schema: "Object")]) { service, _ throws(APIError) in
                // `items`: what breaks a rule, as before; `warnings`: what cannot boot as meant yet.
                let findings = service.allRuleFindings()
                func entry(_ v: (key: ObjectKey, problems: [String], warnings: [String]), _ field: String, _ texts: [String]) -> JSONValue {
                    .object(JSONObject([("kind", .string(v.key.kind.rawValue)), ("namespace", .string(v.key.namespace)), ("name", .string(v.key.name)),
                                        (field, .array(texts.map { .string($0) }))]))
                }
                let items = findings.filter { !$0.problems.isEmpty }.map { entry($0, "problems", $0.problems) }
                let warned = findings.filter { !$0.warnings.isEmpty }.map { entry($0, "warnings", $0.warnings) }
                return .json(.object(JSONObject([("kind", "ViolationList"), ("items", .array(items)), ("warnings", .array(warned))])), status: 200)
            },
            Operation(id: "system.version", method: .get, path: "/version", summary: "Server version", tag: "system",
                      parameters: [], body: nil, responses: [.init(200, "Version", schema: "Object")]) { _, _ throws(APIError) in
                .json(.object(JSONObject([("major", "0"), ("minor", "1"), ("gitVersion", .string("v" + GatewayVersion.string)),
                                          ("platform", "linux/amd64"), ("server", "bootgate")])), status: 200)
            },
            Operation(id: "system.health", method: .get, path: "/healthz", summary: "Liveness and readiness", tag: "system",
                      parameters: [], body: nil, responses: [.init(200, "ok", contentTypes: ["text/plain"])]) { service, _ throws(APIError) in
                .bytes(Array(service.healthText.utf8), contentType: "text/plain; charset=utf-8", status: 200, headers: [])
            },
            Operation(id: "system.openapiYAML", method: .get, path: "/openapi.yaml", summary: "This API's OpenAPI 3.1 description (YAML)", tag: "system",
                      parameters: [], body: nil, responses: [.init(200, "OpenAPI document", contentTypes: ["application/yaml"])]) { _, _ throws(APIError) in
                .bytes(Array(OpenAPIDocument.yaml.utf8), contentType: "application/yaml", status: 200, headers: [])
            },
            Operation(id: "discovery.openapiV3", method: .get, path: "/openapi/v3", summary: "OpenAPI v3 discovery, as kubectl reads it", tag: "discovery",
                      parameters: [], body: nil, responses: json) { _, _ throws(APIError) in
                .json(["paths": ["api/v1": ["serverRelativeURL": .string("/openapi/v3/api/v1?hash=" + OpenAPIDocument.hash)]]], status: 200)
            },
            Operation(id: "discovery.openapiV3Core", method: .get, path: "/openapi/v3/api/v1", summary: "The OpenAPI document for the v1 group, in the OpenAPI 3.0 form Kubernetes serves (kubectl explain, field validation)", tag: "discovery",
                      parameters: [.init("hash", "Cache key from /openapi/v3")], body: nil, responses: json) { _, _ throws(APIError) in
                .json(OpenAPIDocument.kubernetes, status: 200)
            },
            Operation(id: "system.openapiJSON", method: .get, path: "/openapi.json", summary: "This API's OpenAPI 3.1 description (JSON)", tag: "system",
                      parameters: [], body: nil, responses: [.init(200, "OpenAPI document", schema: "Object")]) { _, _ throws(APIError) in
                .json(OpenAPIDocument.json, status: 200)
            },
        ]
    }
}

/// Every operation bootgate offers; REST, JSON-RPC and the OpenAPI document all come from here.
public enum OperationTable {
    public static let all: [Operation] = (ResourceOperations.all() + MkubeActionOperations.all() + ISOOperations.all() + PowerOperations.all() + BootOperations.all() + SystemOperations.all()).map { op in
        var op = op
        op.access = op.access ?? AccessPolicy.need(op)
        return op
    }
}
