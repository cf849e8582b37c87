/// What a token may do. Ordered by reach for reads; writes are scoped separately
/// (`HostWriteScope`), since an operator's writes are narrower than an admin's but not a
/// subset of a BMC agent's reads.
public enum Role: String, Sendable, CaseIterable, Codable {
    /// Reads everything but secrets.
    case viewer
    /// A viewer that also points hosts at an ISO and a config, powers them and asks for refreshes.
    case `operator`
    /// mkube's ipmiserial and bmh-operator: reads BMC credentials (get, list, watch with
    /// `includeSecrets=true`) and reports hosts' power state.
    case bmcAgent = "bmc-agent"
    /// Everything.
    case admin

    var readsSecrets: Bool { self == .bmcAgent || self == .admin }

    /// The host fields this role may change on an existing host; nil for any field.
    var hostWriteScope: HostWriteScope? {
        switch self {
        case .viewer: return HostWriteScope(paths: [])
        case .operator: return .operatorFields
        case .bmcAgent: return .agentFields
        case .admin: return nil
        }
    }
}

/// The fields of a BareMetalHost a restricted role may change; any other difference between
/// the stored host and the proposed one refuses the write (403).
public struct HostWriteScope: Sendable, Equatable {
    public var paths: [[String]]

    /// pxemanager's writes: ISO, config, power (and the power state it reports afterwards),
    /// and the refresh/reboot requests bmh-operator acts on.
    static let operatorFields = HostWriteScope(paths: [
        ["spec", "image"], ["spec", "bootConfigRef"], ["spec", "online"], ["status", "poweredOn"],
        ["metadata", "annotations", "bmh.mkube.io/refresh"], ["metadata", "annotations", "bmh.mkube.io/reboot"],
        ["metadata", "annotations", "bmh.mkube.io/manual-power"],
    ])
    /// bmh-operator reports power and phase and clears the requests it handled.
    static let agentFields = HostWriteScope(paths: [
        ["status", "poweredOn"], ["status", "phase"],
        ["metadata", "annotations", "bmh.mkube.io/refresh"], ["metadata", "annotations", "bmh.mkube.io/reboot"],
    ])

    public var fieldNames: String { paths.isEmpty ? "no fields" : paths.map { $0.joined(separator: ".") }.joined(separator: ", ") }

    /// The first field (dotted) where `proposed` differs from `current` outside this scope, or nil.
    func violation(current: JSONValue, proposed: JSONValue) -> String? {
        var a = current, b = proposed
        // Bookkeeping the server sets itself.
        for p in paths + [["metadata", "resourceVersion"], ["metadata", "generation"]] {
            a.set(nil, at: p[...])
            b.set(nil, at: p[...])
        }
        return Self.firstDifference(a, b, path: [])
    }

    static func firstDifference(_ a: JSONValue, _ b: JSONValue, path: [String]) -> String? {
        if a == b || (isEmpty(a) && isEmpty(b)) { return nil }
        if case .object(let x) = a, case .object(let y) = b {
            for k in Set(x.keys).union(y.keys).sorted() {
                if let d = firstDifference(x[k] ?? .null, y[k] ?? .null, path: path + [k]) { return d }
            }
            return nil
        }
        return path.isEmpty ? "the object" : path.joined(separator: ".")
    }

    /// Absent, null and `{}` are the same state (an annotation map emptied of a request).
    private static func isEmpty(_ v: JSONValue) -> Bool {
        if case .null = v { return true }
        if case .object(let o) = v { return o.isEmpty }
        return false
    }
}
