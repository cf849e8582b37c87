import Testing
@testable import Gateway

/// `bootgate dnsmasq`: what firmware and iPXE are told, in both modes, and every bad flag at once.
@Suite struct DnsmasqConfigTests {
    let url = "http://192.0.2.1:8082"

    func lines(_ config: DnsmasqConfig) throws -> [String] {
        try config.render().split(separator: "\n").map(String.init).filter { !$0.hasPrefix("#") && !$0.isEmpty }
    }

    @Test func proxyAnswersPXEBesideTheLabsServer() throws {
        let l = try lines(DnsmasqConfig(mode: .proxy, interface: "eth1", network: "192.0.2.0/24", serverURL: url + "/"))
        #expect(l.contains("dhcp-range=192.0.2.0,proxy,255.255.255.0"))
        #expect(l.contains("interface=eth1") && l.contains("bind-interfaces") && l.contains("port=0"))
        #expect(l.contains("enable-tftp") && l.contains("tftp-root=/usr/lib/ipxe"))
        // Firmware gets the binary for its architecture, iPXE only the URL: no loop.
        #expect(l.contains("pxe-service=tag:!ipxe,x86PC,\"bootgate: iPXE for BIOS\",undionly.kpxe"))
        #expect(l.contains("pxe-service=tag:!ipxe,BC_EFI,\"bootgate: iPXE for UEFI\",ipxe.efi"))
        #expect(l.contains("pxe-service=tag:!ipxe,x86-64_EFI,\"bootgate: iPXE for UEFI\",ipxe.efi"))
        for csa in ["x86PC", "BC_EFI", "x86-64_EFI"] {
            #expect(l.contains("pxe-service=tag:ipxe,\(csa),\"bootgate\",\(url)/boot.ipxe"), "one trailing slash dropped")
        }
        #expect(l.contains("dhcp-userclass=set:ipxe,iPXE") && l.contains("dhcp-match=set:ipxe,175"))
        #expect(!l.contains { $0.hasPrefix("dhcp-host") || $0.hasPrefix("dhcp-option") }, "the lab's server sends addresses and options")
        // Every line that names a binary or the URL is guarded by the iPXE tag one way or the other.
        for line in l where line.contains("undionly") || line.contains(".efi") || line.contains("boot.ipxe") {
            #expect(line.contains("tag:ipxe,") || line.contains("tag:!ipxe,"), "\(line)")
            #expect(line.contains("tag:!ipxe,") == !line.contains("boot.ipxe"), "\(line)")
        }
    }

    @Test func rangeHandsOutAddressesAndPicksTheBinaryByOption93() throws {
        let l = try lines(DnsmasqConfig(mode: .range, interface: "br0", network: "10.9.0.0/16", range: "10.9.1.10, 10.9.1.200",
                                        serverURL: url, router: "10.9.0.1", dnsServers: ["10.9.0.2", "10.9.0.3"],
                                        staticLeases: [.init(mac: "52:54:00:AB:CD:EF", ip: "10.9.1.5")], logDHCP: true))
        #expect(l.contains("dhcp-range=10.9.1.10,10.9.1.200,255.255.0.0,12h"))
        #expect(l.contains("dhcp-option=option:router,10.9.0.1"))
        #expect(l.contains("dhcp-option=option:dns-server,10.9.0.2,10.9.0.3"))
        #expect(l.contains("dhcp-host=52:54:00:ab:cd:ef,10.9.1.5"))
        #expect(l.contains("log-dhcp"))
        #expect(l.contains("dhcp-match=set:bios,option:client-arch,0"))
        #expect(l.contains("dhcp-match=set:efi64,option:client-arch,7") && l.contains("dhcp-match=set:efi64,option:client-arch,9"))
        #expect(l.contains("dhcp-boot=tag:bios,tag:!ipxe,undionly.kpxe"))
        #expect(l.contains("dhcp-boot=tag:efi64,tag:!ipxe,ipxe.efi"))
        #expect(l.contains("dhcp-boot=tag:ipxe,\(url)/boot.ipxe"))
        #expect(!l.contains { $0.hasPrefix("pxe-service") }, "pxe-service is for the proxy")
    }

    @Test func everyBadFlagIsNamedAtOnce() {
        let config = DnsmasqConfig(mode: .range, interface: "eth 1", network: "192.0.2.7/24", range: "192.0.3.1,192.0.2.9",
                                   serverURL: "http://127.0.0.1:8082", leaseTime: "forever", router: "10.0.0.1", dnsServers: ["dns"],
                                   staticLeases: [.init(mac: "zz", ip: "192.0.2.5")])
        #expect(throws: DnsmasqConfig.Invalid.self) { try config.render() }
        do {
            _ = try config.render()
        } catch {
            let text = error.problems.joined(separator: "\n")
            for flag in ["--interface", "--network 192.0.2.7/24 has host bits set: the network is 192.0.2.0/24", "--range",
                         "--dns \"dns\"", "--host zz=192.0.2.5", "--lease-time", "--server-url http://127.0.0.1:8082 names loopback"] {
                #expect(text.contains(flag), "\(flag) in \(text)")
            }
        }
    }

    @Test func addressesOutsideTheNetworkAreRefused() {
        let config = DnsmasqConfig(mode: .range, interface: "eth0", network: "192.0.2.0/24", range: "192.0.2.10,192.0.3.20",
                                   serverURL: url, router: "10.0.0.1", staticLeases: [.init(mac: "52:54:00:00:00:01", ip: "192.0.4.5")])
        do {
            _ = try config.render()
            Issue.record("rendered")
        } catch {
            #expect(error.problems.count == 3)
            #expect(error.problems.allSatisfy { $0.contains("not inside --network 192.0.2.0/24") || $0.contains("is not an address inside --network 192.0.2.0/24") })
        }
    }

    @Test func proxyRefusesWhatOnlyARangeCanHandOut() {
        let config = DnsmasqConfig(mode: .proxy, interface: "eth0", network: "192.0.2.0/24", range: "192.0.2.10,192.0.2.20",
                                   serverURL: url, staticLeases: [.init(mac: "52:54:00:00:00:01", ip: "192.0.2.5")])
        #expect(throws: DnsmasqConfig.Invalid.self) { try config.render() }
        do { _ = try config.render() } catch {
            #expect(error.problems.count == 2)
            #expect(error.problems[0].hasPrefix("--range is for --mode range"))
        }
    }

    @Test func urlsThatWouldBreakTheFileOrIPXEAreRefused() {
        for bad in ["ftp://192.0.2.1/", "http://", "192.0.2.1:8082", "http://192.0.2.1:8082/a,b", "http://192.0.2.1/x y",
                    "http://192.0.2.1/?mac=1", "http://192.0.2.1/${mac}", "http://localhost:8082"] {
            #expect(throws: DnsmasqConfig.Invalid.self, "\(bad)") {
                try DnsmasqConfig(mode: .proxy, interface: "eth0", network: "192.0.2.0/24", serverURL: bad).render()
            }
        }
        #expect(throws: DnsmasqConfig.Invalid.self) {
            try DnsmasqConfig(mode: .range, interface: "eth0", network: "192.0.2.0/24", serverURL: url).render()
        }
        #expect(throws: DnsmasqConfig.Invalid.self) {
            try DnsmasqConfig(mode: .proxy, interface: "eth0", network: "192.0.2.0/24", serverURL: url, tftpRoot: "srv/tftp").render()
        }
    }
}

/// The start-up warning for `--public-url` / `--iscsi-portal` left at defaults of another lab.
@Suite struct DefaultAddressCheckTests {
    let defaults = (url: "http://192.168.200.2:8082", portal: "192.168.10.1")

    func warnings(_ url: String?, _ portal: String?, local: Set<String>) -> [String] {
        DefaultAddressCheck.warnings(publicURL: url, iscsiPortal: portal, defaultPublicURL: defaults.url,
                                     defaultISCSIPortal: defaults.portal, localAddresses: local)
    }

    @Test func defaultsThatAreNotThisMachineAreNamed() {
        let w = warnings(nil, nil, local: ["127.0.0.1", "10.1.1.1"])
        #expect(w.count == 2)
        #expect(w[0].hasPrefix("--public-url is not set") && w[0].contains("192.168.200.2"))
        #expect(w[1].hasPrefix("--iscsi-portal is not set") && w[1].contains("192.168.10.1"))
    }

    @Test func givenFlagsOrLocalDefaultsAreQuiet() {
        #expect(warnings("http://10.0.0.5:8082", "10.0.0.5", local: ["127.0.0.1"]).isEmpty, "given: the admin's choice (NAT, a proxy)")
        #expect(warnings(nil, nil, local: ["192.168.200.2", "192.168.10.1"]).isEmpty, "this machine is the spec's lab")
        #expect(warnings(nil, "10.0.0.5", local: ["127.0.0.1"]).count == 1)
    }

    @Test func hostsAreReadFromURLs() {
        #expect(DefaultAddressCheck.host(ofURL: "http://192.168.200.2:8082") == "192.168.200.2")
        #expect(DefaultAddressCheck.host(ofURL: "http://[fd00::1]:8082/x") == "fd00::1")
        #expect(DefaultAddressCheck.host(ofURL: "https://boot.lab/") == "boot.lab")
        #expect(DefaultAddressCheck.localAddresses().contains("127.0.0.1"))
    }
}
