import Foundation

/// Where a host's BMC is and which protocol reaches it, read from `spec.bmc.address`.
///
/// The scheme picks the driver as Metal3 does: `ipmi://host[:port]`, `redfish://host[:port]/path`
/// (HTTPS), `redfish+http://…` and `redfish+https://…`. A bare address (`10.0.0.5`,
/// `10.0.0.5:6230`, `[fd00::5]:623`) is IPMI, as mkube reads it.
public struct BMCAddress: Sendable, Hashable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        case ipmi
        case redfish

        /// As events, readings and conditions name it.
        public var protocolName: String { self == .ipmi ? "IPMI" : "Redfish" }
    }

    public var kind: Kind
    /// Host name or IP address, without brackets.
    public var host: String
    /// nil: the protocol's default (623 for IPMI, 443 or 80 for Redfish).
    public var port: Int?
    /// Redfish only: whether to speak TLS.
    public var secure: Bool
    /// Redfish only: the system's path (`/redfish/v1/Systems/1`); empty to find the first system.
    public var path: String

    public enum Failure: Error, Sendable, Equatable, CustomStringConvertible {
        case empty
        case unknownScheme(String)
        case missingHost(String)
        case badPort(String)
        case badHost(String)

        public var description: String {
            switch self {
            case .empty: return "spec.bmc.address is empty"
            case .unknownScheme(let s): return "unknown BMC scheme \"\(s)\"; use ipmi://, redfish://, redfish+http:// or redfish+https://"
            case .missingHost(let a): return "BMC address \"\(a)\" names no host"
            case .badPort(let p): return "BMC port \"\(p)\" is not a number from 1 to 65535"
            case .badHost(let h): return "BMC host \"\(h)\" is not a host name or IP address"
            }
        }
    }

    public init(kind: Kind, host: String, port: Int? = nil, secure: Bool = false, path: String = "") {
        self.kind = kind
        self.host = host
        self.port = port
        self.secure = secure
        self.path = path
    }

    public init(parsing text: String) throws(Failure) {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard !trimmed.isEmpty else { throw .empty }
        var rest = Substring(trimmed)
        kind = .ipmi
        secure = false
        if let range = trimmed.range(of: "://") {
            let scheme = trimmed[..<range.lowerBound].lowercased()
            rest = trimmed[range.upperBound...]
            switch scheme {
            case "ipmi": kind = .ipmi
            case "redfish", "redfish+https": kind = .redfish; secure = true
            case "redfish+http": kind = .redfish; secure = false
            default: throw .unknownScheme(scheme)
            }
        }
        // Authority, then the path (Redfish only; IPMI has none, a trailing "/" is forgiven).
        let authority: Substring
        if let slash = rest.firstIndex(of: "/") {
            authority = rest[..<slash]
            let p = String(rest[slash...])
            path = kind == .redfish && p != "/" ? (p.hasSuffix("/") ? String(p.dropLast()) : p) : ""
        } else {
            authority = rest
            path = ""
        }
        let (h, portText) = Self.splitHostPort(authority)
        guard !h.isEmpty else { throw .missingHost(trimmed) }
        // The host becomes an ipmitool argument and part of a URL: a leading "-" would read as an
        // option, an "@" as URL credentials.
        guard !h.hasPrefix("-"), h.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || ".-:_%".contains($0)) }) else { throw .badHost(h) }
        host = h
        if let portText {
            guard let p = Int(portText), (1...65535).contains(p) else { throw .badPort(String(portText)) }
            port = p
        } else {
            port = nil
        }
    }

    /// `host`, `host:port`, `[v6]`, `[v6]:port`; a bare IPv6 address (two colons or more) has no port.
    static func splitHostPort(_ authority: Substring) -> (String, Substring?) {
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return (String(authority.dropFirst()), nil) }
            let host = String(authority[authority.index(after: authority.startIndex)..<close])
            let after = authority[authority.index(after: close)...]
            return (host, after.hasPrefix(":") ? after.dropFirst() : nil)
        }
        let colons = authority.filter { $0 == ":" }.count
        if colons == 1, let c = authority.firstIndex(of: ":") {
            return (String(authority[..<c]), authority[authority.index(after: c)...])
        }
        return (String(authority), nil)
    }

    /// The port used on the wire.
    public var effectivePort: Int {
        port ?? (kind == .ipmi ? 623 : (secure ? 443 : 80))
    }

    /// `host:port` as a message shows it (brackets around IPv6).
    public var endpoint: String {
        (host.contains(":") ? "[\(host)]" : host) + ":\(effectivePort)"
    }

    /// The Redfish service root, e.g. `https://10.0.0.5:8443`.
    public var baseURL: String {
        (secure ? "https://" : "http://") + (host.contains(":") ? "[\(host)]" : host) + (port.map { ":\($0)" } ?? "")
    }

    public var description: String {
        switch kind {
        case .ipmi: return "ipmi://\(endpoint)"
        case .redfish: return (secure ? "redfish+https://" : "redfish+http://") + endpoint + path
        }
    }
}
