/// Who is asking, on the boot path: the connection's peer address, or, when the peer is a
/// trusted proxy, the right-most untrusted address of `X-Forwarded-For`.
public struct SourceIPResolver: Sendable {
    public var trustedProxies: [CIDR]

    public init(trustedProxies: [CIDR]) { self.trustedProxies = trustedProxies }

    /// Every config request passes here: the header is read right to left in place, without
    /// splitting it into an array first.
    public func clientIP(peer: String, forwardedFor: String?) -> String {
        let peer = Self.unmapped(peer)
        guard let header = forwardedFor, !header.isEmpty, isTrusted(peer) else { return peer }
        let bytes = header.utf8
        var end = bytes.endIndex
        var leftmost: String?
        while true {
            let comma = bytes[..<end].lastIndex(of: UInt8(ascii: ","))
            let start = comma.map { bytes.index(after: $0) } ?? bytes.startIndex
            if start < end { // an empty hop (`a,,b`) is no hop
                let hop = Self.unmapped(Self.trimmed(Substring(bytes[start..<end])))
                if !isTrusted(hop) { return hop }
                leftmost = hop
            }
            guard let comma else { return leftmost ?? peer }
            end = comma
        }
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
        let prefix = "::ffff:".utf8
        let mapped = ip.utf8.starts(with: prefix) { $0 | 0x20 == $1 } && ip.utf8.contains(UInt8(ascii: "."))
        return mapped ? String(ip.dropFirst(prefix.count)) : ip
    }
}

import Foundation
