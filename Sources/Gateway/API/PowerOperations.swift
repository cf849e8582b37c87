import Renderers

/// Power actions on a host and the power readings behind the hosts page. On and off set
/// `spec.online` (the desired state, as mkube's clients write it) and the power controller acts
/// on that change; restart is an action only. With power control off (`--power-control=false`)
/// they only write `spec.online`, restart as off-then-on, for whatever drives the BMCs instead.
enum PowerOperations {
    static func all() -> [Operation] {
        let hostParams: [Operation.Parameter] = [.init("namespace", "Namespace", in: .path, required: true), .init("name", "Host name", in: .path, required: true)]
        let tag = ResourceKind.bareMetalHost.rawValue
        return [
            Operation(id: "baremetalhosts.power", method: .post, path: "/api/v1/namespaces/{namespace}/baremetalhosts/{name}/power",
                      summary: "Power a host on or off (sets spec.online), or restart it; the BMC is driven in the background, the result shows in status.poweredOn, the BMCConnected condition and the host's events",
                      tag: tag, parameters: hostParams, body: .init(schema: "PowerRequest", contentTypes: ["application/json"], required: true),
                      responses: [.init(202, "Accepted", schema: "PowerAccepted"), .init(400, "Bad request", schema: "Status"), .init(404, "Not found", schema: "Status")]) { service, req throws(APIError) in
                let key = ObjectKey(.bareMetalHost, namespace: req.pathValue("namespace"), name: req.pathValue("name"))
                let body = try RequestBody.decode(req)
                guard let text = body["action"]?.stringValue, let action = PowerAction(rawValue: text.lowercased()) else {
                    throw .badRequest("\"action\" must be one of on, off, restart")
                }
                let message = try await power(service, key, action, actor: Actor.of(req.grant, address: req.remoteIP, transport: req.transport))
                return .json(.object(JSONObject([("host", .string(key.description)), ("action", .string(action.rawValue)),
                                                 ("powerControl", .bool(service.power.controller != nil)), ("message", .string(message))])), status: 202)
            },
            Operation(id: "baremetalhosts.powerState", method: .get, path: "/api/v1/namespaces/{namespace}/baremetalhosts/{name}/power",
                      summary: "What bootgate last read of a host's power: state, time of the read, error, running action",
                      tag: tag, parameters: hostParams, body: nil,
                      responses: [.init(200, "The reading", schema: "PowerReading"), .init(404, "Not found", schema: "Status")]) { service, req throws(APIError) in
                let key = ObjectKey(.bareMetalHost, namespace: req.pathValue("namespace"), name: req.pathValue("name"))
                _ = try service.get(key)
                return .json(readingJSON(key, service.power.controller?.reading(key)), status: 200)
            },
            Operation(id: "baremetalhosts.powerStates", method: .get, path: "/api/v1/baremetalhosts/power",
                      summary: "Power readings of every host with a BMC (the hosts page shows them)", tag: tag, parameters: [], body: nil,
                      responses: [.init(200, "The readings", schema: "PowerReadingList")]) { service, _ throws(APIError) in
                let controller = service.power.controller
                let items = controller?.allReadings().map { readingJSON($0.0, $0.1) } ?? []
                return .json(.object(JSONObject([("powerControl", .bool(controller != nil)), ("items", .array(items))])), status: 200)
            },
        ]
    }

    static func readingJSON(_ key: ObjectKey, _ reading: PowerReading?) -> JSONValue {
        var o = JSONObject([("host", .string(key.description))])
        if case .object(let r) = reading?.json ?? .null {
            for (k, v) in r { o[k] = v }
        }
        return .object(o)
    }

    /// Does what the action means on this deployment and says what was done.
    static func power(_ service: Service, _ key: ObjectKey, _ action: PowerAction, actor: Actor = .anonymous) async throws(APIError) -> String {
        let options = Service.writeOptions(actor)
        let host = try service.get(key)
        let online = PowerController.wantsOnline(host)
        let hasBMC = !host.string("spec", "bmc", "address").isEmpty
        guard service.power.controller != nil else {
            switch action {
            case .on, .off: try await setOnline(service, key, action == .on, options: options)
            case .restart:
                try await setOnline(service, key, false, options: options)
                try await setOnline(service, key, true, options: options)
            }
            return "spec.online set for \(action.rawValue); bootgate's power control is off, so the BMC is left to its controller"
        }
        guard hasBMC else {
            if action == .restart { throw .badRequest("host \(key) has no spec.bmc.address, so there is no BMC to restart it with") }
            try await setOnline(service, key, action == .on, options: options)
            return "spec.online set; host \(key) has no spec.bmc.address, so no BMC is driven"
        }
        // Through the store, so the leading replica's controller does it (PowerRequest); the
        // request goes with any edge of spec.online, so a replica that takes the lead later
        // still finds it undone.
        var spec = JSONObject()
        if action != .restart, online != (action == .on) { spec["online"] = .bool(action == .on) }
        if action == .restart, !online { spec["online"] = .bool(true) }  // restart leaves it wanted on
        let annotations: JSONValue = .object(JSONObject([(PowerRequest.annotation, .string(PowerRequest.value(action)))]))
        var patch = JSONObject([("metadata", .object(JSONObject([("annotations", annotations)])))])
        if !spec.isEmpty { patch["spec"] = .object(spec) }
        _ = try await service.patch(key, patch: .object(patch), type: .merge, options: options)
        return "\(action.rawValue) requested for \(key)"
    }

    static func setOnline(_ service: Service, _ key: ObjectKey, _ on: Bool, options: WriteOptions = WriteOptions()) async throws(APIError) {
        _ = try await service.patch(key, patch: .object(JSONObject([("spec", .object(JSONObject([("online", .bool(on))])))])), type: .merge, options: options)
    }
}
