/// mkube's action routes on these kinds: host refresh (an annotation the operator watches) and
/// ISO subscribers (manual consumers that keep an ISO from being deleted).
enum MkubeActionOperations {
    static func all() -> [Operation] {
        let hostParams: [Operation.Parameter] = [.init("namespace", "Namespace", in: .path, required: true), .init("name", "Host name", in: .path, required: true)]
        let isoParam: [Operation.Parameter] = [.init("name", "ISCSICdrom name", in: .path, required: true)]
        return [
            Operation(id: "baremetalhosts.refresh", method: .post, path: "/api/v1/namespaces/{namespace}/baremetalhosts/{name}/refresh",
                      summary: "Ask the operator to refresh a host (sets the bmh.mkube.io/refresh annotation)", tag: ResourceKind.bareMetalHost.rawValue,
                      parameters: hostParams, body: nil, responses: [.init(200, "Requested", schema: "Object"), .init(404, "Not found", schema: "Status")]) { service, req throws(APIError) in
                let key = ObjectKey(.bareMetalHost, namespace: req.pathValue("namespace"), name: req.pathValue("name"))
                try await service.refresh(key, actor: actor(req))
                return .json(.object(JSONObject([("message", .string("refresh requested for \(key.name)")), ("status", "ok")])), status: 200)
            },
            Operation(id: "baremetalhosts.refreshAll", method: .post, path: "/api/v1/baremetalhosts/refresh",
                      summary: "Ask the operator to refresh every host", tag: ResourceKind.bareMetalHost.rawValue,
                      parameters: [], body: nil, responses: [.init(200, "Requested", schema: "Object")]) { service, req throws(APIError) in
                let hosts = service.list(.bareMetalHost, .init()).items
                for h in hosts { try await service.refresh(h.key, actor: actor(req)) }
                return .json(.object(JSONObject([("hosts", hosts.isEmpty ? .null : .array(hosts.map { .string($0.name) })),
                                                 ("message", .string("refresh requested for \(hosts.count) hosts")), ("status", "ok")])), status: 200)
            },
            Operation(id: "iscsicdroms.subscribe", method: .post, path: "/api/v1/iscsi-cdroms/{name}/subscribe",
                      summary: "Register a manual consumer of the ISO's target; returns the portal and IQN", tag: ResourceKind.iscsiCdrom.rawValue,
                      parameters: isoParam, body: .init(schema: "Subscriber", contentTypes: ["application/json"], required: true),
                      responses: [.init(200, "Subscribed", schema: "Object"), .init(404, "Not found", schema: "Status"), .init(409, "Already subscribed", schema: "Status")]) { service, req throws(APIError) in
                let body = try RequestBody.decode(req)
                let iso = try await service.subscribe(iso: ObjectKey(.iscsiCdrom, name: req.pathValue("name")), name: body["name"]?.stringValue ?? "",
                                                      initiatorIQN: body["initiatorIQN"]?.stringValue, actor: actor(req))
                let target = service.boot.iscsiTarget(iso)
                return .json(.object(JSONObject([("portalIP", .string(target.portal)), ("portalPort", .int(Int64(target.port ?? 3260))),
                                                 ("targetIQN", .string(target.iqn))])), status: 200)
            },
            Operation(id: "iscsicdroms.unsubscribe", method: .post, path: "/api/v1/iscsi-cdroms/{name}/unsubscribe",
                      summary: "Remove a manual consumer", tag: ResourceKind.iscsiCdrom.rawValue,
                      parameters: isoParam, body: .init(schema: "Subscriber", contentTypes: ["application/json"], required: true),
                      responses: [.init(200, "Removed", schema: "Status"), .init(404, "Not found", schema: "Status")]) { service, req throws(APIError) in
                let name = try RequestBody.decode(req)["name"]?.stringValue ?? "", key = ObjectKey(.iscsiCdrom, name: req.pathValue("name"))
                try await service.unsubscribe(iso: key, name: name, actor: actor(req))
                return .json(.object(JSONObject([("kind", "Status"), ("apiVersion", "v1"), ("metadata", .object(JSONObject())), ("status", "Success"),
                                                 ("message", .string("subscriber \"\(name)\" removed from iSCSI CDROM \"\(key.name)\""))])), status: 200)
            },
        ]
    }
}

extension MkubeActionOperations {
    static func actor(_ req: OperationRequest) -> Actor { Actor.of(req.grant, address: req.remoteIP, transport: req.transport) }
}
