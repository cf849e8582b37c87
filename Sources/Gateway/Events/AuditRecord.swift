import Renderers

/// Who made a write, as the audit record names them.
public struct Actor: Sendable, Equatable {
    /// The token's name, "anonymous" without a token file, "boot" for the boot path.
    public var name: String
    public var role: String
    public var address: String
    /// rest, jsonrpc, boot
    public var transport: String

    public init(name: String, role: String = "", address: String = "", transport: String = "") {
        self.name = name
        self.role = role
        self.address = address
        self.transport = transport
    }

    /// Writes bootgate makes on its own behalf are not audited (boot counters, power readings);
    /// an API write without an actor is a library caller (tests, `bootgate apply --offline`).
    public static let anonymous = Actor(name: "anonymous")

    static func of(_ grant: Grant, address: String, transport: String) -> Actor {
        guard let caller = grant.caller else { return Actor(name: "anonymous", address: address, transport: transport) }
        return Actor(name: caller.name, role: caller.role.rawValue, address: address, transport: transport)
    }
}

/// The `AuditEvent` of one write: which object, what changed as RFC 6902 operations from the old
/// object to the new (secrets redacted, long values summarised by size), and the revision it
/// changed from. It is committed in the same store commit as the write (`Service.commitWrites`),
/// so nothing acknowledged lacks its record; the revision it changed to is that commit's, which
/// is the record's own `resourceVersion` (filled in as `resourceVersionAfter` when read).
enum AuditRecord {
    static let redacted = JSONValue.string("(redacted)")
    /// Longer strings (config files, the last-applied annotation) are recorded by size: the
    /// record says that they changed, the object's history is not a second copy of the store.
    static let longest = 256

    static func object(verb: String, actor: Actor, key: ObjectKey, before: ResourceObject?, after: ResourceObject?, sequence: UInt64, now: Int64) -> ResourceObject {
        var user = JSONObject([("name", .string(actor.name))])
        if !actor.role.isEmpty { user["role"] = .string(actor.role) }
        if !actor.address.isEmpty { user["address"] = .string(actor.address) }
        if !actor.transport.isEmpty { user["transport"] = .string(actor.transport) }
        var object = JSONObject([("kind", .string(key.kind.rawValue))])
        if !key.namespace.isEmpty { object["namespace"] = .string(key.namespace) }
        object["name"] = .string(key.name)
        let uid = (after ?? before)?.string("metadata", "uid") ?? ""
        if !uid.isEmpty { object["uid"] = .string(uid) }
        var json = JSONObject([
            ("kind", .string(ResourceKind.auditEvent.rawValue)), ("apiVersion", "v1"),
            ("metadata", .object(JSONObject([("name", .string(EventName.make(milliseconds: now, sequence: sequence))),
                                             ("creationTimestamp", .string(Timestamp.seconds(at: Int(now / 1000))))]))),
            ("time", .string(Timestamp.milliseconds(at: now))), ("verb", .string(verb)),
            ("user", .object(user)), ("object", .object(object)),
            ("patch", .array(patch(from: before?.json, to: after?.json))),
        ])
        if let before { json["resourceVersionBefore"] = .string(String(before.resourceVersion)) }
        return ResourceObject(kind: .auditEvent, json: .object(json))
    }

    /// RFC 6902 operations turning `a` into `b` (bookkeeping fields left out).
    static func patch(from a: JSONValue?, to b: JSONValue?) -> [JSONValue] {
        var ops: [JSONValue] = []
        switch (a, b) {
        case (nil, let b?): ops.append(op("add", [], value: summarise(strip(b), at: [])))
        case (_?, nil): ops.append(op("remove", []))
        case (let a?, let b?): diff(strip(a), strip(b), path: [], into: &ops)
        case (nil, nil): break
        }
        return ops
    }

    private static func strip(_ v: JSONValue) -> JSONValue {
        var out = v
        out.set(nil, at: ["metadata", "resourceVersion"])
        return out
    }

    private static func diff(_ a: JSONValue, _ b: JSONValue, path: [String], into ops: inout [JSONValue]) {
        if a == b { return }
        if case .object(let x) = a, case .object(let y) = b {
            for (k, old) in x where y[k] == nil { _ = old; ops.append(op("remove", path + [k])) }
            for (k, new) in y {
                if let old = x[k] { diff(old, new, path: path + [k], into: &ops) } else { ops.append(op("add", path + [k], value: summarise(new, at: path + [k]))) }
            }
            return
        }
        ops.append(op("replace", path, value: summarise(b, at: path)))
    }

    /// The value as recorded: secrets redacted wherever they sit in it, long strings by size.
    static func summarise(_ v: JSONValue, at path: [String]) -> JSONValue {
        if SecretSealer.sealedPaths.contains(path) { return redacted }
        switch v {
        case .string(let s) where s.utf8.count > longest:
            return .string("(\(s.utf8.count) bytes)")
        case .object(let o):
            var out = JSONObject()
            for (k, value) in o { out[k] = summarise(value, at: path + [k]) }
            return .object(out)
        case .array(let items):
            return .array(items.map { summarise($0, at: path + ["-"]) })
        default:
            return v
        }
    }

    private static func op(_ name: String, _ path: [String], value: JSONValue? = nil) -> JSONValue {
        let pointer = path.map { "/" + $0.replacingOccurrences(of: "~", with: "~0").replacingOccurrences(of: "/", with: "~1") }.joined()
        var o = JSONObject([("op", .string(name)), ("path", .string(pointer))])
        if let value { o["value"] = value }
        return .object(o)
    }
}
