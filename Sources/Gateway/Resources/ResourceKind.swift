/// The three kinds bootgate serves, with their REST names as mkube spells them.
public enum ResourceKind: String, Sendable, CaseIterable, Codable {
    case bareMetalHost = "BareMetalHost"
    case bootConfig = "BootConfig"
    case iscsiCdrom = "ISCSICdrom"

    public var plural: String {
        switch self {
        case .bareMetalHost: return "baremetalhosts"
        case .bootConfig: return "bootconfigs"
        case .iscsiCdrom: return "iscsi-cdroms"
        }
    }
    public var singular: String {
        switch self {
        case .bareMetalHost: return "baremetalhost"
        case .bootConfig: return "bootconfig"
        case .iscsiCdrom: return "iscsi-cdrom"
        }
    }
    public var shortNames: [String] {
        switch self {
        case .bareMetalHost: return ["bmh"]
        case .bootConfig: return ["bc"]
        // mkube's `icd`, and `iso`, what operators call them.
        case .iscsiCdrom: return ["icd", "iso"]
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
        }
    }
    public var schema: ObjectSchema {
        switch self {
        case .bareMetalHost: return KindSchemas.bareMetalHost
        case .bootConfig: return KindSchemas.bootConfig
        case .iscsiCdrom: return KindSchemas.iscsiCdrom
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
