import Foundation
import Plugins
import Renderers
import Testing

/// The JSON protocol against real executables: a working TOML plugin in Python and plugins
/// that hang, crash, flood stdout and print garbage. Each failure must come back in bounded
/// time with a message naming the plugin and the cause, and leave later calls unaffected.
@Suite struct ExternalRendererTests {
    static let fast = PluginLimits(timeout: .seconds(1))
    /// Room for a slow interpreter start on a loaded machine. (Bounds on elapsed time below are
    /// loose for the same reason; what they rule out is waiting for the plugin's hour-long sleep.)
    static let patient = PluginLimits(timeout: .seconds(15))

    func toml() async throws -> ExternalRenderer {
        try await ExternalRenderer.describe(executable: try Fixtures.plugin("toml"), format: "toml", limits: Self.patient)
    }

    func misbehaving(_ format: String, limits: PluginLimits = ExternalRendererTests.fast) throws -> ExternalRenderer {
        ExternalRenderer(executable: try Fixtures.plugin(format), format: format, contentType: "text/plain", limits: limits)
    }

    @Test func defaultLimits() {
        let limits = PluginLimits()
        #expect(limits.timeout == .seconds(5))
        #expect(limits.maxOutputBytes == 16 * 1024 * 1024)
    }

    @Test func describeReportsWhatThePluginSays() async throws {
        let renderer = try await toml()
        #expect(renderer.format == "toml")
        #expect(renderer.contentType == "application/toml")
        #expect(renderer.mainFileNames == ["config.toml"])
        #expect(renderer.variables.map(\.name).contains("server.bootconfigURL"))
        #expect(renderer.pluginName == "bootgate-render-toml")
    }

    @Test func describeRefusesAFormatOtherThanTheFileName() async throws {
        let executable = try Fixtures.plugin("toml")
        do {
            _ = try await ExternalRenderer.describe(executable: executable, format: "yaml", limits: Self.patient)
            Issue.record("accepted a plugin describing another format")
        } catch {
            #expect(error.kind == .badResponse)
            #expect(error.message.contains("'toml'"))
        }
    }

    @Test func validateRoundTrip() async throws {
        let renderer = try await toml()
        let good = ["config.toml": "[host]\nname = \"{{host.name}}\"\nurl = \"{{server.bootconfigURL}}\"\n"]
        #expect(await renderer.validate(files: good).isEmpty)

        let badTOML = await renderer.validate(files: ["config.toml": "[host]\nname = \"x\"\nport = \n"])
        #expect(badTOML.count == 1)
        #expect(badTOML.first?.file == "config.toml")
        #expect(badTOML.first?.line == 3)
        #expect(badTOML.first?.severity == .error)
        #expect(badTOML.first?.message.hasPrefix("TOML: ") == true)

        let unknownVariable = await renderer.validate(files: ["config.toml": "a = 1\nb = \"{{host.colour}}\"\n"])
        #expect(unknownVariable.map(\.line) == [2])
        #expect(unknownVariable.first?.message.contains("host.colour") == true)
    }

    @Test func renderRoundTrip() async throws {
        let renderer = try await toml()
        var context = RenderContext.sample
        context.host.name = "rack1-node3"
        context.iso = nil
        let files = ["config.toml": "name = \"{{host.name}}\"\nfetch = \"{{server.bootconfigURL}}\"\n"]
        let rendered = try await renderer.render(file: "config.toml", files: files, context: context, options: RenderOptions())
        #expect(String(decoding: rendered.body, as: UTF8.self)
            == "name = \"rack1-node3\"\nfetch = \"http://192.0.2.2:8082/api/v1/bootconfig\"\n")
        #expect(rendered.contentType == "application/toml")

        // The context's iso is null for a local boot; a config that needs it fails to render.
        do {
            _ = try await renderer.render(file: "config.toml", files: ["config.toml": "iso = \"{{iso.name}}\""],
                                          context: context, options: RenderOptions())
            Issue.record("rendered without an ISO")
        } catch {
            #expect(error.kind == .invalid)
            #expect(error.diagnostics.first?.message.contains("iso.name") == true)
        }
    }

    @Test func hangingPluginTimesOutAndIsKilled() async throws {
        let renderer = try misbehaving("hang")
        let start = ContinuousClock.now
        let findings = await renderer.validate(files: ["a": "b"])
        #expect(secondsSince(start) < 30)  // its timeout, not the hour it sleeps
        let finding = try #require(findings.first)
        #expect(findings.hasErrors)
        #expect(finding.file == "a")
        #expect(finding.message.contains("bootgate-render-hang"))
        #expect(finding.message.contains("timed out after 1 s on 'validate'"))

        // The plugin's background child held stdout open; it must have been killed with it.
        let pidText = try #require(finding.message.split(separator: "sleeping as pid ").last)
        let pid = try #require(Int32(pidText.prefix { $0.isNumber }))
        try await Task.sleep(for: .milliseconds(200))
        #expect(!Self.isAlive(pid), "the plugin's child \(pid) survived the timeout")
    }

    @Test func hangingPluginFailsRenderAndLaterCallsStillWork() async throws {
        let hang = try misbehaving("hang")
        for _ in 0..<2 {
            let start = ContinuousClock.now
            do {
                _ = try await hang.render(file: "a", files: ["a": "b"], context: .sample, options: RenderOptions())
                Issue.record("a hanging plugin rendered")
            } catch {
                #expect(error.kind == .rendererFailed)
                #expect(error.message.contains("bootgate-render-hang timed out"))
            }
            #expect(secondsSince(start) < 30)  // its timeout, not the hour it sleeps
            let renderer = try await toml()
            let rendered = try await renderer.render(file: "c.toml", files: ["c.toml": "a = 1"], context: .sample,
                                                     options: RenderOptions())
            #expect(rendered.body == Array("a = 1".utf8))
        }
    }

    @Test func crashingPluginReportsStatusAndStderr() async throws {
        let renderer = try misbehaving("crash", limits: Self.patient)
        let findings = await renderer.validate(files: ["a": "b"])
        #expect(findings.count == 1)
        let message = try #require(findings.first?.message)
        #expect(message.contains("bootgate-render-crash exited with status 3 on 'validate'"))
        #expect(message.contains("stderr: crash: simulated failure while handling validate"))

        do {
            _ = try await renderer.render(file: "a", files: ["a": "b"], context: .sample, options: RenderOptions())
            Issue.record("a crashing plugin rendered")
        } catch {
            #expect(error.kind == .rendererFailed)
            #expect(error.message.contains("exited with status 3 on 'render'"))
        }
    }

    @Test func floodingPluginIsCutAtTheOutputLimit() async throws {
        let start = ContinuousClock.now
        // A long timeout, so only the output limit can stop it.
        let flood = try misbehaving("flood", limits: PluginLimits(timeout: .seconds(20), maxOutputBytes: 64 << 10))
        let findings = await flood.validate(files: ["a": "b"])
        #expect(secondsSince(start) < 15)  // cut by the limit, not by the 20 s timeout
        #expect(findings.first?.message.contains("bootgate-render-flood wrote more than 64 KiB to stdout on 'validate' and was killed") == true)
    }

    @Test func floodingPluginIsCutAtTheDefaultLimitToo() async throws {
        let renderer = try misbehaving("flood", limits: PluginLimits(timeout: .seconds(20)))
        do {
            _ = try await renderer.render(file: "a", files: ["a": "b"], context: .sample, options: RenderOptions())
            Issue.record("a flooding plugin rendered")
        } catch {
            #expect(error.kind == .rendererFailed)
            #expect(error.message.contains("wrote more than 16 MiB"))
        }
    }

    @Test func garbageOutputIsABadResponse() async throws {
        let renderer = try misbehaving("garbage", limits: Self.patient)
        let findings = await renderer.validate(files: ["a": "b"])
        let message = try #require(findings.first?.message)
        #expect(message.contains("bootgate-render-garbage printed an invalid response on 'validate' (not JSON): Everything is fine"))
        do {
            _ = try await renderer.render(file: "a", files: ["a": "b"], context: .sample, options: RenderOptions())
            Issue.record("a garbage plugin rendered")
        } catch {
            #expect(error.kind == .rendererFailed)
            #expect(error.message.contains("invalid response on 'render'"))
        }
    }

    @Test func missingExecutableCannotBeStarted() async throws {
        let renderer = ExternalRenderer(executable: "/nonexistent/bootgate-render-x", format: "x", contentType: "text/plain")
        let findings = await renderer.validate(files: ["a": "b"])
        #expect(findings.first?.message == "renderer plugin bootgate-render-x could not be started for 'validate': no such file")
    }

    @Test func nonExecutableFileCannotBeStarted() async throws {
        let renderer = ExternalRenderer(executable: try Fixtures.plugin("notexec"), format: "notexec", contentType: "text/plain")
        let findings = await renderer.validate(files: ["a": "b"])
        #expect(findings.first?.message.contains("could not be started for 'validate': not executable") == true)
    }

    @Test func concurrentCallsAreIndependent() async throws {
        let renderer = try await toml()
        let bodies = try await withThrowingTaskGroup(of: String.self) { group in
            for index in 0..<6 {
                group.addTask {
                    var context = RenderContext.sample
                    context.host.name = "node-\(index)"
                    let file = try await renderer.render(file: "c.toml", files: ["c.toml": "n = \"{{host.name}}\""],
                                                         context: context, options: RenderOptions())
                    return String(decoding: file.body, as: UTF8.self)
                }
            }
            var all: [String] = []
            for try await body in group { all.append(body) }
            return all.sorted()
        }
        #expect(bodies == (0..<6).map { "n = \"node-\($0)\"" })
    }

    @Test(.enabled(if: FileManager.default.fileExists(atPath: "/proc/self/status")))
    func pluginsStartWithNoBlockedSignalsAndAFilteredEnvironment() async throws {
        setenv("BOOTGATE_TEST_SECRET", "do-not-leak", 1)
        let renderer = try misbehaving("env", limits: Self.patient)
        let rendered = try await renderer.render(file: "a", files: ["a": "b"], context: .sample, options: RenderOptions())
        let report = String(decoding: rendered.body, as: UTF8.self)
        #expect(report.hasPrefix("SigBlk=0000000000000000 "), "plugin started with blocked signals: \(report)")
        let names = Set(report.components(separatedBy: "env=").last?.split(separator: " ").map(String.init) ?? [])
        #expect(names.contains("BOOTGATE_PLUGIN_PROTOCOL"))
        #expect(names.contains("PATH"))
        #expect(!names.contains("BOOTGATE_TEST_SECRET"))
        let allowed: Set = ["PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR", "BOOTGATE_PLUGIN_PROTOCOL",
                            "PWD", "OLDPWD", "SHLVL", "_"]
        #expect(names.subtracting(allowed).isEmpty, "unexpected variables: \(names.subtracting(allowed))")
    }

    /// Alive and not a zombie waiting for a parent that does not reap.
    static func isAlive(_ pid: Int32) -> Bool {
        guard kill(pid, 0) == 0 else { return false }
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return true }
        return !stat[close...].dropFirst(2).hasPrefix("Z")
    }
}
