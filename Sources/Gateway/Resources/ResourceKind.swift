/// The kinds bootgate serves: mkube's three, with their REST names as mkube spells them, and
/// the two event kinds bootgate writes itself (read-only over the API, see `Events/`).
public enum ResourceKind: String, Sendable, CaseIterable, Codable {
    case bareMetalHost = "BareMetalHost"
    case bootConfig = "BootConfig"
    case iscsiCdrom = "ISCSICdrom"
    /// A boot step (iPXE script, config, boot-complete, refusals, power results).
    case bootEvent = "BootEvent"
    /// A write through the API: who, which object, what changed. Admins only.
    case auditEvent = "AuditEvent"

    /// The kinds mkube has (and that clients create and change).
    public static let objectKinds: [ResourceKind] = [.bareMetalHost, .bootConfig, .iscsiCdrom]
    /// Written by bootgate, in batches, with a retention (`EventRetention`).
    public var isEvent: Bool { self == .bootEvent || self == .auditEvent }

    public var plural: String {
        switch self {
        case .bareMetalHost: return "baremetalhosts"
        case .bootConfig: return "bootconfigs"
        case .iscsiCdrom: return "iscsi-cdroms"
        case .bootEvent: return "bootevents"
        case .auditEvent: return "auditevents"
        }
    }
    public var singular: String {
        switch self {
        case .bareMetalHost: return "baremetalhost"
        case .bootConfig: return "bootconfig"
        case .iscsiCdrom: return "iscsi-cdrom"
        case .bootEvent: return "bootevent"
        case .auditEvent: return "auditevent"
        }
    }
    public var shortNames: [String] {
        switch self {
        case .bareMetalHost: return ["bmh"]
        case .bootConfig: return ["bc"]
        // mkube's `icd`, and `iso`, what operators call them.
        case .iscsiCdrom: return ["icd", "iso"]
        case .bootEvent: return ["bev"]
        case .auditEvent: return ["aev"]
        }
    }
    public var namespaced: Bool { self == .bareMetalHost }
    public var listKind: String { rawValue + "List" }
    /// The OpenAPI operationId prefix and JSON-RPC method prefix.
    public var operationPrefix: String { plural.replacingOccurrences(of: "-", with: "") }
    /// How mkube names the kind in its error texts.
    public var displayName: String {
        switch self {
        case .bareMetalHost: return "BareMetalHost"
        case .bootConfig: return "BootConfig"
        case .iscsiCdrom: return "iSCSI CDROM"
        case .bootEvent: return "BootEvent"
        case .auditEvent: return "AuditEvent"
        }
    }
    public var schema: ObjectSchema {
        switch self {
        case .bareMetalHost: return KindSchemas.bareMetalHost
        case .bootConfig: return KindSchemas.bootConfig
        case .iscsiCdrom: return KindSchemas.iscsiCdrom
        case .bootEvent: return KindSchemas.bootEvent
        case .auditEvent: return KindSchemas.auditEvent
        }
    }

    public init?(plural: String) {
        guard let k = Self.allCases.first(where: { $0.plural == plural }) else { return nil }
        self = k
    }
}

/// Identifies one object. Cluster-scoped kinds have an empty namespace.
public struct ObjectKey: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var kind: ResourceKind
    public var namespace: String
    public var name: String

    public init(_ kind: ResourceKind, namespace: String = "", name: String) {
        self.kind = kind
        self.namespace = kind.namespaced ? namespace : ""
        self.name = name
    }

    public var description: String { namespace.isEmpty ? name : "\(namespace)/\(name)" }

    public static func < (a: ObjectKey, b: ObjectKey) -> Bool {
        (a.kind.rawValue, a.namespace, a.name) < (b.kind.rawValue, b.namespace, b.name)
    }
}
