import Foundation

/// An address range such as `10.0.0.0/8` or `::1/128`, for `--trusted-proxy`.
public struct CIDR: Sendable, Hashable, CustomStringConvertible {
    let network: [UInt8]
    let prefix: Int
    public let description: String

    public init?(_ text: String) {
        let parts = text.split(separator: "/", maxSplits: 1)
        guard let bytes = CIDR.bytes(String(parts[0])) else { return nil }
        let prefix = parts.count == 2 ? Int(parts[1]) : bytes.count * 8
        guard let prefix, prefix >= 0, prefix <= bytes.count * 8 else { return nil }
        self.network = bytes
        self.prefix = prefix
        self.description = text
    }

    public func contains(_ address: String) -> Bool {
        CIDR.withBytes(of: address) { bytes in
            guard bytes.count == network.count else { return false }
            var bits = prefix
            for (a, b) in zip(bytes, network) {
                if bits <= 0 { return true }
                let mask: UInt8 = bits >= 8 ? 0xFF : ~(0xFF >> UInt8(bits))
                if a & mask != b & mask { return false }
                bits -= 8
            }
            return true
        } ?? false
    }

    /// IPv4 as 4 bytes, IPv6 as 16; IPv4-mapped IPv6 (`::ffff:a.b.c.d`) as IPv4.
    static func bytes(_ text: String) -> [UInt8]? {
        withBytes(of: text) { Array($0) }
    }

    /// `bytes` on the stack: the boot path checks the peer and proxy hops of every config request.
    static func withBytes<R>(of text: String, _ body: (UnsafeRawBufferPointer) -> R) -> R? {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 { return withUnsafeBytes(of: &v4, body) }
        var v6 = in6_addr()
        guard inet_pton(AF_INET6, text, &v6) == 1 else { return nil }
        return withUnsafeBytes(of: &v6) { b in
            let mapped = b[0..<10].allSatisfy { $0 == 0 } && b[10] == 0xFF && b[11] == 0xFF
            return body(mapped ? UnsafeRawBufferPointer(rebasing: b[12..<16]) : b)
        }
    }
}
