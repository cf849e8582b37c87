/// list, get, create, replace, patch, delete (and watch through list) for the three kinds,
/// on mkube's paths.
enum ResourceOperations {
    static func all() -> [Operation] {
        ResourceKind.allCases.flatMap(operations(for:))
    }

    static let selectorParameters: [Operation.Parameter] = [
        .init("labelSelector", "Kubernetes label selector, e.g. `rack=r1,role in (builder)`"),
        .init("fieldSelector", "Field selector, e.g. `spec.image=coreos-live` (supported fields are listed in README)"),
        .init("includeSecrets", "Return BMC passwords (`spec.bmc.password`); they are omitted otherwise", type: "boolean"),
    ]
    static let watchParameters: [Operation.Parameter] = [
        .init("watch", "Stream changes as newline-delimited JSON events instead of returning a list", type: "boolean"),
        .init("resourceVersion", "Watch: start after this revision (410 when too old); empty or 0 starts with the current state"),
        .init("allowWatchBookmarks", "Watch: send BOOKMARK events (also used as keep-alives)", type: "boolean"),
        .init("timeoutSeconds", "Watch: end the stream after this many seconds", type: "integer"),
        .init("limit", "Accepted for kubectl; every item is returned", type: "integer"),
    ]
    static let writeParameters: [Operation.Parameter] = [
        .init("fieldValidation", "How to treat unknown fields: Strict (default, 400), Warn (dropped, Warning header) or Ignore", allowed: FieldValidation.allCases.map(\.rawValue)),
        .init("dryRun", "`All`: validate and return the result without storing it", allowed: ["All"]),
        .init("includeSecrets", "Return BMC passwords in the response", type: "boolean"),
    ]

    static func operations(for kind: ResourceKind) -> [Operation] {
        let p = kind.operationPrefix
        let collection = kind.namespaced ? "/api/v1/namespaces/{namespace}/\(kind.plural)" : "/api/v1/\(kind.plural)"
        let item = collection + "/{name}"
        let ns: [Operation.Parameter] = kind.namespaced ? [.init("namespace", "Namespace", in: .path, required: true)] : []
        let nameParam: [Operation.Parameter] = [.init("name", "Object name", in: .path, required: true)]
        let schema = kind.rawValue
        let errors = [Operation.Response(400, "Invalid request; the Status names the field at fault", schema: "Status"),
                      Operation.Response(404, "Not found", schema: "Status"),
                      Operation.Response(409, "Conflict (stale resourceVersion, existing object, or a reference in use)", schema: "Status")]
        let writeBody = Operation.Body(schema: schema, contentTypes: ["application/json", "application/yaml"], required: true)
        let listResponses = [Operation.Response(200, "The list, or a watch stream (newline-delimited WatchEvent objects) with watch=true",
                                                schema: kind.listKind, contentTypes: ["application/json", "application/json;stream=watch"]),
                             Operation.Response(400, "Invalid selector", schema: "Status"),
                             Operation.Response(410, "resourceVersion too old", schema: "Status")]

        var ops: [Operation] = [
            Operation(id: "\(p).list", method: .get, path: collection, summary: "List or watch \(kind.plural)", tag: kind.rawValue,
                      parameters: ns + selectorParameters + watchParameters, body: nil, responses: listResponses) { service, req throws(APIError) in
                try await listOrWatch(service, kind, req, namespace: kind.namespaced ? req.pathValue("namespace") : nil)
            },
            Operation(id: "\(p).create", method: .post, path: collection, summary: "Create a \(kind.rawValue)", tag: kind.rawValue,
                      parameters: ns + writeParameters, body: writeBody,
                      responses: [.init(201, "Created", schema: schema)] + errors) { service, req throws(APIError) in
                let out = try await service.create(kind, namespace: kind.namespaced ? req.pathValue("namespace") : nil,
                                                   body: try RequestBody.decode(req), options: try writeOptions(req))
                return .resource(out.object, status: 201, warnings: out.warnings)
            },
            Operation(id: "\(p).get", method: .get, path: item, summary: "Read a \(kind.rawValue)", tag: kind.rawValue,
                      parameters: ns + nameParam + [selectorParameters[2]], body: nil,
                      responses: [.init(200, "The object", schema: schema), errors[1]]) { service, req throws(APIError) in
                let key = key(kind, req)
                return .resource(try service.get(key, includeSecrets: req.flag("includeSecrets")), status: 200, warnings: service.readWarnings(key))
            },
            Operation(id: "\(p).replace", method: .put, path: item,
                      summary: kind == .bareMetalHost ? "Replace a BareMetalHost (fields not sent are kept, as mkube does)" : "Replace a \(kind.rawValue)",
                      tag: kind.rawValue, parameters: ns + nameParam + writeParameters, body: writeBody,
                      responses: [.init(200, "Replaced", schema: schema)] + errors) { service, req throws(APIError) in
                let out = try await service.replace(key(kind, req), body: try RequestBody.decode(req), options: try writeOptions(req))
                return .resource(out.object, status: 200, warnings: out.warnings)
            },
            Operation(id: "\(p).patch", method: .patch, path: item,
                      summary: "Patch a \(kind.rawValue): JSON merge patch (application/merge-patch+json or application/json) or JSON Patch (application/json-patch+json)",
                      tag: kind.rawValue, parameters: ns + nameParam + writeParameters,
                      body: .init(schema: "Patch", contentTypes: ["application/merge-patch+json", "application/json", "application/json-patch+json"], required: true),
                      responses: [.init(200, "Patched", schema: schema), .init(415, "Unsupported patch type", schema: "Status")] + errors) { service, req throws(APIError) in
                let out = try await service.patch(key(kind, req), patch: try RequestBody.decode(req), type: try RequestBody.patchType(req), options: try writeOptions(req))
                return .resource(out.object, status: 200, warnings: out.warnings)
            },
            Operation(id: "\(p).delete", method: .delete, path: item, summary: "Delete a \(kind.rawValue) (refused while referenced)", tag: kind.rawValue,
                      parameters: ns + nameParam + [writeParameters[1]], body: nil,
                      responses: [.init(200, "Deleted", schema: "Status")] + errors.suffix(2)) { service, req throws(APIError) in
                let k = key(kind, req)
                let deleted = try await service.delete(k, options: try writeOptions(req))
                var status = JSONObject([("kind", "Status"), ("apiVersion", "v1"), ("metadata", .object(JSONObject())), ("status", "Success"),
                                         ("message", .string("\(kind.displayName) \"\(k.name)\" deleted"))])
                status["details"] = .object(JSONObject([("name", .string(k.name)), ("kind", .string(kind.plural)),
                                                        ("uid", .string(deleted.string("metadata", "uid")))]))
                return .json(.object(status), status: 200)
            },
        ]
        let actions = ["list": "list", "create": "post", "get": "get", "replace": "put", "patch": "patch", "delete": "delete"]
        for i in ops.indices {
            ops[i].kube = (kind, actions[String(ops[i].id.split(separator: ".").last!)] ?? "get")
        }
        if kind.namespaced {
            ops.append(Operation(id: "\(p).listAllNamespaces", method: .get, path: "/api/v1/\(kind.plural)",
                                 summary: "List or watch \(kind.plural) in all namespaces", tag: kind.rawValue,
                                 parameters: selectorParameters + watchParameters, body: nil, responses: listResponses) { service, req throws(APIError) in
                try await listOrWatch(service, kind, req, namespace: nil)
            })
        }
        return ops
    }

    static func key(_ kind: ResourceKind, _ req: OperationRequest) -> ObjectKey {
        ObjectKey(kind, namespace: req.pathValue("namespace"), name: req.pathValue("name"))
    }

    static func listQuery(_ kind: ResourceKind, _ req: OperationRequest, namespace: String?) throws(APIError) -> Service.ListQuery {
        var q = Service.ListQuery(namespace: namespace, includeSecrets: req.flag("includeSecrets"))
        if let l = req.query["labelSelector"], !l.isEmpty { q.labelSelector = try LabelSelector(parsing: l) }
        if let f = req.query["fieldSelector"], !f.isEmpty { q.fieldSelector = try FieldSelector(parsing: f, kind: kind) }
        return q
    }

    static func listOrWatch(_ service: Service, _ kind: ResourceKind, _ req: OperationRequest, namespace: String?) async throws(APIError) -> OperationResult {
        let query = try listQuery(kind, req, namespace: namespace)
        guard req.flag("watch") else {
            var query = query
            query.joinNetworks = true
            let (items, revision) = service.list(kind, query)
            return .list(kind, items, revision: revision)
        }
        var timeout: Int?
        if let t = req.query["timeoutSeconds"], !t.isEmpty {
            guard let v = Int(t), v >= 0 else { throw .badRequest("timeoutSeconds \"\(t)\" is not a non-negative integer") }
            timeout = v
        }
        var request = WatchRequest(kind: kind, query: query, resourceVersion: req.query["resourceVersion"] ?? "",
                                   allowBookmarks: req.flag("allowWatchBookmarks"), timeoutSeconds: timeout,
                                   keepAlive: service.settings.watchKeepAlive)
        request.control = req.watchControl
        request.client = req.remoteIP
        return .watch(kind, try await service.watch(request))
    }

    static func writeOptions(_ req: OperationRequest) throws(APIError) -> WriteOptions {
        var options = WriteOptions(includeSecrets: req.flag("includeSecrets"))
        options.hostScope = req.grant.hostScope
        if let fv = req.query["fieldValidation"], !fv.isEmpty {
            guard let v = FieldValidation.allCases.first(where: { $0.rawValue.lowercased() == fv.lowercased() }) else {
                throw .badRequest("fieldValidation \"\(fv)\" must be one of Ignore, Warn, Strict")
            }
            options.fieldValidation = v
        }
        if let dry = req.query["dryRun"], !dry.isEmpty {
            guard dry == "All" else { throw .badRequest("dryRun \"\(dry)\" must be All") }
            options.dryRun = true
        }
        return options
    }
}
