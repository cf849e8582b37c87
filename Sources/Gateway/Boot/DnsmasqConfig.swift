import Foundation

/// The dnsmasq configuration that brings a lab's firmware to bootgate (`bootgate dnsmasq`).
///
/// PXE firmware gets an iPXE binary over dnsmasq's TFTP, picked by DHCP option 93 (RFC 4578):
/// `undionly.kpxe` for BIOS, `ipxe.efi` for x86-64 UEFI (both from Debian's `ipxe` package).
/// iPXE is recognised by its user class `iPXE` or its option 175 and gets bootgate's
/// `/boot.ipxe` instead, so it never loads the binary again (the classic chain-loading loop).
/// `proxy` answers PXE clients only, beside the lab's own DHCP server; `range` hands out
/// addresses too.
public struct DnsmasqConfig: Sendable, Equatable {
    public enum Mode: String, Sendable, CaseIterable {
        case proxy, range
    }

    /// An address pinned to a MAC (range mode), so a host's `spec.ip` stays its address.
    public struct StaticLease: Sendable, Equatable {
        public var mac: String
        public var ip: String
        public init(mac: String, ip: String) { self.mac = mac; self.ip = ip }
    }

    /// Every problem of the flags at once, each naming its flag.
    public struct Invalid: Error, Sendable, Equatable, CustomStringConvertible {
        public var problems: [String]
        public var description: String { problems.joined(separator: "\n") }
    }

    public var mode: Mode
    public var interface: String
    /// The lab network as a CIDR (`192.168.10.0/24`).
    public var network: String
    /// `FIRST,LAST` addresses handed out (range mode only).
    public var range: String?
    /// How iPXE reaches bootgate (`serve --public-url`).
    public var serverURL: String
    public var tftpRoot: String
    public var leaseTime: String
    public var router: String?
    public var dnsServers: [String]
    public var staticLeases: [StaticLease]
    public var logDHCP: Bool

    public init(mode: Mode, interface: String, network: String, range: String? = nil, serverURL: String,
                tftpRoot: String = DnsmasqConfig.debianIPXEFolder, leaseTime: String = "12h", router: String? = nil,
                dnsServers: [String] = [], staticLeases: [StaticLease] = [], logDHCP: Bool = false) {
        self.mode = mode
        self.interface = interface
        self.network = network
        self.range = range
        self.serverURL = serverURL
        self.tftpRoot = tftpRoot
        self.leaseTime = leaseTime
        self.router = router
        self.dnsServers = dnsServers
        self.staticLeases = staticLeases
        self.logDHCP = logDHCP
    }

    /// Where Debian's `ipxe` package puts `undionly.kpxe` and `ipxe.efi`: served as they are.
    public static let debianIPXEFolder = "/usr/lib/ipxe"
    public static let biosBinary = "undionly.kpxe"
    public static let uefiBinary = "ipxe.efi"

    /// The configuration file, or every problem of the inputs.
    public func render() throws(Invalid) -> String {
        let net = try checked()
        let url = serverURL.hasSuffix("/") ? String(serverURL.dropLast()) : serverURL
        var out: [String] = [
            "# dnsmasq configuration for bootgate, made by `bootgate dnsmasq`.",
            mode == .proxy
                ? "# Proxy-DHCP: the lab's DHCP server keeps handing out addresses; this dnsmasq only tells PXE firmware what to boot."
                : "# Full DHCP: this dnsmasq hands out \(range ?? "") on \(network) and tells PXE firmware what to boot.",
            "# Needs Debian's dnsmasq (or dnsmasq-base) and ipxe packages; e.g. save as /etc/dnsmasq.d/bootgate.conf.",
            "",
            "# No DNS: this dnsmasq is for booting only.",
            "port=0",
            "interface=\(interface)",
            "bind-interfaces",
        ]
        if logDHCP { out.append("log-dhcp") }
        switch mode {
        case .proxy:
            out.append("dhcp-range=\(Self.dotted(net.address)),proxy,\(Self.dotted(net.mask))")
        case .range:
            let (first, last) = Self.rangeEnds(range ?? "")!
            out.append("dhcp-range=\(first),\(last),\(Self.dotted(net.mask)),\(leaseTime)")
            if let router { out.append("dhcp-option=option:router,\(router)") }
            if !dnsServers.isEmpty { out.append("dhcp-option=option:dns-server,\(dnsServers.joined(separator: ","))") }
            for lease in staticLeases { out.append("dhcp-host=\(lease.mac.lowercased()),\(lease.ip)") }
        }
        out += [
            "",
            "enable-tftp",
            "tftp-root=\(tftpRoot)",
            "",
            "# iPXE says what it is (user class \"iPXE\", option 175): it gets bootgate's script,",
            "# never the iPXE binary again, which would load itself over and over.",
            "dhcp-userclass=set:ipxe,iPXE",
            "dhcp-match=set:ipxe,175",
        ]
        if url.hasPrefix("https://") {
            out.append("# Debian's iPXE (2019) has no HTTPS: with its binaries the URL below must be http://.")
        }
        switch mode {
        case .proxy:
            // A proxy names the file through PXE boot services, by the client's architecture
            // (CSA, from option 93), for iPXE too: iPXE asks the proxy again on port 4011, and
            // an answer without a service for it leaves it with nothing to boot.
            out += [
                "# PXE firmware loads iPXE over TFTP: BIOS (option 93 = 0), x86-64 UEFI (7, and 9 as some firmware sends).",
                "pxe-service=tag:!ipxe,x86PC,\"bootgate: iPXE for BIOS\",\(Self.biosBinary)",
                "pxe-service=tag:!ipxe,BC_EFI,\"bootgate: iPXE for UEFI\",\(Self.uefiBinary)",
                "pxe-service=tag:!ipxe,x86-64_EFI,\"bootgate: iPXE for UEFI\",\(Self.uefiBinary)",
                "# iPXE chains to bootgate, which sends it on to /ipxe with the NIC's MAC.",
                "pxe-service=tag:ipxe,x86PC,\"bootgate\",\(url)/boot.ipxe",
                "pxe-service=tag:ipxe,BC_EFI,\"bootgate\",\(url)/boot.ipxe",
                "pxe-service=tag:ipxe,x86-64_EFI,\"bootgate\",\(url)/boot.ipxe",
                "",
            ]
        case .range:
            out += [
                "# PXE firmware loads iPXE over TFTP: BIOS (option 93 = 0), x86-64 UEFI (7, and 9 as some firmware sends).",
                "dhcp-match=set:bios,option:client-arch,0",
                "dhcp-match=set:efi64,option:client-arch,7",
                "dhcp-match=set:efi64,option:client-arch,9",
                "dhcp-boot=tag:bios,tag:!ipxe,\(Self.biosBinary)",
                "dhcp-boot=tag:efi64,tag:!ipxe,\(Self.uefiBinary)",
                "# iPXE chains to bootgate, which sends it on to /ipxe with the NIC's MAC.",
                "dhcp-boot=tag:ipxe,\(url)/boot.ipxe",
                "",
            ]
        }
        return out.joined(separator: "\n")
    }

    // MARK: - checks

    typealias Network = (address: UInt32, mask: UInt32)

    func checked() throws(Invalid) -> Network {
        var problems: [String] = []
        if interface.isEmpty || interface.count > 15 || !interface.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) }) {
            problems.append("--interface \(Self.quoted(interface)) is not an interface name (letters, digits, . _ -, at most 15)")
        }
        var net: Network?
        let parts = network.split(separator: "/", omittingEmptySubsequences: false)
        if parts.count == 2, let address = Self.ipv4(String(parts[0])), let prefix = Int(parts[1]), (1...30).contains(prefix) {
            let mask = UInt32.max << UInt32(32 - prefix)
            if address & ~mask != 0 {
                problems.append("--network \(network) has host bits set: the network is \(Self.dotted(address & mask))/\(prefix)")
            } else {
                net = (address, mask)
            }
        } else {
            problems.append("--network \(Self.quoted(network)) must be an IPv4 network such as 192.168.10.0/24 (prefix 1 to 30)")
        }
        let inside = { (ip: UInt32) in net.map { ip & $0.mask == $0.address } ?? true }
        switch mode {
        case .proxy:
            if range != nil { problems.append("--range is for --mode range: in proxy mode the lab's DHCP server hands out the addresses") }
            if router != nil || !dnsServers.isEmpty || !staticLeases.isEmpty {
                problems.append("--router, --dns and --host are for --mode range: in proxy mode the lab's DHCP server sends them")
            }
        case .range:
            if let range, let (first, last) = Self.rangeEnds(range), let a = Self.ipv4(first), let b = Self.ipv4(last) {
                if a > b { problems.append("--range \(range): the first address is after the last") }
                if !inside(a) || !inside(b) { problems.append("--range \(range) is not inside --network \(network)") }
            } else {
                problems.append("--mode range needs --range FIRST,LAST (IPv4 addresses inside --network), got \(Self.quoted(range ?? ""))")
            }
            if let router, Self.ipv4(router).map(inside) != true { problems.append("--router \(Self.quoted(router)) is not an address inside --network \(network)") }
            for dns in dnsServers where Self.ipv4(dns) == nil { problems.append("--dns \(Self.quoted(dns)) is not an IPv4 address") }
            for lease in staticLeases {
                if !Self.isMAC(lease.mac) { problems.append("--host \(lease.mac)=\(lease.ip): \(Self.quoted(lease.mac)) is not a MAC such as 52:54:00:12:34:56") }
                if Self.ipv4(lease.ip).map(inside) != true { problems.append("--host \(lease.mac)=\(lease.ip): \(Self.quoted(lease.ip)) is not an address inside --network \(network)") }
            }
            if leaseTime != "infinite", leaseTime.range(of: #"^[0-9]+[smhdw]?$"#, options: .regularExpression) == nil {
                problems.append("--lease-time \(Self.quoted(leaseTime)) must be a number with s, m, h, d or w, or infinite")
            }
        }
        let url = serverURL
        let host = url.split(separator: "/", omittingEmptySubsequences: false).dropFirst(2).first ?? ""
        if !(url.hasPrefix("http://") || url.hasPrefix("https://")) || host.isEmpty {
            problems.append("--server-url \(Self.quoted(url)) must be bootgate's http:// URL as booting machines reach it (serve --public-url)")
        } else if url.contains(where: { $0.isWhitespace || ",#\"'?$".contains($0) }) {
            // dnsmasq splits values on commas; iPXE would expand ${…}.
            problems.append("--server-url \(Self.quoted(url)) must not contain spaces, commas, quotes, #, ? or $")
        } else if ["localhost", "127."].contains(where: { host.hasPrefix($0) }) {
            problems.append("--server-url \(url) names loopback: booting machines cannot reach bootgate there")
        }
        if !tftpRoot.hasPrefix("/") || tftpRoot.contains(where: { $0.isWhitespace || $0 == "," }) {
            problems.append("--tftp-root \(Self.quoted(tftpRoot)) must be an absolute path without spaces or commas")
        }
        if !problems.isEmpty { throw Invalid(problems: problems) }
        return net!
    }

    static func rangeEnds(_ text: String) -> (String, String)? {
        let ends = text.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        guard ends.count == 2 else { return nil }
        return (ends[0], ends[1])
    }

    static func ipv4(_ text: String) -> UInt32? {
        let octets = text.split(separator: ".", omittingEmptySubsequences: false)
        guard octets.count == 4 else { return nil }
        var value: UInt32 = 0
        for o in octets {
            guard !o.isEmpty, o.count <= 3, o.allSatisfy(\.isNumber), let n = UInt32(o), n <= 255 else { return nil }
            value = value << 8 | n
        }
        return value
    }

    static func dotted(_ v: UInt32) -> String {
        "\(v >> 24).\(v >> 16 & 255).\(v >> 8 & 255).\(v & 255)"
    }

    static func isMAC(_ text: String) -> Bool {
        text.range(of: #"^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}$"#, options: .regularExpression) != nil
    }

    static func quoted(_ s: String) -> String { "\"\(s)\"" }
}
