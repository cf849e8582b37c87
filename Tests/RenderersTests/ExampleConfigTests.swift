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
        #expect(examples.map(\.name) == ["coreos-builder", "builder-target", "fedora-server", "fedora-builder"])
        #expect(examples.map(\.format) == ["ignition", "ignition", "kickstart", "kickstart"])
        let builder = try #require(examples.first)
        #expect(builder.files["config.ign"]?.contains("--ignition-url {{server.bootconfigURL}}") == true)
        // Apart from the templated URL, the installer config is the spec's.
        let spec = coreosBuilder.replacingOccurrences(of: "http://192.168.200.2:8082/api/v1/bootconfig", with: "{{server.bootconfigURL}}")
        #expect(try JanssonParser.parse(builder.files["config.ign"] ?? "").get() == JanssonParser.parse(spec).get())
        let server = try #require(examples.first { $0.name == "fedora-server" })
        #expect(server.files["ks.cfg"] == fedoraServer.trimmingCharacters(in: .newlines) + "\n")
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
