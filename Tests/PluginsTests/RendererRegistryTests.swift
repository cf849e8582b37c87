import Foundation
import Logging
import Plugins
import Renderers
import Testing

@Suite struct RendererRegistryTests {
    @Test func builtinsAndCloudInitArePresentWithoutPluginDirectory() {
        let registry = RendererRegistry()
        let byFormat = Dictionary(uniqueKeysWithValues: registry.formats.map { ($0.format, $0) })
        #expect(registry.formats.map(\.format) == ["cloud-init", "custom", "ignition", "kickstart"])
        #expect(registry.formatNames == ["cloud-init", "custom", "ignition", "kickstart"])
        #expect(byFormat["ignition"]?.contentType == "application/vnd.coreos.ignition+json")
        #expect(byFormat["ignition"]?.source == .builtin)
        #expect(byFormat["kickstart"]?.contentType == "text/plain")
        #expect(byFormat["kickstart"]?.source == .builtin)
        #expect(byFormat["custom"]?.contentType == "application/octet-stream")
        #expect(byFormat["custom"]?.source == .builtin)
        #expect(byFormat["cloud-init"]?.contentType == "text/yaml")
        #expect(byFormat["cloud-init"]?.source == .plugin)
        #expect(byFormat["cloud-init"]?.mainFileNames == ["user-data", "cloud-config.yaml", "user-data.yaml"])
        #expect(byFormat["cloud-init"]?.executable == nil)
        #expect(byFormat["cloud-init"]?.variables == TemplateEngine.variables)
        #expect(registry.renderer(for: "cloud-init") is CloudInitRenderer)
        #expect(registry.renderer(for: "custom") is PassthroughRenderer)
        #expect(registry.renderer(for: "toml") == nil)
        #expect(registry.renderer(for: "") == nil)
    }

    @Test func discoversWorkingPluginsAndSkipsBrokenOnes() async throws {
        let directory = try Fixtures.pluginDirectory()
        let start = ContinuousClock.now
        let registry = await RendererRegistry(pluginDirectory: directory, limits: PluginLimits(timeout: .seconds(3)))
        // The one that never answers (mute sleeps an hour) is given up at its 3 s timeout. The
        // bound is loose on purpose: a loaded CI machine spawns eleven processes slowly.
        #expect(secondsSince(start) < 60)

        let formats = registry.formats.map(\.format)
        #expect(formats == ["cloud-init", "crash", "custom", "env", "flood", "garbage", "hang", "ignition", "kickstart", "toml"])

        let toml = try #require(registry.info(for: "toml"))
        #expect(toml.source == .external)
        #expect(toml.contentType == "application/toml")
        #expect(toml.mainFileNames == ["config.toml"])
        #expect(toml.executable == directory + "/bootgate-render-toml")
        #expect(toml.variables.contains(TemplateVariable(name: "host.name", description: "the host's object name")))
        #expect(registry.renderer(for: "toml") is ExternalRenderer)

        // A plugin named after a built-in format does not replace it.
        #expect(registry.info(for: "ignition")?.source == .builtin)
        #expect(registry.info(for: "ignition")?.executable == nil)
        // Not executable, invalid name, or no valid describe answer: left out.
        #expect(registry.renderer(for: "notexec") == nil)
        #expect(registry.renderer(for: "broken") == nil)
        #expect(registry.renderer(for: "Bad_Name") == nil)
        #expect(registry.renderer(for: "mute") == nil)
    }

    @Test func missingPluginDirectoryLeavesTheInTreeFormats() async {
        let registry = await RendererRegistry(pluginDirectory: "/nonexistent/bootgate-plugins")
        #expect(registry.formats.map(\.format) == ["cloud-init", "custom", "ignition", "kickstart"])
    }

    @Test func rendererInfoEncodesAsTheAPIListsIt() throws {
        let info = RendererInfo(format: "toml", contentType: "application/toml", mainFileNames: ["config.toml"],
                                source: .external, executable: "/plugins/bootgate-render-toml",
                                variables: [TemplateVariable(name: "host.name", description: "name")])
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let json = String(decoding: try encoder.encode(info), as: UTF8.self)
        #expect(json == #"{"contentType":"application\/toml","executable":"\/plugins\/bootgate-render-toml","format":"toml","mainFileNames":["config.toml"],"source":"external","variables":[{"description":"name","name":"host.name"}]}"#)
        #expect(try JSONDecoder().decode(RendererInfo.self, from: Data(json.utf8)) == info)
    }

    @Test func unknownFormatIsAValidationErrorNamingTheKnownOnes() async throws {
        let registry = RendererRegistry()
        let findings = await registry.validate(format: "yaml", files: ["a.yaml": "x: 1"])
        let finding = try #require(findings.first)
        #expect(findings.hasErrors)
        #expect(finding.message.contains("'yaml'"))
        #expect(finding.message.contains("cloud-init, custom, ignition, kickstart"))

        await #expect(throws: RenderFailure.self) {
            _ = try await registry.render(format: "yaml", file: "a.yaml", files: ["a.yaml": "x: 1"], context: .sample)
        }
    }

    @Test func builtinRenderersAreTheRealOnes() async {
        let registry = RendererRegistry()
        #expect(await registry.validate(format: "ignition", files: ["config.ign": #"{"ignition":{"version":"3.4.0"}}"#]).isEmpty)
        #expect(await registry.validate(format: "ignition", files: ["config.ign": #"{"ignition":{"version":"#]).hasErrors)
        #expect(await registry.validate(format: "kickstart", files: ["ks.cfg": "no-such-kickstart-command --really\n"]).hasErrors)
    }

    @Test func customFormatPassesContentThroughAfterTemplates() async throws {
        let registry = RendererRegistry()
        let files = ["script.sh": "echo {{host.name}}\n"]
        #expect(await registry.validate(format: "custom", files: files).isEmpty)
        let rendered = try await registry.render(format: "custom", file: "script.sh", files: files, context: .sample)
        #expect(String(decoding: rendered.body, as: UTF8.self) == "echo sample-host\n")
        #expect(rendered.contentType == "application/octet-stream")
        #expect(await registry.validate(format: "custom", files: ["x": "{{host.nosuchvariable}}"]).hasErrors)
    }

    @Test func mainFilePrefersConventionalNamesThenTheOnlyFile() {
        let cloudInit = CloudInitRenderer()
        #expect(RendererRegistry.mainFile(for: cloudInit, in: ["meta-data": "", "user-data": ""]) == "user-data")
        #expect(RendererRegistry.mainFile(for: cloudInit, in: ["cloud-config.yaml": "", "notes": ""]) == "cloud-config.yaml")
        #expect(RendererRegistry.mainFile(for: cloudInit, in: ["anything": ""]) == "anything")
        #expect(RendererRegistry.mainFile(for: cloudInit, in: ["a": "", "b": ""]) == nil)
        #expect(RendererRegistry.mainFile(for: cloudInit, in: [:]) == nil)
    }

    @Test(arguments: [
        ("toml", true), ("cloud-init", true), ("x1-2", true),
        ("", false), ("Toml", false), ("to_ml", false), ("a.b", false), ("a b", false), ("tömł", false),
        (String(repeating: "a", count: 64), false), (String(repeating: "a", count: 63), true),
    ])
    func formatNames(name: String, valid: Bool) {
        #expect(FormatName.isValid(name) == valid)
    }
}

@Suite struct RegistryBootMethodTests {
    struct Echo: BootMethod {
        let name = "echo-only"
        let summary = "prints the host"
        func script(for r: BootRequest) throws(IPXEScript.Invalid) -> String { "#!ipxe\necho \(r.host)\nexit\n" }
    }

    @Test func theRegistryCarriesBuiltinAndPluginBootMethods() throws {
        #expect(RendererRegistry().bootMethods.names == ["kernel", "local", "sanboot"])
        let registry = RendererRegistry(bootMethods: [Echo()])
        #expect(registry.bootMethods.names == ["echo-only", "kernel", "local", "sanboot"])
        #expect(try registry.bootMethods.script("echo-only", for: BootRequest(host: "h9", mac: "52:54:00:12:34:56", iso: nil)) == "#!ipxe\necho h9\nexit\n")
        // Boot methods are not config formats.
        #expect(registry.renderer(for: "ipxe") == nil && !registry.formatNames.contains("ipxe"))
    }
}
