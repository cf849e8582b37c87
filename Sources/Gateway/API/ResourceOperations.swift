/// list, get, create, replace, patch, delete (and watch through list) for mkube's three kinds,
/// on mkube's paths; list, get and watch for the event kinds.
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
    ]
    static let pageParameters: [Operation.Parameter] = [
        .init("limit", "List: at most this many items; `metadata.continue` is then set when more follow (0 or absent: all)", type: "integer"),
        .init("continue", "List: the previous page's `metadata.continue`. Every page shows the objects as at the first page's resourceVersion; 410 Expired when that state is no longer kept (the Status's `metadata.continue` then reads the rest from the current state)"),
        .init("includeObject", "With a Table Accept header: what each row's `object` holds", allowed: ["None", "Metadata", "Object"]),
    ]
    static let writeParameters: [Operation.Parameter] = [
        .init("fieldValidation", "How to treat unknown fields: Strict (default, 400), Warn (dropped, Warning header) or Ignore", allowed: FieldValidation.allCases.map(\.rawValue)),
        .init("dryRun", "`All`: validate and return the result without storing it", allowed: ["All"]),
        .init("includeSecrets", "Return BMC passwords in the response", type: "boolean"),
    ]

    static let keepISOParameter = Operation.Parameter("keepISO", "Keep the ISO's file in the ISO folder (it is deleted otherwise, unless another ISO uses it)", type: "boolean")

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
                             Operation.Response(410, "resourceVersion too old, or a continue token whose list state is no longer kept (reason Expired)", schema: "Status")]

        var ops: [Operation] = [
            Operation(id: "\(p).list", method: .get, path: collection, summary: "List or watch \(kind.plural)", tag: kind.rawValue,
                      parameters: ns + selectorParameters + watchParameters + pageParameters, body: nil, responses: listResponses) { service, req throws(APIError) in
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
                      parameters: ns + nameParam + [writeParameters[1]] + (kind == .iscsiCdrom ? [keepISOParameter] : []), body: nil,
                      responses: [.init(200, "Deleted", schema: "Status")] + errors.suffix(2)) { service, req throws(APIError) in
                let k = key(kind, req)
                let options = try writeOptions(req)
                let deleted = try await service.delete(k, options: options)
                if kind == .iscsiCdrom, !options.dryRun { service.removeFile(of: deleted, keep: req.flag("keepISO")) }
                var status = JSONObject([("kind", "Status"), ("apiVersion", "v1"), ("metadata", .object(JSONObject())), ("status", "Success"),
                                         ("message", .string("\(kind.displayName) \"\(k.name)\" deleted"))])
                status["details"] = .object(JSONObject([("name", .string(k.name)), ("kind", .string(kind.plural)),
                                                        ("uid", .string(deleted.string("metadata", "uid")))]))
                return .json(.object(status), status: 200)
            },
        ]
        if kind.isEvent {
            // bootgate writes events itself; clients read and watch them. Audit records are
            // for admins alone: they name every caller and every change.
            ops = ops.filter { $0.id.hasSuffix(".list") || $0.id.hasSuffix(".get") }
            if kind == .auditEvent { for i in ops.indices { ops[i].access = .admin } }
        }
        let actions = ["list": "list", "create": "post", "get": "get", "replace": "put", "patch": "patch", "delete": "delete"]
        for i in ops.indices {
            ops[i].kube = (kind, actions[String(ops[i].id.split(separator: ".").last!)] ?? "get")
        }
        if kind.namespaced {
            ops.append(Operation(id: "\(p).listAllNamespaces", method: .get, path: "/api/v1/\(kind.plural)",
                                 summary: "List or watch \(kind.plural) in all namespaces", tag: kind.rawValue,
                                 parameters: selectorParameters + watchParameters + pageParameters, body: nil, responses: listResponses) { service, req throws(APIError) in
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
            return .list(try service.list(kind, query, page: try pageRequest(req)))
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

    static func pageRequest(_ req: OperationRequest) throws(APIError) -> PageRequest {
        var page = PageRequest()
        if let l = req.query["limit"], !l.isEmpty {
            guard let v = Int(l), v >= 0 else { throw .badRequest("limit \"\(l)\" is not a non-negative integer") }
            page.limit = v
        }
        if let c = req.query["continue"], !c.isEmpty {
            if let rv = req.query["resourceVersion"], !rv.isEmpty, rv != "0" {
                throw .badRequest("specifying resource version is not allowed when using continue")
            }
            page.continueToken = try ListContinueToken(parsing: c)
        }
        return page
    }

    static func writeOptions(_ req: OperationRequest) throws(APIError) -> WriteOptions {
        var options = WriteOptions(includeSecrets: req.flag("includeSecrets"))
        options.hostScope = req.grant.hostScope
        options.actor = Actor.of(req.grant, address: req.remoteIP, transport: req.transport)
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
