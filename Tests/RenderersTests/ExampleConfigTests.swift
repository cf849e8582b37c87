import Foundation
import Testing
@testable import Renderers

/// examples/bootconfigs.yaml must hold valid configs: each passes its renderer's validation,
/// renders for a host, and (kickstarts) passes ksvalidator.
@Suite(.serialized) struct ExampleConfigTests {
    struct Example: Sendable {
        var name: String
        var format: String
        var files: [String: String]
    }

    static var examplesPath: String {
        // Tests/RenderersTests/ExampleConfigTests.swift → repository root.
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return root.appendingPathComponent("examples/bootconfigs.yaml").path
    }

    /// Reads the BootConfig documents of the examples file. A small reader for this file's own
    /// layout (block scalars under spec.data), since this test target depends on Renderers only.
    static func load() throws -> [Example] {
        let text = try String(contentsOfFile: examplesPath, encoding: .utf8)
        var examples: [Example] = []
        for document in text.components(separatedBy: "\n---\n").dropFirst() {
            let lines = document.components(separatedBy: "\n")
            var example = Example(name: "", format: "", files: [:])
            var index = 0
            while index < lines.count {
                let line = lines[index]
                if line.hasPrefix("  name: ") { example.name = String(line.dropFirst(8)) }
                if line.hasPrefix("  format: ") { example.format = String(line.dropFirst(10)) }
                if line.hasPrefix("    "), !line.hasPrefix("     "), line.hasSuffix(": |") {
                    let key = String(line.dropFirst(4).dropLast(3))
                    var body: [String] = []
                    index += 1
                    while index < lines.count, lines[index].isEmpty || lines[index].hasPrefix("      ") {
                        body.append(String(lines[index].dropFirst(min(6, lines[index].count))))
                        index += 1
                    }
                    while body.last == "" { body.removeLast() }
                    example.files[key] = body.joined(separator: "\n") + "\n"
                    continue
                }
                index += 1
            }
            examples.append(example)
        }
        return examples
    }

    @Test func examplesAreThoseOfTheSpec() throws {
        let examples = try Self.load()
        // builder-target first: coreos-builder names it as its follow-up, which must exist.
        #expect(examples.map(\.name) == ["builder-target", "coreos-builder", "fedora-server", "fedora-builder"])
        #expect(examples.map(\.format) == ["ignition", "ignition", "kickstart", "kickstart"])
        let server = try #require(examples.first { $0.name == "fedora-server" })
        // The spec's kickstart, plus the %post that hands the host over before its reboot.
        let ks = try #require(server.files["ks.cfg"])
        #expect(ks.hasPrefix(fedoraServer.trimmingCharacters(in: .newlines) + "\n"))
        #expect(ks.contains("%post --erroronfail\n") && ks.contains("-X POST {{server.url}}/api/v1/boot-complete\n%end\n"))
    }

    /// The spec's flow for real: the installer installs with a pointer config (not itself, as the
    /// spec's text did: the disk would install again at every boot), calls boot-complete only
    /// after the install, and reboots only after boot-complete; the installed system fetches its
    /// own config from bootgate; the follow-up is declared on the installer config.
    @Test func coreosBuilderHandsTheHostOver() throws {
        let text = try String(contentsOfFile: Self.examplesPath, encoding: .utf8)
        let doc = try #require(text.components(separatedBy: "\n---\n").first { $0.contains("  name: coreos-builder\n") })
        #expect(doc.contains("  annotations:\n") && doc.contains("    bootgate.io/next-boot-config: builder-target\n"))
        let builder = try #require(try Self.load().first { $0.name == "coreos-builder" }?.files["config.ign"])
        let json = try JanssonParser.parse(builder).get()
        let unit = try #require(json["systemd"]?["units"]?.arrayValue?.first?["contents"]?.stringValue)
        let steps = unit.components(separatedBy: "\n").filter { $0.hasPrefix("ExecStart") }
        #expect(steps == ["ExecStart=/usr/bin/coreos-installer install /dev/sda --ignition-file /etc/bootgate/installed.ign",
                          "ExecStart=/usr/bin/curl -fsS --retry 10 --retry-all-errors -X POST {{server.url}}/api/v1/boot-complete",
                          "ExecStart=/usr/bin/systemctl reboot"])
        #expect(unit.contains("Type=oneshot"))  // a failed step stops the ones after it
        let file = try #require(json["storage"]?["files"]?.arrayValue?.first)
        #expect(file["path"]?.stringValue == "/etc/bootgate/installed.ign")
        let source = try #require(file["contents"]?["source"]?.stringValue)
        let pointer = try #require(String(source.dropFirst("data:,".count)).removingPercentEncoding)
        let parsed = try JanssonParser.parse(pointer).get()
        #expect(parsed["ignition"]?["config"]?["replace"]?["source"]?.stringValue == "{{server.bootconfigURL}}")
    }

    @Test func examplesValidateAndRender() async throws {
        let examples = try Self.load()
        #expect(examples.count == 4)
        var context = RenderContext.sample
        context.host.hostname = "builder-1"
        for example in examples {
            let renderer: any Renderer = example.format == "ignition" ? IgnitionRenderer() : KickstartRenderer()
            let diagnostics = await renderer.validate(files: example.files)
            #expect(diagnostics.isEmpty, "\(example.name): \(diagnostics.map(\.located))")
            let main = try #require(MainFile.select(in: example.files, names: renderer.mainFileNames))
            let accept = "application/vnd.coreos.ignition+json;version=3.6.0, */*;q=0.1"
            let file = try await renderer.render(file: main, files: example.files, context: context, options: RenderOptions(accept: accept))
            let text = String(decoding: file.body, as: UTF8.self)
            #expect(!text.contains("{{"), "\(example.name) kept a tag")
            if example.format == "ignition" {
                let result = IgnitionValidator.validate(file: main, text: text)
                #expect(result.diagnostics.isEmpty && result.version?.description == "3.4.0", "\(example.name): \(result.diagnostics.map(\.located))")
            } else if let result = try KSValidator.run(text) {
                #expect(result.status == 0, "\(example.name): \(result.output)")
            }
        }
    }

    /// The examples are what operators start from, so they must take the fast path: each
    /// Ignition example gets a render plan, and its verdict for a host with good values and for
    /// one whose values break the config is the full validator's on the rendered text.
    @Test func ignitionExamplesHaveRenderPlansThatAgreeWithTheValidator() throws {
        let ignition = try Self.load().filter { $0.format == "ignition" }
        #expect(!ignition.isEmpty)
        var broken = RenderContext.sample
        broken.host.name = "not/a unit"
        broken.host.hostname = "two words\n"
        broken.server.url = "no scheme"
        var refusals = 0
        for example in ignition {
            let main = try #require(MainFile.select(in: example.files, names: IgnitionRenderer().mainFileNames))
            let content = try #require(example.files[main])
            let plan = try #require(IgnitionRenderPlan.make(file: main, content: content), "\(example.name) has no render plan")
            for context in [RenderContext.sample, broken] {
                let text = try TemplateEngine.renderBytes(file: main, content: content, context: context, escaping: .jsonString)
                let full = IgnitionValidator.validate(file: main, bytes: text)
                let planned = try #require(plan.validate(file: main, context: context))
                #expect(planned.diagnostics.map(\.located) == full.diagnostics.map(\.located), "\(example.name)")
                #expect(planned.version == full.version)
                if full.diagnostics.hasErrors { refusals += 1 }
            }
        }
        // The broken values must break something, or the comparison proves little.
        #expect(refusals > 0)
    }

    @Test func builderTargetHasWhatTheSpecAsks() throws {
        let target = try #require(try Self.load().first { $0.name == "builder-target" }?.files["config.ign"])
        for needle in ["\"core\"", "sshAuthorizedKeys", "console=ttyS0,115200n8", "console=ttyS1,115200n8", "cockpit.socket",
                       "podman", "buildah", "skopeo", "rpm-ostree install", "firewalld", "/etc/firewalld/zones/public.xml"] {
            #expect(target.contains(needle), "\(needle)")
        }
    }
}
