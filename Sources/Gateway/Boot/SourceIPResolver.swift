/// Who is asking, on the boot path: the connection's peer address, or, when the peer is a
/// trusted proxy, the right-most untrusted address of `X-Forwarded-For`.
public struct SourceIPResolver: Sendable {
    public var trustedProxies: [CIDR]

    public init(trustedProxies: [CIDR]) { self.trustedProxies = trustedProxies }

    public func clientIP(peer: String, forwardedFor: String?) -> String {
        let peer = Self.unmapped(peer)
        guard isTrusted(peer), let header = forwardedFor, !header.isEmpty else { return peer }
        let hops = header.split(separator: ",").map { Self.unmapped(Self.trimmed($0)) }
        for hop in hops.reversed() where !isTrusted(hop) { return hop }
        return hops.first ?? peer
    }

    func isTrusted(_ ip: String) -> Bool { trustedProxies.contains { $0.contains(ip) } }

    /// The hop without the blanks around it (`a, b` lists).
    static func trimmed(_ s: Substring) -> String {
        var u = s.utf8[...]
        while let b = u.first, b == 0x20 || b == 0x09 { u = u.dropFirst() }
        while let b = u.last, b == 0x20 || b == 0x09 { u = u.dropLast() }
        return String(decoding: u, as: UTF8.self)
    }

    /// `::ffff:10.0.0.1` is 10.0.0.1, as hosts are registered by their IPv4 address.
    static func unmapped(_ ip: String) -> String {
        ip.lowercased().hasPrefix("::ffff:") && ip.contains(".") ? String(ip.dropFirst(7)) : ip
    }
}

import Foundation
