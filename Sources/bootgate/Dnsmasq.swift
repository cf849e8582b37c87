import ArgumentParser
import Foundation
import Gateway

/// `bootgate dnsmasq`: prints the dnsmasq configuration that brings the lab's firmware to bootgate.
struct Dnsmasq: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print a dnsmasq configuration that PXE-boots the lab into bootgate (proxy-DHCP or a full DHCP range).",
        discussion: """
        PXE firmware gets iPXE over dnsmasq's TFTP (undionly.kpxe for BIOS, ipxe.efi for UEFI, from \
        Debian's ipxe package); iPXE gets <server-url>/boot.ipxe and never the binary again.
        Beside an existing DHCP server (it keeps handing out addresses):
          bootgate dnsmasq --interface eth1 --network 192.168.10.0/24 --server-url http://192.168.10.2:8082
        As the lab's only DHCP server:
          bootgate dnsmasq --mode range --interface eth1 --network 192.168.10.0/24 \\
            --range 192.168.10.100,192.168.10.199 --router 192.168.10.1 --server-url http://192.168.10.2:8082
        """)

    @Option(help: "proxy: beside the lab's DHCP server, which keeps handing out addresses; range: hand out addresses too.") var mode = "proxy"
    @Option(help: "The interface on the lab network.") var interface: String
    @Option(help: "The lab network (CIDR), e.g. 192.168.10.0/24.") var network: String
    @Option(help: "FIRST,LAST addresses to hand out (--mode range).") var range: String?
    @Option(help: "bootgate's URL as booting machines reach it (serve --public-url).") var serverURL: String
    @Option(help: "Folder TFTP serves: it must hold undionly.kpxe and ipxe.efi.") var tftpRoot = DnsmasqConfig.debianIPXEFolder
    @Option(help: "Lease time (--mode range).") var leaseTime = "12h"
    @Option(help: "Default gateway handed out (--mode range).") var router: String?
    @Option(help: "DNS server handed out (--mode range); repeatable.") var dns: [String] = []
    @Option(help: "MAC=IP: a fixed address (--mode range), e.g. a host's spec.ip; repeatable.") var host: [String] = []
    @Flag(help: "Log every DHCP exchange (dnsmasq's log-dhcp).") var logDhcp = false
    @Option(help: "Write the configuration to this file instead of standard output.") var output: String?

    func run() throws {
        guard let mode = DnsmasqConfig.Mode(rawValue: mode) else {
            throw ValidationError("--mode must be proxy or range, got \(mode)")
        }
        let leases = host.map { pair -> DnsmasqConfig.StaticLease in
            let parts = pair.split(separator: "=", maxSplits: 1)
            return .init(mac: String(parts.first ?? ""), ip: parts.count == 2 ? String(parts[1]) : "")
        }
        let config = DnsmasqConfig(mode: mode, interface: interface, network: network, range: range, serverURL: serverURL,
                                   tftpRoot: tftpRoot, leaseTime: leaseTime, router: router, dnsServers: dns,
                                   staticLeases: leases, logDHCP: logDhcp)
        let text: String
        do {
            text = try config.render()
        } catch {
            FileHandle.standardError.write(Data(error.problems.map { "bootgate dnsmasq: \($0)\n" }.joined().utf8))
            throw ExitCode(2)
        }
        for binary in [DnsmasqConfig.biosBinary, DnsmasqConfig.uefiBinary]
        where !FileManager.default.fileExists(atPath: tftpRoot + "/" + binary) {
            FileHandle.standardError.write(Data("bootgate dnsmasq: warning: \(tftpRoot)/\(binary) does not exist here (apt-get install ipxe, or copy it to the TFTP root)\n".utf8))
        }
        if let output {
            try Data(text.utf8).write(to: URL(fileURLWithPath: output))
        } else {
            FileHandle.standardOutput.write(Data(text.utf8))
        }
    }
}
