import Plugins
import Renderers
import Testing

@Suite struct CloudInitRendererTests {
    let renderer = CloudInitRenderer()

    static let valid = """
        #cloud-config
        hostname: {{host.hostname}}
        write_files:
          - path: /etc/bootgate-server
            content: "{{server.url}}"
        runcmd:
          - [sh, -c, "echo booted"]
        """

    func errors(_ files: [String: String]) async -> [Diagnostic] {
        await renderer.validate(files: files).filter { $0.severity == .error }
    }

    @Test func describesItself() {
        #expect(renderer.format == "cloud-init")
        #expect(renderer.contentType == "text/yaml")
        #expect(renderer.mainFileNames == ["user-data", "cloud-config.yaml", "user-data.yaml"])
    }

    @Test func validCloudConfigValidatesAndRendersForTheHost() async throws {
        let files = ["user-data": Self.valid, "meta-data": "instance-id: {{host.name}}\n"]
        #expect(await renderer.validate(files: files).isEmpty)

        var context = RenderContext.sample
        context.host.hostname = "node-7"
        context.server.url = "http://10.0.0.2:8082"
        let rendered = try await renderer.render(file: "user-data", files: files, context: context, options: RenderOptions())
        let text = String(decoding: rendered.body, as: UTF8.self)
        #expect(rendered.contentType == "text/yaml")
        #expect(text.hasPrefix("#cloud-config\nhostname: node-7\n"))
        #expect(text.contains(#"content: "http://10.0.0.2:8082""#))
    }

    @Test func missingHeaderIsAnErrorOnLineOne() async throws {
        let findings = await errors(["user-data": "hostname: x\nruncmd: []\n"])
        let finding = try #require(findings.first)
        #expect(findings.count == 1)
        #expect(finding.file == "user-data")
        #expect(finding.line == 1)
        #expect(finding.message.contains("#cloud-config"))
        #expect(finding.message.contains("'hostname: x'"))
    }

    @Test func headerMustBeTheFirstLineAndExact() async {
        #expect(await errors(["user-data": "\n#cloud-config\nhostname: x\n"]).map(\.line) == [1])
        let misspelt = await errors(["user-data": "#cloud-configs\nhostname: x\n"])
        #expect(misspelt.map(\.line) == [1])
        #expect(misspelt.first?.message.contains("exactly '#cloud-config'") == true)
        // Trailing blanks and CRLF line ends are tolerated, as cloud-init does.
        #expect(await errors(["user-data": "#cloud-config  \r\nhostname: x\r\n"]).isEmpty)
        #expect(await errors(["user-data": "   "]).map(\.line) == [1])
    }

    @Test func yamlErrorCarriesItsLine() async throws {
        let text = """
            #cloud-config
            hostname: x
            runcmd:
              - echo one
             - echo two
            write_files: []
            """
        let findings = await errors(["user-data": text])
        let finding = try #require(findings.first)
        #expect(findings.count == 1)
        #expect(finding.line == 5)
        #expect(finding.message.hasPrefix("YAML: "))
    }

    @Test func unclosedQuoteReportsItsLine() async throws {
        let findings = await errors(["user-data": "#cloud-config\npackages:\n  - vim\nhostname: \"oops\n"])
        #expect(findings.count == 1)
        #expect(findings.first?.line == 4)
    }

    @Test func cloudConfigMustBeAMapping() async {
        let findings = await errors(["user-data": "#cloud-config\n- runcmd\n"])
        #expect(findings.map(\.line) == [2])
        #expect(findings.first?.message.contains("mapping") == true)
    }

    @Test func wellKnownKeysMustHaveTheirShape() async {
        let findings = await errors(["user-data": "#cloud-config\nruncmd: reboot\nhostname:\n  - a\nwrite_files:\n  - content: x\n"])
        #expect(findings.map(\.line) == [2, 4, 6])
        #expect(findings.map(\.message) == [
            "'runcmd' must be a list, found the value 'reboot'",
            "'hostname' must be a single value, found a list",
            "'write_files' entry has no 'path'",
        ])
    }

    @Test func duplicateKeysAreRefused() async {
        let findings = await errors(["user-data": "#cloud-config\nruncmd: [a]\npackages: [vim]\nruncmd: [b]\n"])
        #expect(findings.count == 1)
        #expect(findings.first?.line == 2)
        #expect(findings.first?.message.contains("'runcmd'") == true)
    }

    @Test func unknownTemplateVariableIsReportedWithItsLine() async throws {
        let findings = await errors(["user-data": "#cloud-config\nhostname: x\nfqdn: {{host.nosuchthing}}\n"])
        let finding = try #require(findings.first)
        #expect(finding.line == 3)
        #expect(finding.message.contains("host.nosuchthing"))
    }

    @Test func sectionsThatShiftLinesAreNamedInTheMessage() async throws {
        let text = """
            #cloud-config
            {{#iso}}
            bootcmd:
              - echo {{iso.name}}
            {{/iso}}
            runcmd: reboot
            """
        let finding = try #require(await errors(["user-data": text]).first)
        #expect(finding.line == 4)
        #expect(finding.message == "'runcmd' must be a list, found the value 'reboot' (line of the rendered output; template sections shift lines)")
    }

    @Test func localBootSectionsRender() async throws {
        let text = "#cloud-config\n{{^iso}}\nruncmd: [poweroff]\n{{/iso}}\nhostname: {{host.hostname}}\n"
        var context = RenderContext.sample
        context.iso = nil
        let rendered = try await renderer.render(file: "user-data", files: ["user-data": text], context: context,
                                                 options: RenderOptions())
        #expect(String(decoding: rendered.body, as: UTF8.self) == "#cloud-config\nruncmd: [poweroff]\nhostname: sample-host\n")
    }

    @Test func otherPartTypesAreAccepted() async {
        #expect(await errors(["user-data": "#!/bin/sh\necho {{host.name}}\n"]).isEmpty)
        #expect(await errors(["user-data": "#cloud-boothook\n#!/bin/sh\necho hi\n"]).isEmpty)
        #expect(await errors(["user-data": "#include\nhttps://example.com/a.yaml\n\n# comment\n"]).isEmpty)
        #expect(await errors(["user-data": "Content-Type: multipart/mixed; boundary=X\n\n--X--\n"]).isEmpty)
        #expect(await errors(["user-data": "#cloud-config-archive\n- type: text/cloud-config\n  content: 'a: 1'\n"]).isEmpty)
    }

    @Test func includeListsOnlyURLs() async {
        let findings = await errors(["user-data": "#include\nhttps://example.com/a\nftp.example.com/b\n"])
        #expect(findings.map(\.line) == [3])
    }

    @Test func companionFilesAreCheckedByWhatCloudInitDoesWithThem() async {
        let base = ["user-data": "#cloud-config\n{}\n"]
        #expect(await errors(base.merging(["meta-data": "instance-id: a\nlocal-hostname: a\n"]) { $1 }).isEmpty)
        #expect(await errors(base.merging(["meta-data": "just text"]) { $1 }).map(\.file) == ["meta-data"])
        #expect(await errors(base.merging(["network-config": "version: 2\n  bad: [\n"]) { $1 }).map(\.file) == ["network-config"])
        #expect(await errors(base.merging(["vendor-data": "no header"]) { $1 }).map(\.file) == ["vendor-data"])
        // Anything else is opaque apart from its templates.
        #expect(await errors(base.merging(["notes.txt": "not: [yaml"]) { $1 }).isEmpty)
        #expect(await errors(base.merging(["notes.txt": "{{host.nope}}"]) { $1 }).map(\.file) == ["notes.txt"])
        // A config's only file is user-data whatever its name.
        #expect(await errors(["config": "no header"]).map(\.line) == [1])
    }

    @Test func theUserDataFileMustBeIdentifiable() async {
        #expect(await errors([:]).map(\.message) == ["a cloud-init config needs a file (e.g. user-data)"])
        let ambiguous = await errors(["meta-data": "instance-id: a\n", "network-config": "version: 2\n"])
        #expect(ambiguous.count == 1)
        #expect(ambiguous.first?.file == "meta-data, network-config")
        #expect(ambiguous.first?.message.contains("user-data") == true)
    }

    @Test func renderRefusesOutputThatHostValuesMakeInvalid() async {
        var context = RenderContext.sample
        context.host.hostname = "a: b"
        let files = ["user-data": "#cloud-config\nhostname: {{host.hostname}}\n"]
        #expect(await renderer.validate(files: files).isEmpty)
        do {
            _ = try await renderer.render(file: "user-data", files: files, context: context, options: RenderOptions())
            Issue.record("rendered invalid YAML")
        } catch {
            #expect(error.kind == .invalid)
            #expect(error.diagnostics.first?.line == 2)
        }
    }

    @Test func renderOfAMissingFileFails() async {
        await #expect(throws: RenderFailure.self) {
            _ = try await renderer.render(file: "user-data", files: ["x": "#cloud-config\n"], context: .sample, options: RenderOptions())
        }
    }
}
