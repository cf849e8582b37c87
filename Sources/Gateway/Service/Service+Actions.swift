/// mkube's action routes: ISO subscribers (manual consumers that keep an ISO from being deleted)
/// and the host refresh annotation. Each is one read-modify-write under the write gate.
extension Service {
    public static let refreshAnnotation = "bmh.mkube.io/refresh"

    static func writeOptions(_ actor: Actor) -> WriteOptions {
        var o = WriteOptions()
        o.actor = actor
        return o
    }

    /// Adds a subscriber to an ISO; the ISO as stored afterwards.
    public func subscribe(iso key: ObjectKey, name: String, initiatorIQN: String?, actor: Actor = .anonymous) async throws(APIError) -> ResourceObject {
        guard !name.isEmpty else { throw .badRequest("subscriber name is required") }
        let since = Self.timestamp()
        return try await modify(key, options: Self.writeOptions(actor), verb: "subscribe") { iso throws(APIError) in
            var subs = iso.json.value(at: ["status", "subscribers"])?.arrayValue ?? []
            if subs.contains(where: { $0["name"]?.stringValue == name }) { throw .conflict(key, "subscriber \"\(name)\" already subscribed") }
            var sub = JSONObject([("name", .string(name))])
            if let initiatorIQN, !initiatorIQN.isEmpty { sub["initiatorIQN"] = .string(initiatorIQN) }
            sub["since"] = .string(since)
            subs.append(.object(sub))
            var json = iso.json
            json.set(.array(subs), at: ["status", "subscribers"])
            return json
        }
    }

    public func unsubscribe(iso key: ObjectKey, name: String, actor: Actor = .anonymous) async throws(APIError) {
        guard !name.isEmpty else { throw .badRequest("subscriber name is required") }
        _ = try await modify(key, options: Self.writeOptions(actor), verb: "unsubscribe") { iso throws(APIError) in
            let subs = iso.json.value(at: ["status", "subscribers"])?.arrayValue ?? []
            let rest = subs.filter { $0["name"]?.stringValue != name }
            if rest.count == subs.count { throw APIError(code: 404, reason: "NotFound", message: "subscriber \"\(name)\" not found") }
            var json = iso.json
            json.set(rest.isEmpty ? nil : .array(rest), at: ["status", "subscribers"])
            return json
        }
    }

    /// Asks the operator to refresh a host: the `bmh.mkube.io/refresh` annotation, set to now.
    public func refresh(_ key: ObjectKey, actor: Actor = .anonymous) async throws(APIError) {
        let now = Self.timestamp()
        _ = try await modify(key, options: Self.writeOptions(actor), verb: "refresh") { host throws(APIError) in
            var json = host.json
            json.set(.string(now), at: ["metadata", "annotations", Self.refreshAnnotation])
            return json
        }
    }
}
