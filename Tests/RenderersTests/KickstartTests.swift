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
            // pykickstart keeps the last value silently; bootgate refuses, since the operator
            // cannot have meant both. Asserted so a pykickstart change shows up here.
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
        func words(_ s: String) -> [String]? { try? KickstartValidator.words(Substring(s)).get() }
        #expect(words("bootloader --append=\"a b\" # comment") == ["bootloader", "--append=a b"])
        #expect(words("a 'b c'd e\\ f") == ["a", "b cd", "e f"])
        #expect(words("url --url=http://x/#frag") == ["url", "--url=http://x/#frag"])
        #expect(words("#only a comment") == [])
        #expect(words("a \"unclosed") == nil)
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
