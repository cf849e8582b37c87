import Testing
@testable import Renderers

@Suite struct BootMethodTests {
    let mac = "52:54:00:12:34:56"
    let base = "http://10.0.2.2:8082"

    func iso(_ annotations: [String: String] = [:], ready: Bool = true, target: ISCSITarget? = nil) -> BootRequest.ISO {
        let base = self.base
        return .init(name: "fedora-netinst", target: target, fileURL: { "\(base)/api/v1/iscsi-cdroms/fedora-netinst/files?path=\($0)" },
                     ready: ready, annotations: annotations)
    }

    @Test func builtinsAreTodaysScripts() throws {
        let methods = IPXEBootMethods()
        #expect(methods.names == ["kernel", "local", "sanboot"])
        let target = ISCSITarget(portal: "10.0.2.2", port: 3261, lun: 1, iqn: "iqn.2026-01.io.bootgate:fedora-netinst")
        let san = try methods.script("sanboot", for: BootRequest(host: "h1", mac: mac, iso: iso(target: target)))
        #expect(san == (try IPXEScript.sanboot(iso: "fedora-netinst", host: "h1", mac: mac, target: target)))
        #expect(san.hasSuffix("sanboot iscsi:10.0.2.2::3261:1:iqn.2026-01.io.bootgate:fedora-netinst\n"))
        let local = try methods.script("local", for: BootRequest(host: "h1", mac: mac, iso: nil, localBoot: .exitError))
        #expect(local == "#!ipxe\necho Booting local disk for h1 (\(mac))\nexit 1\n")
        #expect(throws: IPXEScript.Invalid.self) { try methods.script("sanboot", for: BootRequest(host: "h1", mac: mac, iso: iso())) }
    }

    @Test func kernelMethodBootsTheISOsOwnKernelWithTheConfigURL() throws {
        let methods = IPXEBootMethods()
        let request = BootRequest(host: "h1", mac: mac, iso: iso([BootAnnotation.kernelArgs: "console=ttyS0,115200 inst.text"]),
                                  configURL: base + "/api/v1/bootconfig", configFormat: "kickstart")
        let script = try methods.script("kernel", for: request)
        let files = base + "/api/v1/iscsi-cdroms/fedora-netinst/files?path="
        #expect(script == """
            #!ipxe
            echo Booting fedora-netinst kernel over HTTP for h1 (\(mac))
            kernel --name vmlinuz \(files)/images/pxeboot/vmlinuz initrd=initrd0 console=ttyS0,115200 inst.text inst.ks=\(base)/api/v1/bootconfig
            initrd --name initrd0 \(files)/images/pxeboot/initrd.img
            boot

            """)
        // Ignition gets its own argument; several initrds each get a name; no config, no argument.
        let coreos = try methods.script("kernel", for: BootRequest(host: "h1", mac: mac, iso: iso([
            BootAnnotation.kernel: "/images/pxeboot/vmlinuz", BootAnnotation.initrd: "/images/pxeboot/initrd.img,/images/pxeboot/rootfs.img"]),
            configURL: base + "/api/v1/bootconfig", configFormat: "ignition"))
        #expect(coreos.contains("initrd=initrd0 initrd=initrd1 ignition.config.url=\(base)/api/v1/bootconfig\n"))
        #expect(coreos.contains("initrd --name initrd1 \(files)/images/pxeboot/rootfs.img\n"))
        let bare = try methods.script("kernel", for: BootRequest(host: "h1", mac: mac, iso: iso(), configURL: nil))
        #expect(bare.contains("vmlinuz initrd=initrd0\n"))
    }

    @Test func kernelMethodRefusesWhatIPXEWouldMisread() {
        let methods = IPXEBootMethods()
        let bad: [[String: String]] = [
            [BootAnnotation.kernel: "images/vmlinuz"],          // not absolute
            [BootAnnotation.kernel: "/a/../../etc/passwd"],
            [BootAnnotation.initrd: "/a b"],
            [BootAnnotation.initrd: "/x?y"],
            [BootAnnotation.kernelArgs: "a=${net0/mac}"],
            [BootAnnotation.kernelArgs: "x #comment"],
        ]
        for a in bad {
            #expect(throws: IPXEScript.Invalid.self, "\(a)") { try methods.script("kernel", for: BootRequest(host: "h", mac: mac, iso: iso(a))) }
            #expect(!BootAnnotation.problems(a).isEmpty, "\(a)")
        }
        #expect(throws: IPXEScript.Invalid.self) { try methods.script("kernel", for: BootRequest(host: "h", mac: mac, iso: iso(ready: false))) }
        #expect(BootAnnotation.problems([BootAnnotation.kernelArgs: "console=ttyS0 quiet", BootAnnotation.method: "kernel"]).isEmpty)
    }

    @Test func checkerAllowsOnlyKnownCommandsAndURIs() {
        #expect(IPXEScriptChecker.problems("#!ipxe\necho hi\nkernel http://a/b x=1\ninitrd http://a/c\nboot\n").isEmpty)
        #expect(IPXEScriptChecker.problems("#!ipxe\nchain http://s/ipxe?mac=${net0/mac}\n").isEmpty)
        #expect(IPXEScriptChecker.problems("#!ipxe\nshell\n").first?.contains("line 2: shell") == true)
        #expect(IPXEScriptChecker.problems("#!ipxe\ngoto x\n").first?.contains("not allowed") == true)
        #expect(IPXEScriptChecker.problems("echo hi\n").first?.contains("#!ipxe") == true)
        #expect(IPXEScriptChecker.problems("#!ipxe\nkernel ftp://a/b\n").first?.contains("not http") == true)
        #expect(IPXEScriptChecker.problems("#!ipxe\nkernel http://a/b#c\n").first?.contains("#") == true)
        #expect(IPXEScriptChecker.problems("#!ipxe\nkernel http://a/${x}\n").count == 1)
    }

    struct Memdisk: BootMethod {
        let name: String
        let body: String
        var summary: String { "test" }
        func script(for r: BootRequest) throws(IPXEScript.Invalid) -> String { body }
    }

    @Test func aPluginAddsAMethodButCannotReplaceOneOrServeAShell() throws {
        let methods = IPXEBootMethods(extra: [
            Memdisk(name: "memdisk", body: "#!ipxe\nkernel http://s/memdisk iso raw\ninitrd http://s/x.iso\nboot\n"),
            Memdisk(name: "sanboot", body: "#!ipxe\nexit\n"),
            Memdisk(name: "evil", body: "#!ipxe\necho hi\nshell\n"),
        ])
        #expect(methods.names == ["evil", "kernel", "local", "memdisk", "sanboot"])
        #expect(try methods.script("memdisk", for: BootRequest(host: "h", mac: mac, iso: nil)).contains("memdisk"))
        #expect(methods.method("sanboot") is SanbootMethod)
        #expect(!methods.isBuiltin("memdisk") && methods.isBuiltin("kernel"))
        #expect(throws: IPXEScript.Invalid.self) { try methods.script("evil", for: BootRequest(host: "h", mac: mac, iso: nil)) }
        #expect(throws: IPXEScript.Invalid.self) { try methods.script("nope", for: BootRequest(host: "h", mac: mac, iso: nil)) }
    }
}
