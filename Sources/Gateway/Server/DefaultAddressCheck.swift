import Foundation

/// At start: `--public-url` and `--iscsi-portal` left at their defaults name addresses of the
/// spec's lab, which are usually not this machine's. Machines would then chain to, or sanboot
/// from, somewhere else and fail far from the cause; the warning names the flag.
public enum DefaultAddressCheck {
    /// One warning per flag that was not given and whose default host is not `local`.
    public static func warnings(publicURL: String?, iscsiPortal: String?, defaultPublicURL: String, defaultISCSIPortal: String,
                                localAddresses: Set<String>) -> [String] {
        var out: [String] = []
        if publicURL == nil, let host = host(ofURL: defaultPublicURL), !localAddresses.contains(host) {
            out.append("--public-url is not set: booting machines are told to reach bootgate at \(defaultPublicURL), and \(host) is not an address of this machine. Pass --public-url http://ADDRESS:PORT as the lab's machines reach this server.")
        }
        if iscsiPortal == nil, !localAddresses.contains(defaultISCSIPortal) {
            out.append("--iscsi-portal is not set: ISOs whose status names no portal are sanbooted from \(defaultISCSIPortal), which is not an address of this machine. Pass --iscsi-portal ADDRESS of the iSCSI target.")
        }
        return out
    }

    static func host(ofURL url: String) -> String? {
        guard let authority = url.split(separator: "/", omittingEmptySubsequences: false).dropFirst(2).first, !authority.isEmpty else { return nil }
        if authority.hasPrefix("["), let end = authority.firstIndex(of: "]") {
            return String(authority[authority.index(after: authority.startIndex)..<end])
        }
        return String(authority.split(separator: ":").first ?? "")
    }

    /// The IPv4 and IPv6 addresses of this machine's interfaces (numeric, no zone).
    public static func localAddresses() -> Set<String> {
        var result: Set<String> = ["localhost"]
        var list: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&list) == 0 else { return result }
        defer { freeifaddrs(list) }
        var cursor = list
        while let entry = cursor {
            defer { cursor = entry.pointee.ifa_next }
            guard let addr = entry.pointee.ifa_addr else { continue }
            let family = Int32(addr.pointee.sa_family)
            guard family == AF_INET || family == AF_INET6 else { continue }
            var buffer = [CChar](repeating: 0, count: Int(NI_MAXHOST))
            let length = socklen_t(family == AF_INET ? MemoryLayout<sockaddr_in>.size : MemoryLayout<sockaddr_in6>.size)
            if getnameinfo(addr, length, &buffer, socklen_t(buffer.count), nil, 0, NI_NUMERICHOST) == 0 {
                let text = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
                result.insert(String(text.split(separator: "%").first ?? ""))
            }
        }
        return result
    }
}
