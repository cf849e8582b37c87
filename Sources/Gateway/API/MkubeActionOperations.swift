/// mkube's action routes on these kinds: host refresh (an annotation the operator watches) and
/// ISO subscribers (manual consumers that keep an ISO from being deleted).
enum MkubeActionOperations {
    static let refreshAnnotation = "bmh.mkube.io/refresh"

    static func all() -> [Operation] {
        let hostParams: [Operation.Parameter] = [.init("namespace", "Namespace", in: .path, required: true), .init("name", "Host name", in: .path, required: true)]
        let isoParam: [Operation.Parameter] = [.init("name", "ISCSICdrom name", in: .path, required: true)]
        return [
            Operation(id: "baremetalhosts.refresh", method: .post, path: "/api/v1/namespaces/{namespace}/baremetalhosts/{name}/refresh",
                      summary: "Ask the operator to refresh a host (sets the bmh.mkube.io/refresh annotation)", tag: ResourceKind.bareMetalHost.rawValue,
                      parameters: hostParams, body: nil, responses: [.init(200, "Requested", schema: "Object"), .init(404, "Not found", schema: "Status")]) { service, req throws(APIError) in
                let key = ObjectKey(.bareMetalHost, namespace: req.pathValue("namespace"), name: req.pathValue("name"))
                try await refresh(service, key)
                return .json(.object(JSONObject([("message", .string("refresh requested for \(key.name)")), ("status", "ok")])), status: 200)
            },
            Operation(id: "baremetalhosts.refreshAll", method: .post, path: "/api/v1/baremetalhosts/refresh",
                      summary: "Ask the operator to refresh every host", tag: ResourceKind.bareMetalHost.rawValue,
                      parameters: [], body: nil, responses: [.init(200, "Requested", schema: "Object")]) { service, _ throws(APIError) in
                let hosts = service.list(.bareMetalHost, .init()).items
                for h in hosts { try await refresh(service, h.key) }
                return .json(.object(JSONObject([("hosts", hosts.isEmpty ? .null : .array(hosts.map { .string($0.name) })),
                                                 ("message", .string("refresh requested for \(hosts.count) hosts")), ("status", "ok")])), status: 200)
            },
            Operation(id: "iscsicdroms.subscribe", method: .post, path: "/api/v1/iscsi-cdroms/{name}/subscribe",
                      summary: "Register a manual consumer of the ISO's target; returns the portal and IQN", tag: ResourceKind.iscsiCdrom.rawValue,
                      parameters: isoParam, body: .init(schema: "Subscriber", contentTypes: ["application/json"], required: true),
                      responses: [.init(200, "Subscribed", schema: "Object"), .init(404, "Not found", schema: "Status"), .init(409, "Already subscribed", schema: "Status")]) { service, req throws(APIError) in
                let body = try RequestBody.decode(req)
                guard let name = body["name"]?.stringValue, !name.isEmpty else { throw .badRequest("subscriber name is required") }
                let key = ObjectKey(.iscsiCdrom, name: req.pathValue("name"))
                let iso = try service.get(key)
                var subs = iso.json.value(at: ["status", "subscribers"])?.arrayValue ?? []
                if subs.contains(where: { $0["name"]?.stringValue == name }) { throw .conflict(key, "subscriber \"\(name)\" already subscribed") }
                var sub = JSONObject([("name", .string(name))])
                if let initiator = body["initiatorIQN"]?.stringValue, !initiator.isEmpty { sub["initiatorIQN"] = .string(initiator) }
                sub["since"] = .string(Service.timestamp())
                subs.append(.object(sub))
                let out = try await service.patch(key, patch: ["status": ["subscribers": .array(subs)]], type: .merge)
                let target = service.iscsiTarget(out.object)
                return .json(.object(JSONObject([("portalIP", .string(target.portal)), ("portalPort", .int(Int64(target.port ?? 3260))),
                                                 ("targetIQN", .string(target.iqn))])), status: 200)
            },
            Operation(id: "iscsicdroms.unsubscribe", method: .post, path: "/api/v1/iscsi-cdroms/{name}/unsubscribe",
                      summary: "Remove a manual consumer", tag: ResourceKind.iscsiCdrom.rawValue,
                      parameters: isoParam, body: .init(schema: "Subscriber", contentTypes: ["application/json"], required: true),
                      responses: [.init(200, "Removed", schema: "Status"), .init(404, "Not found", schema: "Status")]) { service, req throws(APIError) in
                let body = try RequestBody.decode(req)
                guard let name = body["name"]?.stringValue, !name.isEmpty else { throw .badRequest("subscriber name is required") }
                let key = ObjectKey(.iscsiCdrom, name: req.pathValue("name"))
                let subs = try service.get(key).json.value(at: ["status", "subscribers"])?.arrayValue ?? []
                let rest = subs.filter { $0["name"]?.stringValue != name }
                if rest.count == subs.count { throw APIError(code: 404, reason: "NotFound", message: "subscriber \"\(name)\" not found") }
                _ = try await service.patch(key, patch: ["status": ["subscribers": rest.isEmpty ? .null : .array(rest)]], type: .merge)
                return .json(.object(JSONObject([("kind", "Status"), ("apiVersion", "v1"), ("metadata", .object(JSONObject())), ("status", "Success"),
                                                 ("message", .string("subscriber \"\(name)\" removed from iSCSI CDROM \"\(key.name)\""))])), status: 200)
            },
        ]
    }

    static func refresh(_ service: Service, _ key: ObjectKey) async throws(APIError) {
        _ = try await service.patch(key, patch: ["metadata": ["annotations": [.init(stringLiteral: refreshAnnotation): .string(Service.timestamp())]]], type: .merge)
    }
}
