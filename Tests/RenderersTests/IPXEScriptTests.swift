import Testing
@testable import Renderers

@Suite struct IPXEScriptTests {
    let mikrotik = "iqn.2000-02.com.mikrotik:file4"

    @Test func sanbootScriptLikeTheSpec() throws {
        let script = try IPXEScript.sanboot(iso: "coreos-live", host: "server1", mac: "AC:1F:6B:8A:A7:9C",
                                            target: ISCSITarget(portal: "192.168.10.1", iqn: mikrotik))
        #expect(script == "#!ipxe\necho Booting coreos-live for server1 (AC:1F:6B:8A:A7:9C)\nsanboot iscsi:192.168.10.1::::iqn.2000-02.com.mikrotik:file4\n")
    }

    @Test func sanbootWithLUNAndPort() throws {
        let tgt = try IPXEScript.sanboot(iso: "fedora-netinst", host: "h", mac: "52:54:00:12:34:56",
                                         target: ISCSITarget(portal: "10.0.2.2", port: 3260, lun: 1, iqn: "iqn.2024-01.lo.test:iso"))
        #expect(tgt.hasSuffix("\nsanboot iscsi:10.0.2.2:::1:iqn.2024-01.lo.test:iso\n"))
        let port = try IPXEScript.sanboot(iso: "i", host: "h", mac: "52:54:00:12:34:56",
                                          target: ISCSITarget(portal: "[fd00::1]", port: 3261, lun: 10, iqn: "iqn.2024-01.lo.test:iso"))
        #expect(port.hasSuffix("\nsanboot iscsi:[fd00::1]::3261:a:iqn.2024-01.lo.test:iso\n"))
        let noDescribe = try IPXEScript.sanboot(iso: "i", host: "h", mac: "52:54:00:12:34:56", target: ISCSITarget(portal: "h.example", iqn: mikrotik),
                                                describe: false, filename: "\\EFI\\BOOT\\BOOTX64.EFI")
        #expect(noDescribe.contains("\nsanboot --no-describe --filename \\EFI\\BOOT\\BOOTX64.EFI iscsi:h.example::::"))
        // The default keeps the disk described (iBFT) for installers.
        #expect(!tgt.contains("--no-describe"))
    }

    @Test func sanbootRefusesUnsafeValues() {
        let target = ISCSITarget(portal: "192.168.10.1", iqn: mikrotik)
        let cases: [(String, String, String, ISCSITarget)] = [
            ("iso name", "h", "52:54:00:12:34:56", target),
            ("iso", "h ost", "52:54:00:12:34:56", target),
            ("iso", "h", "not-a-mac", target),
            ("iso", "h", "52:54:00:12:34:56", ISCSITarget(portal: "192.168.10.1", iqn: "iqn.2000-02.com.mikrotik:a#b")),
            ("iso", "h", "52:54:00:12:34:56", ISCSITarget(portal: "fd00::1", iqn: mikrotik)),
            ("${x}", "h", "52:54:00:12:34:56", target),
            ("iso", "h", "52:54:00:12:34:56", ISCSITarget(portal: "192.168.10.1", lun: 70000, iqn: mikrotik)),
            ("iso", "h", "52:54:00:12:34:56", ISCSITarget(portal: "192.168.10.1", port: 0, iqn: mikrotik)),
        ]
        for (iso, host, mac, target) in cases {
            #expect(throws: IPXEScript.Invalid.self, "\(iso) \(host) \(mac) \(target)") {
                try IPXEScript.sanboot(iso: iso, host: host, mac: mac, target: target)
            }
        }
    }

    @Test func localBootMethods() throws {
        #expect(LocalBootMethod(rawValue: "exit") == .exit)
        #expect(LocalBootMethod(rawValue: "exit1") == .exitError)
        #expect(LocalBootMethod(rawValue: "sanboot-disk") == .sanbootDisk)
        #expect(try IPXEScript.localBoot(host: "server1", mac: "AC:1F:6B:8A:A7:9C") == "#!ipxe\necho Booting local disk for server1 (AC:1F:6B:8A:A7:9C)\nexit\n")
        #expect(try IPXEScript.localBoot(host: "s", mac: "ac:1f:6b:8a:a7:9c", method: .exitError).hasSuffix(")\nexit 1\n"))
        #expect(try IPXEScript.localBoot(host: "s", mac: "ac-1f-6b-8a-a7-9c", method: .sanbootDisk).hasSuffix(")\nsanboot --no-describe --drive 0x80\n"))
        #expect(throws: IPXEScript.Invalid.self) { try IPXEScript.localBoot(host: "#s", mac: "ac:1f:6b:8a:a7:9c") }
    }

    @Test func refusalIsSanitisedAndExits() {
        #expect(IPXEScript.refusal("No host with MAC ac:1f:6b:8a:a7:9c") == "#!ipxe\necho No host with MAC ac:1f:6b:8a:a7:9c\nexit 1\n")
        let nasty = IPXEScript.refusal("host ${net0/mac} #1 is\nlocked || shell && reboot\té")
        #expect(nasty == "#!ipxe\necho host __net0/mac_ No.1 is locked __ shell __ reboot ?\nexit 1\n")
        #expect(IPXEScript.refusal("") == "#!ipxe\necho Boot refused by bootgate\nexit 1\n")
        #expect(IPXEScript.refusal("-n quiet").hasPrefix("#!ipxe\necho Boot refused: -n quiet\n"))
        let long = IPXEScript.refusal(String(repeating: "x", count: 1000))
        #expect(long.count < 260)
        for script in [nasty, long] {
            let lines = script.split(separator: "\n")
            #expect(lines.count == 3)
            #expect(lines.last == "exit 1")
            #expect(!script.contains("shell\n"))
        }
    }

    @Test func chainScript() throws {
        #expect(try IPXEScript.chain(publicURL: "http://192.168.200.2:8082") == "#!ipxe\nisset ${ip} || dhcp\nchain http://192.168.200.2:8082/ipxe?mac=${netX/mac}\n")
        #expect(try IPXEScript.chain(publicURL: "http://boot.example/bootgate/") == "#!ipxe\nisset ${ip} || dhcp\nchain http://boot.example/bootgate/ipxe?mac=${netX/mac}\n")
        for bad in ["ftp://x", "http://a b", "http://x/#y", "http://x/${y}", "", "http://x/?a=b"] {
            #expect(throws: IPXEScript.Invalid.self, "\(bad)") { try IPXEScript.chain(publicURL: bad) }
        }
    }

    @Test func scriptsStartWithTheIPXEHeader() throws {
        let scripts = [
            try IPXEScript.sanboot(iso: "i", host: "h", mac: "52:54:00:12:34:56", target: ISCSITarget(portal: "10.0.0.1", iqn: mikrotik)),
            try IPXEScript.localBoot(host: "h", mac: "52:54:00:12:34:56"),
            IPXEScript.refusal("x"),
            try IPXEScript.chain(publicURL: "http://x"),
        ]
        for script in scripts {
            #expect(Array(script.utf8.prefix(7)) == Array("#!ipxe\n".utf8))
            #expect(!script.contains("\r"))
        }
    }

    @Test func valueChecks() {
        #expect(IPXEValue.check("coreos-live", field: "ISO") == nil)
        for bad in ["", "a b", "a\tb", "a\u{1}b", "#x", "a#b", "a${b}", "é"] {
            #expect(IPXEValue.check(bad, field: "ISO") != nil, "\(bad.debugDescription)")
        }
        #expect(IPXEValue.check("a b", field: "ISO name")?.contains("ISO name") == true)
    }

    @Test func iqnChecks() {
        for good in ["iqn.2000-02.com.mikrotik:file4", "iqn.2010-04.org.ipxe:rabbit", "iqn.2024-12.lo.g10", "iqn.2003-01.org.linux-iscsi.host:sn.1234:x_y",
                     "eui.02004567A425678D", "naa.52004567BA64678D", "naa.6001405ab0cd1234e5f6a7b8c9d0e1f2"] {
            #expect(IPXEValue.checkIQN(good) == nil, "\(good): \(IPXEValue.checkIQN(good) ?? "")")
        }
        for bad in ["iqn.2000-13.com.x", "iqn.200-02.com.x", "iqn.2000-02", "iqn.2000-02.", "iqn.2000-02.com..x", "iqn.2000-02.com.x:", "iqn.2000-02.com.x:a b",
                    "iqn.2000-02.com.x:a#b", "iqn.2000-02.com.x:${y}", "eui.123", "naa.12345678901234567890", "target1", "IQN:2000"] {
            #expect(IPXEValue.checkIQN(bad) != nil, "\(bad)")
        }
    }

    @Test func portalChecks() {
        for good in ["192.168.10.1", "10.0.2.2", "[fd00::1]", "[::ffff:192.0.2.1]", "rose.g10.lo", "localhost", "iscsi-1.example.com"] {
            #expect(IPXEValue.checkPortal(good) == nil, "\(good): \(IPXEValue.checkPortal(good) ?? "")")
        }
        for bad in ["", "256.1.1.1", "1.2.3", "fd00::1", "[fd00::1", "[xyz]", "-bad.example", "a..b", "host name", "h#x", "192.168.10.1:3260"] {
            #expect(IPXEValue.checkPortal(bad) != nil, "\(bad)")
        }
    }

    @Test func macChecks() {
        #expect(IPXEValue.checkMAC("AC:1F:6B:8A:A7:9C") == nil)
        #expect(IPXEValue.checkMAC("ac-1f-6b-8a-a7-9c") == nil)
        for bad in ["ac:1f:6b:8a:a7", "ac:1f:6b:8a:a7:9g", "ac1f6b8aa79c", "ac:1f:6b:8a:a7:9c:00"] {
            #expect(IPXEValue.checkMAC(bad) != nil, "\(bad)")
        }
    }
}
