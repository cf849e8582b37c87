import Renderers

/// What bootgate last learnt of one host's power, kept in memory: the time of every read is
/// here, not in the store, so polling a rack writes nothing while nothing changes.
public struct PowerReading: Sendable, Equatable {
    public var address: String
    public var protocolName: String
    /// nil until a read succeeds.
    public var poweredOn: Bool?
    /// Milliseconds since 1970 of the last successful read.
    public var readAt: Int64?
    /// Milliseconds since 1970 of the last attempt, successful or not.
    public var checkedAt: Int64?
    public var error: BMCError?
    /// The action running on this host now, if any.
    public var action: PowerAction?
    /// False when another replica drives the BMCs: then this is what the store holds
    /// (`status.poweredOn`, the `BMCConnected` condition), without read times.
    public var fromBMC = true

    /// A host's power as the leading replica last wrote it in its status; nil without a BMC.
    static func stored(_ host: ResourceObject) -> PowerReading? {
        let address = host.string("spec", "bmc", "address")
        guard !address.isEmpty else { return nil }
        let status = host.json["status"]
        var r = PowerReading(address: address, protocolName: (try? BMCAddress(parsing: address))?.kind.protocolName ?? "")
        r.poweredOn = status?["poweredOn"]?.boolValue
        r.error = BMCCondition.error(in: status?["conditions"]?.arrayValue ?? [])
        r.fromBMC = false
        return r
    }

    public var json: JSONValue {
        var o = JSONObject([("address", .string(address)), ("protocol", .string(protocolName))])
        o["poweredOn"] = poweredOn.map { .bool($0) } ?? .null
        o["readAt"] = readAt.map { .string(Timestamp.milliseconds(at: $0)) } ?? .null
        o["checkedAt"] = checkedAt.map { .string(Timestamp.milliseconds(at: $0)) } ?? .null
        o["error"] = error.map { .object(JSONObject([("reason", .string($0.reason)), ("message", .string($0.message))])) } ?? .null
        o["action"] = action.map { .string($0.rawValue) } ?? .null
        o["source"] = fromBMC ? "bmc" : "store"
        return .object(o)
    }
}

/// The `BMCConnected` condition in `status.conditions`: whether bootgate's last call to the
/// host's BMC went through, and if not why. Its message carries no time or count, so it
/// changes (and costs a write) only when the situation does.
struct BMCCondition: Equatable {
    static let type = "BMCConnected"
    var ok: Bool
    var reason: String
    var message: String

    init(error: BMCError?, protocolName: String, endpoint: String) {
        if let error {
            ok = false
            reason = error.reason
            message = error.message
        } else {
            ok = true
            reason = "Connected"
            message = "\(protocolName) \(endpoint) answered"
        }
    }

    /// The failure a stored condition records; nil when it says connected (or is absent).
    static func error(in conditions: [JSONValue]) -> BMCError? {
        guard let c = conditions.first(where: { $0["type"]?.stringValue == type }), c["status"]?.stringValue == "False" else { return nil }
        return BMCError(reason: c["reason"]?.stringValue ?? "", message: c["message"]?.stringValue ?? "")
    }

    /// The host's conditions with this one in place; nil when nothing would change.
    func merged(into conditions: [JSONValue], now: String) -> [JSONValue]? {
        let index = conditions.firstIndex { $0["type"]?.stringValue == Self.type }
        let old = index.map { conditions[$0] }
        let status = ok ? "True" : "False"
        if let old, old["status"]?.stringValue == status, old["reason"]?.stringValue == reason, old["message"]?.stringValue == message { return nil }
        // The transition time moves when the status or the reason does, not for a new wording.
        let keepTime = old.map { $0["status"]?.stringValue == status && $0["reason"]?.stringValue == reason } ?? false
        let time = keepTime ? (old?["lastTransitionTime"]?.stringValue ?? now) : now
        let entry: JSONValue = .object(JSONObject([("type", .string(Self.type)), ("status", .string(status)), ("reason", .string(reason)),
                                                   ("message", .string(message)), ("lastTransitionTime", .string(time))]))
        var out = conditions
        if let index { out[index] = entry } else { out.append(entry) }
        return out
    }
}
