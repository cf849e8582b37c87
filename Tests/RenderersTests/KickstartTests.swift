import Foundation
import Testing
@testable import Renderers

/// The spec's fedora-server kickstart (seed/boot-architecture.md).
let fedoraServer = """
url --url=https://download.fedoraproject.org/pub/fedora/linux/releases/43/Everything/x86_64/os/
keyboard us
lang en_US.UTF-8
timezone UTC
rootpw --plaintext admin
bootloader --append="console=tty0 console=ttyS0,115200n8 console=ttyS1,115200n8"
clearpart --all --initlabel
autopart
reboot
%packages
@^server-product-environment
%end

"""

/// Runs pykickstart's ksvalidator (Fedora 43 syntax, the version KickstartSyntax is taken from).
enum KSValidator {
    static var path: String? {
        let directories = (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":")
        return directories.map { "\($0)/ksvalidator" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// Exit status and output, or nil (with a recorded failure) when ksvalidator is missing.
    static func run(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> (status: Int32, output: String)? {
        guard let path else {
            Issue.record("ksvalidator is not on PATH: pip install pykickstart (CI installs it)", sourceLocation: sourceLocation)
            return nil
        }
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("bootgate-\(UUID().uuidString).ks")
        try text.write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = ["-v", "F43", file.path]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, output)
    }
}

@Suite(.serialized) struct KickstartTests {
    let renderer = KickstartRenderer()

    func errors(_ text: String) -> [Diagnostic] {
        KickstartValidator.validate(file: "ks.cfg", text: text).filter { $0.severity == .error }
    }

    @Test func metadata() {
        #expect(renderer.format == "kickstart")
        #expect(renderer.contentType == "text/plain")
        #expect(renderer.mainFileNames == ["ks.cfg", "kickstart.cfg", "anaconda-ks.cfg"])
    }

    @Test func specKickstartIsValidHereAndForKsvalidator() async throws {
        #expect(await renderer.validate(files: ["ks.cfg": fedoraServer]).isEmpty)
        let result = try KSValidator.run(fedoraServer)
        #expect(result?.status == 0, "\(result?.output ?? "")")
    }

    @Test func everySectionKindIsAccepted() throws {
        let text = """
        lang en_US.UTF-8
        %pre --interpreter=/usr/bin/bash
        printf '%s\\n' "a line starting with a percent sign follows"
        %s not a section
        %end
        %pre-install
        true
        %end
        %post --nochroot --log=/mnt/sysroot/root/ks-post.log
        echo done
        %end
        %onerror
        echo failed
        %end
        %addon com_redhat_kdump --disable
        %end
        %anaconda
        pwpolicy root --minlen=6 --minquality=1 --notstrict --nochanges --emptyok
        %end
        %packages --ignoremissing
        @core
        -dnf-plugins-core
        %end

        """
        #expect(errors(text).isEmpty, "\(errors(text).map(\.located))")
        let result = try KSValidator.run(text)
        #expect(result?.status == 0, "\(result?.output ?? "")")
    }

    @Test func renderedTemplatesPassKsvalidator() async throws {
        let template = """
        url --url=https://download.fedoraproject.org/pub/fedora/linux/releases/43/Everything/x86_64/os/
        lang en_US.UTF-8
        keyboard us
        timezone UTC
        rootpw --lock
        network --bootproto=static --device={{host.mac}} --ip={{host.ip}} --netmask=255.255.255.0 --hostname={{host.hostname}} --activate
        {{#host.nics}}
        network --bootproto=static --device={{mac}} --ip={{ip}} --netmask=255.255.255.0 --onboot=yes
        {{/host.nics}}
        sshkey --username=root "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExample {{host.name}}@{{host.namespace}}"
        bootloader --append="console=ttyS0,115200n8"
        autopart
        reboot
        %post
        curl -fsS {{server.url}}/api/v1/namespaces/{{host.namespace}}/baremetalhosts/{{host.name}} || true
        %end
        %packages
        @core
        %end

        """
        #expect(await renderer.validate(files: ["ks.cfg": template]).isEmpty)
        var context = RenderContext.sample
        context.host.nics.append(.init(mac: "52:54:00:00:00:03", ip: "192.0.2.12", role: "storage"))
        let file = try await renderer.render(file: "ks.cfg", files: ["ks.cfg": template], context: context, options: RenderOptions())
        let text = String(decoding: file.body, as: UTF8.self)
        #expect(file.contentType == "text/plain")
        #expect(text.contains("network --bootproto=static --device=52:54:00:00:00:03 --ip=192.0.2.12"))
        #expect(!text.contains("{{"))
        let result = try KSValidator.run(text)
        #expect(result?.status == 0, "\(result?.output ?? "")\n\(text)")
    }

    @Test func templateErrorsHaveLines() async {
        let found = await renderer.validate(files: ["ks.cfg": "lang en_US.UTF-8\nnetwork --hostname={{host.hostnam}}\n"])
        #expect(found.map(\.line) == [2])
        #expect(found.first?.message.contains("did you mean host.hostname") == true)
    }

    struct Broken: Sendable, CustomStringConvertible {
        var name: String
        var text: String
        var line: Int
        var phrase: String
        /// pykickstart accepts a few things this validator refuses on purpose.
        var ksvalidatorAccepts = false
        var description: String { name }
    }

    static let broken: [Broken] = [
        Broken(name: "unknown command", text: "lang en_US.UTF-8\nfrobnicate --now\n", line: 2, phrase: "unknown command frobnicate"),
        Broken(name: "missing %end", text: "lang en_US.UTF-8\n%packages\n@core\n", line: 2, phrase: "not closed with %end"),
        Broken(name: "nested sections", text: "lang en_US.UTF-8\n%post\necho\n%pre\necho\n%end\n", line: 2, phrase: "not closed with %end before %pre"),
        Broken(name: "stray %end", text: "%end\nlang en_US.UTF-8\n", line: 1, phrase: "%end without an open section"),
        Broken(name: "unknown section", text: "lang en_US.UTF-8\n%bogus\n%end\n", line: 2, phrase: "unknown section %bogus"),
        Broken(name: "removed command", text: "lang en_US.UTF-8\ninstall\n", line: 2, phrase: "removed"),
        Broken(name: "deprecated command", text: "lang en_US.UTF-8\nvnc\n", line: 2, phrase: "deprecated"),
        Broken(name: "mount after autopart", text: "autopart\nmount /dev/sda1 /\n", line: 2, phrase: "mount cannot be used with autopart (line 1)"),
        Broken(name: "autopart after mount", text: "mount /dev/sda1 /\nautopart\n", line: 2, phrase: "autopart cannot be used with mount (line 1)", ksvalidatorAccepts: true),
        Broken(name: "unknown volgroup option", text: "volgroup vg pv.01 --reserved-spce=1\n", line: 1, phrase: "volgroup: option --reserved-spce is not known; did you mean --reserved-space?", ksvalidatorAccepts: true),
        Broken(name: "autopart with part", text: "autopart\npart / --size=1000\n", line: 2, phrase: "cannot be used with autopart"),
        Broken(name: "unbalanced quote", text: "lang en_US.UTF-8\nbootloader --append=\"console=ttyS0\n", line: 2, phrase: "no closing quotation"),
        Broken(name: "repeated single-use command", text: "lang en_US.UTF-8\ntimezone UTC\nlang de_DE.UTF-8\n", line: 3, phrase: "lang may be used only once (first on line 1)", ksvalidatorAccepts: true),
        Broken(name: "reboot and poweroff", text: "reboot\npoweroff\n", line: 2, phrase: "only one of reboot/poweroff/halt/shutdown", ksvalidatorAccepts: true),
        Broken(name: "repeated rootpw", text: "rootpw --lock\nrootpw --plaintext x\n", line: 2, phrase: "rootpw may be used only once", ksvalidatorAccepts: true),
    ]

    @Test(arguments: broken) func brokenKickstart(_ case_: Broken) throws {
        let found = errors(case_.text)
        #expect(found.count == 1, "\(found.map(\.located))")
        #expect(found.first?.line == case_.line, "\(found.map(\.located))")
        #expect(found.first?.message.contains(case_.phrase) == true, "\(found.map(\.located))")
        guard let result = try KSValidator.run(case_.text) else { return }
        if case_.ksvalidatorAccepts {
            // Deliberately stricter (Tests/kickstart/test_differential.py lists why); asserted
            // so a pykickstart change shows up here.
            #expect(result.status == 0, "ksvalidator now rejects \(case_.name): \(result.output)")
        } else {
            #expect(result.status != 0, "ksvalidator accepted \(case_.name)")
        }
    }

    @Test func repeatableCommandsAndIncludes() {
        let text = "network --device=eth0 --bootproto=dhcp\nnetwork --device=eth1 --bootproto=dhcp\nuser --name=a\nuser --name=b\n%include /tmp/part-include\n"
        let all = KickstartValidator.validate(file: "ks.cfg", text: text)
        #expect(!all.hasErrors)
        #expect(all.map(\.line) == [5])
        #expect(all.first?.severity == .warning)
        #expect(errors("%include\n").map(\.line) == [1])
    }

    @Test func wordsFollowShlex() throws {
        func words(_ s: String) -> [String]? { try? KickstartWords.split(Substring(s)).get().words }
        #expect(words("bootloader --append=\"a b\" # comment") == ["bootloader", "--append=a b"])
        #expect(words("a 'b c'd e\\ f") == ["a", "b cd", "e f"])
        // shlex starts a comment at a # even inside a word, so the installer reads a cut URL.
        #expect(words("url --url=http://x/#frag") == ["url", "--url=http://x/"])
        #expect(words("url \"--url=http://x/#frag\"") == ["url", "--url=http://x/#frag"])
        #expect(words("a \"b\\$c\\\"d\"") == ["a", "b\\$c\"d"])
        #expect(words("x '' y") == ["x", "", "y"])
        #expect(words("#only a comment") == [])
        #expect(words("a \"unclosed") == nil)
        let cut = errorsAndWarnings("url --url=http://x/#frag\n")
        #expect(cut.map(\.severity) == [.warning])
        #expect(cut.first?.message.contains("`#frag` is a comment to the installer") == true)
    }

    func errorsAndWarnings(_ text: String) -> [Diagnostic] { KickstartValidator.validate(file: "ks.cfg", text: text) }

    /// The issue's four examples: each refused with its line, what is wrong and where.
    @Test func optionsAndValuesAreChecked() throws {
        let cases: [(String, String)] = [
            ("rootpw --plaintxt x", "rootpw: option --plaintxt is not known; did you mean --plaintext?"),
            ("rootpw --plaintext", "rootpw: needs a password (or --lock)"),
            ("autopart --type=lvmm", "autopart: option --type does not accept lvmm; choose one of lvm, btrfs, plain, partition, thinp; did you mean lvm?"),
            ("keyboard", "keyboard: needs a layout: keyboard us, or --vckeymap=… or --xlayouts=…"),
        ]
        for (line, message) in cases {
            let found = errors("lang en_US.UTF-8\n\(line)\n")
            #expect(found.map(\.located) == ["ks.cfg:2: \(message)"])
            let result = try KSValidator.run("\(line)\n")
            #expect(result.map { $0.status != 0 } ?? true, "ksvalidator accepted \(line)")
        }
    }

    @Test func everyProblemOfAFileIsReportedAtOnce() {
        let text = "rootpw --plaintxt x --lock=yes\nautopart --type=lvmm --pbkdf-time=x\nkeyboard\nfrobnicate\nlang\n%post --bogus\n%end\n"
        let found = errors(text)
        #expect(found.map(\.line) == [1, 1, 2, 2, 3, 4, 5, 6], "\(found.map(\.located))")
        #expect(found[1].message == "rootpw: option --lock takes no value (found --lock=yes)")
        #expect(found[3].message == "autopart: option --pbkdf-time needs a whole number, found x")
        #expect(found[5].message == "unknown command frobnicate")
        #expect(found[6].message == "lang: needs a language, e.g. en_US.UTF-8")
        #expect(found[7].message == "%post: option --bogus is not known")
    }

    struct Reading: Sendable, CustomStringConvertible {
        var line: String
        /// The first error, or nil when the line is valid.
        var error: String?
        var warning: String? = nil
        var description: String { line }
    }

    static let readings: [Reading] = [
        Reading(line: "rootpw --plain x", error: nil, warning: "rootpw: --plain is read as --plaintext (an abbreviation); write the option in full"),
        Reading(line: "firewall --disab", error: "firewall: option --disab is ambiguous: it could be --disable, --disabled"),
        Reading(line: "part / --size", error: "part: option --size needs a value (--size=VALUE)"),
        Reading(line: "part / --size --grow", error: "part: option --size needs a value (--size=VALUE)"),
        Reading(line: "part / --size=-5", error: nil),
        Reading(line: "part / --size 1_000", error: nil),
        Reading(line: "part / --size=12M", error: "part: option --size needs a whole number, found 12M"),
        Reading(line: "part / extra --size=1", error: "part: takes one argument (a mount point (or swap, pv.<id>, raid.<id>, biosboot, none)); unexpected: extra"),
        Reading(line: "part --size=1", error: "part: needs a mount point (or swap, pv.<id>, raid.<id>, biosboot, none)"),
        Reading(line: "part /tmp --fstype=tmpfs --size=1 --grow", error: "part: --fstype=tmpfs cannot be used with --grow or --maxsize"),
        Reading(line: "raid / --device=md0 --level=raid1 raid.01 raid.02", error: nil),
        Reading(line: "raid / --device=md0 --level=7 raid.01", error: "raid: option --level does not accept 7; choose one of RAID0, 0, RAID1, 1, RAID4, 4, RAID5, 5, RAID6, 6, RAID10, 10"),
        Reading(line: "raid / --device=md0 --level=1", error: "raid: needs the member partitions after the mount point"),
        Reading(line: "network --bootproto=DHCP", error: "network: option --bootproto does not accept DHCP; choose one of dhcp, bootp, static, query, ibft; did you mean dhcp?"),
        Reading(line: "network --device=eth0 --onboot=maybe", error: "network: option --onboot needs on/off, yes/no, true/false or 1/0, found maybe"),
        Reading(line: "network --ipv4-dns-search=example.com", error: "network: --ipv4-dns-search requires --device"),
        Reading(line: "timezone --isUtc Europe/Berlin", error: "timezone: option --isUtc is deprecated and ignored by the installer; use --utc"),
        Reading(line: "timezone", error: "timezone: needs a time zone (e.g. timezone Europe/Berlin) or an option such as --utc"),
        Reading(line: "url --url=http://x/ --mirrorlist=http://y/", error: "url: only one of --url, --mirrorlist may be given"),
        Reading(line: "url", error: "url: one of --url, --mirrorlist, --metalink is required"),
        Reading(line: "user --password=x", error: "user: option --name is required"),
        Reading(line: "logvol / --vgname=vg --name=root", error: "logvol: no size given: use one of --size, --percent, --recommended, --hibernation, --useexisting or --noformat"),
        Reading(line: "mount /dev/sda1 /home --mkfsoptions=x", error: "mount: --mkfsoptions requires --reformat"),
        Reading(line: "mount --reformat /dev/sda1 /home", error: "mount: needs a device and a mount point; found 1 argument"),
        Reading(line: "sshpw --username=a one --plaintext two", error: "sshpw: two is unexpected here: the password must be written as one run of words, not split by options"),
        Reading(line: "realm join --one-time-password=x example.com", error: nil),
        Reading(line: "realm join example.com --no-password", error: "realm: realm join takes one realm after its options; found example.com --no-password"),
        Reading(line: "authselect select sssd with-mkhomedir --anything", error: nil),
        Reading(line: "cdrom --bogus", error: "cdrom: option --bogus is not known"),
        Reading(line: "eula", error: "eula: needs --agreed"),
        Reading(line: "lang -- en_US.UTF-8", error: nil),
        Reading(line: "vnc --password=x", error: "vnc is deprecated and has no effect in Fedora 43 (ksvalidator refuses it); use rdp for remote graphical installs"),
        Reading(line: "lnag en_US", error: "unknown command lnag; did you mean lang?"),
    ]

    @Test(arguments: readings) func commandLine(_ reading: Reading) throws {
        let found = errorsAndWarnings("\(reading.line)\n")
        #expect(found.first { $0.severity == .error }?.message == reading.error, "\(found.map(\.located))")
        if let warning = reading.warning {
            #expect(found.contains { $0.severity == .warning && $0.message == warning }, "\(found.map(\.located))")
        }
        guard let result = try KSValidator.run("\(reading.line)\n") else { return }
        #expect((result.status != 0) == (reading.error != nil), "ksvalidator disagrees on \(reading.line): \(result.output)")
    }

    @Test func thingsDefinedTwiceAreRefusedWhereKsvalidatorDoes() throws {
        let text = "user --name=a\nuser --name=a\nnetwork --bootproto=dhcp\nnetwork --bootproto=dhcp\npart swap --size=1\npart swap --size=1\npart /a --size=1\npart /a/ --size=1\n"
        #expect(errors(text).map(\.located) == [
            "ks.cfg:2: user: a user named a is already defined on line 1",
            "ks.cfg:4: network: a network device (no name) is already defined on line 3",
            "ks.cfg:8: part: a partition with the mount point /a is already defined on line 7",
        ])
        let result = try KSValidator.run(text)
        #expect(result.map { $0.status != 0 } ?? true)
    }

    @Test func sectionHeadersAndBodiesAreChecked() throws {
        let text = "%packages --instLangs=en --default --nocore\n-\n@core --nodefaults --optional\n%end\n%certificate --filename=a.pem\n%end\n%traceback\n%end\n"
        #expect(errors(text).map(\.located) == [
            "ks.cfg:1: %packages: option --instLangs is deprecated and ignored by the installer; use --inst-langs",
            "ks.cfg:2: %packages: a lone - names nothing to exclude",
            "ks.cfg:3: %packages: a group cannot take both --nodefaults and --optional",
            "ks.cfg:5: %certificate: one of --dir or --type is required",
            "ks.cfg:5: %certificate: the section holds no certificate",
            "ks.cfg:7: %traceback is deprecated (ksvalidator refuses it); use %onerror instead",
        ])
        #expect(errors("").map(\.message) == ["the kickstart is empty"])
    }

    @Test func everyCommandOfTheHandlerIsInTheTable() {
        // F43Handler.commandMap (pykickstart 3.78): each name is a command, deprecated or removed.
        let handler: Set<String> = [
            "auth", "authconfig", "authselect", "autopart", "autostep", "bootc", "bootloader", "btrfs", "cdrom", "clearpart", "cmdline",
            "device", "deviceprobe", "dmraid", "driverdisk", "module", "eula", "fcoe", "firewall", "firstboot", "graphical", "group",
            "halt", "harddrive", "hmc", "ignoredisk", "install", "iscsi", "iscsiname", "keyboard", "lang", "liveimg", "logging",
            "logvol", "mediacheck", "method", "mount", "multipath", "network", "nfs", "nvdimm", "timesource", "ostreecontainer",
            "ostreesetup", "part", "partition", "poweroff", "raid", "rdp", "realm", "reboot", "repo", "reqpart", "rescue", "rootpw",
            "selinux", "services", "shutdown", "skipx", "snapshot", "sshpw", "sshkey", "text", "timezone", "updates", "url", "user",
            "vnc", "volgroup", "xconfig", "zerombr", "zfcp", "zipl",
        ]
        let table = Set(KickstartSyntax.commands.keys).union(KickstartSyntax.deprecated.keys).union(KickstartSyntax.removed.keys)
        #expect(table == handler)
        #expect(KickstartSyntax.commands["partition"]?.options.count == KickstartSyntax.commands["part"]?.options.count)
    }

    @Test func renderRefusesInvalidExpansionAndControlCharacters() async {
        var context = RenderContext.sample
        context.host.annotations["cmd"] = "frobnicate"
        do {
            _ = try await renderer.render(file: "ks.cfg", files: ["ks.cfg": "lang en_US.UTF-8\n{{host.annotations.cmd}} --x\n"], context: context, options: RenderOptions())
            Issue.record("served an invalid kickstart")
        } catch {
            #expect(error.kind == .invalid)
            #expect(error.diagnostics.first?.line == 2)
        }
        context.host.annotations["cmd"] = "x\nfrobnicate"
        await #expect(throws: RenderFailure.self) {
            _ = try await renderer.render(file: "ks.cfg", files: ["ks.cfg": "lang en_US.UTF-8\n# {{host.annotations.cmd}}\n"], context: context, options: RenderOptions())
        }
    }

    @Test func mainFileChoice() async {
        #expect(await renderer.validate(files: ["anaconda-ks.cfg": fedoraServer, "notes.txt": "anything at all"]).isEmpty)
        #expect(await renderer.validate(files: ["a.txt": fedoraServer, "b.txt": "x"]).hasErrors)
        #expect(await renderer.validate(files: ["ks.cfg": fedoraServer, "extra.ks": "frobnicate\n"]).map(\.file) == ["extra.ks"])
    }
}

/// Template, format and schema findings come in one round (issue 18).
@Suite struct EveryStageReportsTests {
    @Test func kickstartCommandsAreCheckedDespiteATemplateError() async {
        let text = "lang en_US.UTF-8\nnetwork --hostname={{host.hostnam}} --bootproto=dchp\nrootpw --plaintxt x\n{{#host.nics}}\nnetwork --device={{mac}} --ip={{ipp}}\n{{/host.nics}}\n"
        let found = await KickstartRenderer().validate(files: ["ks.cfg": text])
        #expect(found.map(\.line) == [2, 5, 3], "\(found.map(\.located))")
        #expect(found[0].message.contains("unknown variable `host.hostnam` (did you mean host.hostname?)"))
        #expect(found[2].message.hasPrefix("rootpw: option --plaintxt is not known; did you mean --plaintext?"))
        #expect(found[2].message.hasSuffix("(checked with sample values in place of the template's tags)"))
        // The --bootproto typo shares line 2 with the template error, so the stand-in's view of
        // that line is left out rather than guessed.
        #expect(!found.contains { $0.message.contains("dchp") })
    }

    @Test func ignitionSchemaIsCheckedDespiteATemplateError() async {
        let config = #"{"ignition":{"version":"3.4.0"},"storage":{"files":[{"path":"/etc/hostname","contents":{"source":"data:,{{host.hostnme}}"}},{"path":"etc/motd","mode":"0644"}]}}"#
        let found = await IgnitionRenderer().validate(files: ["config.ign": config])
        #expect(found.count == 3, "\(found.map(\.located))")
        #expect(found.first?.message.contains("unknown variable `host.hostnme`") == true)
        #expect(Set(found.dropFirst().compactMap(\.pointer)) == ["/storage/files/1/path", "/storage/files/1/mode"])
    }

    @Test func anUnclosedTagLeavesTheFormatUnchecked() async {
        let found = await KickstartRenderer().validate(files: ["ks.cfg": "lang en_US.UTF-8\nnetwork --hostname={{host.name\nfrobnicate\n"])
        #expect(found.count == 1, "\(found.map(\.located))")
        #expect(found.first?.line == 2)
    }

    @Test func placeholderRenderingKeepsLines() {
        let text = "a {{host.name}}\n{{#host.nics}}\nb {{mac}} {{! a\ncomment }} c\n{{/host.nics}}\nd {{nope}}\n"
        #expect(PlaceholderRendering.render(text, escaping: .none) == "a sample-host\n\nb 52:54:00:00:00:02 \n c\n\nd sample\n")
    }
}
