import Foundation

/// One BMC protocol. A driver is made per host and call; it holds no connection between calls,
/// so a BMC that reboots or changes address costs nothing to forget. Every call ends within the
/// driver's deadline, so a BMC that does not answer never holds up another.
public protocol BMCDriver: Sendable {
    func powerState() async throws(BMCError) -> Bool
    func powerOn() async throws(BMCError)
    func powerOff() async throws(BMCError)
    /// A hard reset of a host that is on.
    func reset() async throws(BMCError)
    /// The next boot (only that one) from the network, in the given firmware mode.
    func bootFromNetworkOnce(_ firmware: HostFirmware) async throws(BMCError)
    /// How the driver is named in events and messages ("IPMI", "Redfish").
    var protocolName: String { get }
}

/// Credentials for one BMC. `description` never shows the password, so a stray interpolation
/// cannot leak it into a log or an event.
public struct BMCCredentials: Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    public var username: String
    public var password: String
    public init(username: String, password: String) {
        self.username = username
        self.password = password
    }
    public var description: String { "user \(username)" }
    public var debugDescription: String { description }
}

/// How a host's firmware boots, from `spec.firmware`: it decides the boot override's mode.
public enum HostFirmware: String, Sendable, CaseIterable {
    case uefi
    case bios
    /// Not declared: IPMI sends a plain override (which BMCs take as legacy BIOS), Redfish keeps
    /// the mode the system already has.
    case unspecified = ""
}

/// Why a BMC call failed, sorted into what an operator acts on differently. Messages name the
/// endpoint and protocol, never the credentials.
public enum BMCError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Nothing answered within the deadline, or the connection was refused.
    case unreachable(String)
    /// The BMC answered and refused the user name or password.
    case authenticationFailed(String)
    /// The BMC answered and refused or failed the command.
    case commandFailed(String)
    /// `spec.bmc.address` cannot be used.
    case invalidAddress(String)
    /// The tool the driver needs is missing (ipmitool not installed).
    case toolMissing(String)

    /// A condition's `reason`.
    public var reason: String {
        switch self {
        case .unreachable: return "Unreachable"
        case .authenticationFailed: return "AuthenticationFailed"
        case .commandFailed: return "CommandFailed"
        case .invalidAddress: return "InvalidAddress"
        case .toolMissing: return "ToolMissing"
        }
    }

    /// The error a stored condition's `reason` and `message` record (`Unreachable` when the
    /// reason is not one of ours).
    init(reason: String, message: String) {
        let all: [BMCError] = [.unreachable(message), .authenticationFailed(message), .commandFailed(message), .invalidAddress(message), .toolMissing(message)]
        self = all.first { $0.reason == reason } ?? .unreachable(message)
    }

    public var message: String {
        switch self {
        case .unreachable(let m), .authenticationFailed(let m), .commandFailed(let m), .invalidAddress(let m), .toolMissing(let m): return m
        }
    }

    public var description: String { "\(reason): \(message)" }
}

/// What to do with the text a BMC or tool sent back before it goes into a message: keep one
/// line, bound it, and take out the password should the peer echo it.
enum BMCText {
    static func clean(_ text: String, hiding secret: String, limit: Int = 200) -> String {
        var t = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }.joined(separator: "; ")
        if !secret.isEmpty { t = t.replacingOccurrences(of: secret, with: "***") }
        if t.count > limit { t = String(t.prefix(limit)) + "…" }
        return t
    }
}

/// Picks the driver for an address.
public struct BMCDriverFactory: Sendable {
    /// Deadline of one BMC call (one ipmitool run, one HTTP request).
    public var timeout: Duration
    public var ipmitoolPath: String
    public init(timeout: Duration = .seconds(10), ipmitoolPath: String = "ipmitool") {
        self.timeout = timeout
        self.ipmitoolPath = ipmitoolPath
    }

    public func driver(address: BMCAddress, credentials: BMCCredentials, verifyCertificate: Bool = false) -> any BMCDriver {
        switch address.kind {
        case .ipmi: return IPMIToolDriver(address: address, credentials: credentials, timeout: timeout, executable: ipmitoolPath)
        case .redfish: return RedfishDriver(address: address, credentials: credentials, timeout: timeout, verifyCertificate: verifyCertificate)
        }
    }
}
