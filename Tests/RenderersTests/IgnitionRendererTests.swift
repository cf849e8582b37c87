import Foundation
import Testing
@testable import Renderers

/// The spec's coreos-builder config (seed/boot-architecture.md), as stored by an operator.
let coreosBuilder = #"""
{
  "ignition": { "version": "3.4.0" },
  "systemd": {
    "units": [{
      "name": "coreos-installer.service",
      "enabled": true,
      "contents": "[Unit]\nDescription=Install CoreOS to disk\nAfter=network-online.target\n\n[Service]\nType=oneshot\nExecStart=/usr/bin/coreos-installer install /dev/sda --ignition-url http://192.168.200.2:8082/api/v1/bootconfig --insecure-ignition\nExecStartPost=/usr/bin/systemctl reboot\n\n[Install]\nWantedBy=multi-user.target\n"
    }]
  }
}
"""#

@Suite struct IgnitionValidatorTests {
    func errors(_ text: String) -> [Diagnostic] {
        IgnitionValidator.validate(file: "config.ign", text: text).diagnostics.filter { $0.severity == .error }
    }

    /// The single error's pointer, failing the test when there is not exactly one.
    func pointer(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) -> String? {
        let found = errors(text)
        #expect(found.count == 1, "expected one error, got \(found.map(\.located))", sourceLocation: sourceLocation)
        return found.first?.pointer
    }

    @Test func specCoreosBuilderIsValid() {
        let result = IgnitionValidator.validate(file: "config.ign", text: coreosBuilder)
        #expect(result.diagnostics.isEmpty, "\(result.diagnostics.map(\.located))")
        #expect(result.version?.description == "3.4.0")
    }

    @Test func everySupportedVersionAcceptsAMinimalConfig() {
        for minor in 0...6 {
            #expect(errors(#"{"ignition":{"version":"3.\#(minor).0"}}"#).isEmpty)
        }
    }

    @Test func duplicateKeyHasPointerAndLine() throws {
        let text = "{\n  \"ignition\": {\"version\": \"3.4.0\"},\n  \"systemd\": {\"units\": [{\"name\": \"a.service\", \"name\": \"b.service\"}]}\n}"
        let found = errors(text)
        #expect(found.count == 1)
        let first = try #require(found.first)
        #expect(first.pointer == "/systemd/units/0/name")
        #expect(first.line == 3)
        #expect(first.message.contains("duplicate key"))
        #expect(first.message.contains("column"))
    }

    @Test func duplicateTopLevelKey() {
        #expect(pointer(#"{"ignition":{"version":"3.4.0"},"ignition":{"version":"3.4.0"}}"#) == "/ignition")
    }

    @Test func unknownKeyInUnit() {
        let text = #"{"ignition":{"version":"3.4.0"},"systemd":{"units":[{"name":"a.service","bogus":true}]}}"#
        #expect(pointer(text) == "/systemd/units/0/bogus")
        #expect(errors(text).first?.message.contains("unknown key \"bogus\"") == true)
    }

    @Test func unknownTopLevelKeyAndKeyFromLaterVersion() {
        #expect(pointer(#"{"ignition":{"version":"3.4.0"},"storage":{"filez":[]}}"#) == "/storage/filez")
        let text = #"{"ignition":{"version":"3.4.0"},"storage":{"luks":[{"name":"root","device":"/dev/sda2","cex":{"enabled":true}}]}}"#
        #expect(pointer(text) == "/storage/luks/0/cex")
        #expect(errors(text).first?.message.contains("needs spec 3.5.0") == true)
        #expect(errors(text.replacingOccurrences(of: "3.4.0", with: "3.5.0")).isEmpty)
        // kernelArguments arrived in 3.3.0.
        #expect(pointer(#"{"ignition":{"version":"3.2.0"},"kernelArguments":{"shouldExist":["quiet"]}}"#) == "/kernelArguments")
    }

    @Test func relativePath() {
        let text = #"{"ignition":{"version":"3.4.0"},"storage":{"files":[{"path":"/etc/ok"},{"path":"etc/motd"}]}}"#
        #expect(pointer(text) == "/storage/files/1/path")
        #expect(pointer(#"{"ignition":{"version":"3.4.0"},"storage":{"directories":[{"path":"var/x"}]}}"#) == "/storage/directories/0/path")
        #expect(pointer(#"{"ignition":{"version":"3.4.0"},"storage":{"links":[{"path":"x","target":"/y"}]}}"#) == "/storage/links/0/path")
        #expect(pointer(#"{"ignition":{"version":"3.4.0"},"storage":{"filesystems":[{"device":"/dev/sdb","path":"mnt"}]}}"#) == "/storage/filesystems/0/path")
    }

    @Test func modeAsString() {
        let text = #"{"ignition":{"version":"3.4.0"},"storage":{"files":[{"path":"/etc/x","mode":"0644"}]}}"#
        #expect(pointer(text) == "/storage/files/0/mode")
        #expect(errors(text).first?.message.contains("expected integer, found string") == true)
        #expect(pointer(#"{"ignition":{"version":"3.4.0"},"storage":{"files":[{"path":"/etc/x","mode":420.0}]}}"#) == "/storage/files/0/mode")
        #expect(pointer(#"{"ignition":{"version":"3.4.0"},"storage":{"files":[{"path":"/etc/x","mode":99999}]}}"#) == "/storage/files/0/mode")
        #expect(errors(#"{"ignition":{"version":"3.4.0"},"storage":{"files":[{"path":"/etc/x","mode":420}]}}"#).isEmpty)
    }

    @Test func badHashes() {
        func config(_ hash: String, version: String = "3.4.0") -> String {
            #"{"ignition":{"version":"\#(version)"},"storage":{"files":[{"path":"/etc/x","contents":{"source":"https://example.com/x","verification":{"hash":"\#(hash)"}}}]}}"#
        }
        let sha256 = String(repeating: "ab", count: 32)
        let sha512 = String(repeating: "0f", count: 64)
        #expect(errors(config("sha256-" + sha256)).isEmpty)
        #expect(errors(config("sha512-" + sha512)).isEmpty)
        #expect(errors(config("sha512-" + sha512, version: "3.0.0")).isEmpty)
        let bad = ["sha256-" + sha256.dropLast(), "sha256-" + sha256.uppercased(), "md5-" + sha256, "sha256" + sha256, "sha512-" + sha256, "sha256-" + sha256.dropLast() + "g"]
        for hash in bad {
            #expect(pointer(config(String(hash))) == "/storage/files/0/contents/verification/hash", "\(hash)")
        }
        // 3.0.0 knows sha512 only.
        #expect(pointer(config("sha256-" + sha256, version: "3.0.0")) == "/storage/files/0/contents/verification/hash")
    }

    @Test func unitNames() {
        func config(_ name: String) -> String { #"{"ignition":{"version":"3.4.0"},"systemd":{"units":[{"name":"\#(name)"}]}}"# }
        for good in ["a.service", "cockpit.socket", "x.target", "t.timer", "var-lib.mount", "p.path", "s.slice", "sw.swap", "a.automount"] {
            #expect(errors(config(good)).isEmpty, "\(good)")
        }
        for bad in ["coreos-installer", "a.conf", ".service", "a.services"] {
            #expect(pointer(config(bad)) == "/systemd/units/0/name", "\(bad)")
        }
        let dropin = #"{"ignition":{"version":"3.4.0"},"systemd":{"units":[{"name":"a.service","dropins":[{"name":"10-x.conf"},{"name":"override"}]}]}}"#
        #expect(pointer(dropin) == "/systemd/units/0/dropins/1/name")
    }

    @Test func versions() {
        let experimental = errors(#"{"ignition":{"version":"3.4.0-experimental"}}"#)
        #expect(experimental.map(\.pointer) == ["/ignition/version"])
        #expect(experimental.first?.message.contains("experimental") == true)
        #expect(pointer(#"{"ignition":{"version":"9.9.9"}}"#) == "/ignition/version")
        #expect(pointer(#"{"ignition":{"version":"2.3.0"}}"#) == "/ignition/version")
        #expect(pointer(#"{"ignition":{"version":"3.4"}}"#) == "/ignition/version")
        #expect(pointer(#"{"ignition":{"version":3.4}}"#) == "/ignition/version")
        #expect(pointer(#"{"ignition":{}}"#) == "/ignition")
        #expect(pointer(#"{"storage":{}}"#) == "")
        #expect(pointer(#"[1]"#) == "")
    }

    @Test func sourceSchemesFollowTheVersion() {
        func config(_ source: String, _ version: String) -> String {
            #"{"ignition":{"version":"\#(version)","config":{"merge":[{"source":"\#(source)"}]}}}"#
        }
        #expect(errors(config("https://example.com/a.ign", "3.4.0")).isEmpty)
        #expect(errors(config("tftp://10.0.0.1/a.ign", "3.4.0")).isEmpty)
        #expect(errors(config("s3://bucket/a.ign", "3.4.0")).isEmpty)
        #expect(errors(config("data:,%7B%7D", "3.4.0")).isEmpty)
        #expect(errors(config("data:application/json;base64,e30=", "3.4.0")).isEmpty)
        #expect(errors(config("gs://bucket/a.ign", "3.2.0")).isEmpty)
        #expect(pointer(config("gs://bucket/a.ign", "3.1.0")) == "/ignition/config/merge/0/source")
        #expect(errors(config("arn:aws:s3:::bucket/a.ign", "3.4.0")).isEmpty)
        #expect(pointer(config("arn:aws:s3:::bucket/a.ign", "3.3.0")) == "/ignition/config/merge/0/source")
        #expect(pointer(config("ftp://example.com/a.ign", "3.4.0")) == "/ignition/config/merge/0/source")
        #expect(pointer(config("example.com/a.ign", "3.4.0")) == "/ignition/config/merge/0/source")
        #expect(pointer(config("http:///a.ign", "3.4.0")) == "/ignition/config/merge/0/source")
        #expect(pointer(config("data:application/json;base64,e30", "3.4.0")) == "/ignition/config/merge/0/source")
        #expect(pointer(config("data:nocomma", "3.4.0")) == "/ignition/config/merge/0/source")
        // 3.0.0 uses its own config-reference type, with the same scheme rules.
        #expect(errors(config("https://example.com/a.ign", "3.0.0")).isEmpty)
        #expect(pointer(config("gs://b/a.ign", "3.0.0")) == "/ignition/config/merge/0/source")
    }

    @Test func compressionAndHeaders() {
        #expect(pointer(#"{"ignition":{"version":"3.4.0"},"storage":{"files":[{"path":"/x","contents":{"source":"https://e.com/x","compression":"xz"}}]}}"#) == "/storage/files/0/contents/compression")
        #expect(pointer(#"{"ignition":{"version":"3.4.0"},"storage":{"files":[{"path":"/x","contents":{"source":"tftp://e.com/x","httpHeaders":[{"name":"A","value":"b"}]}}]}}"#) == "/storage/files/0/contents/httpHeaders")
        #expect(errors(#"{"ignition":{"version":"3.4.0"},"storage":{"files":[{"path":"/x","contents":{"source":"https://e.com/x","compression":"gzip","httpHeaders":[{"name":"A","value":"b"}]}}]}}"#).isEmpty)
    }

    @Test func typesAndRequiredKeys() {
        #expect(pointer(#"{"ignition":{"version":"3.4.0"},"systemd":{"units":[{"name":"a.service","enabled":"yes"}]}}"#) == "/systemd/units/0/enabled")
        #expect(pointer(#"{"ignition":{"version":"3.4.0"},"systemd":{"units":[{"enabled":true}]}}"#) == "/systemd/units/0")
        #expect(pointer(#"{"ignition":{"version":"3.4.0"},"passwd":{"users":[{"name":"core","sshAuthorizedKeys":"ssh-ed25519 AAAA"}]}}"#) == "/passwd/users/0/sshAuthorizedKeys")
        // Link target became optional in 3.3.0.
        #expect(errors(#"{"ignition":{"version":"3.3.0"},"storage":{"links":[{"path":"/a"}]}}"#).isEmpty)
        #expect(pointer(#"{"ignition":{"version":"3.2.0"},"storage":{"links":[{"path":"/a"}]}}"#) == "/storage/links/0")
        // null counts as absent for nullable keys only.
        #expect(errors(#"{"ignition":{"version":"3.4.0"},"systemd":{"units":[{"name":"a.service","enabled":null}]}}"#).isEmpty)
        #expect(pointer(#"{"ignition":{"version":"3.4.0"},"systemd":{"units":[{"name":null}]}}"#) == "/systemd/units/0/name")
    }

    @Test func duplicatesAcrossEntries() {
        #expect(pointer(#"{"ignition":{"version":"3.4.0"},"storage":{"files":[{"path":"/etc/a"}],"links":[{"path":"/etc/a","target":"/b"}]}}"#) == "/storage/links/0/path")
        #expect(pointer(#"{"ignition":{"version":"3.4.0"},"systemd":{"units":[{"name":"a.service"},{"name":"a.service"}]}}"#) == "/systemd/units/1/name")
        #expect(pointer(#"{"ignition":{"version":"3.4.0"},"passwd":{"users":[{"name":"core"},{"name":"core"}]}}"#) == "/passwd/users/1/name")
    }

    @Test func strictJSON() {
        #expect(errors(#"{"ignition":{"version":"3.4.0"}} trailing"#).count == 1)
        #expect(errors(#"{"ignition":{"version":"3.4.0"},}"#).count == 1)
        #expect(errors("").count == 1)
        #expect(errors(#"{"ignition":{"version":"3.4.0"},"x":"\u0000"}"#).count == 1)
        let lone = errors(#"{"ignition":{"version":"3.4.0"},"storage":{"files":[{"path":"/\ud800"}]}}"#)
        #expect(lone.count == 1)
        // Invalid UTF-8 can only arrive as bytes (a Swift String is always valid UTF-8).
        var bytes = Array(#"{"ignition":{"version":"3.4.0"},"storage":{"files":[{"path":"/x"#.utf8)
        bytes += [0xC3, 0x28] + Array(#""}]}}"#.utf8)
        let invalid = IgnitionValidator.validate(file: "config.ign", bytes: bytes).diagnostics
        #expect(invalid.count == 1)
        #expect(invalid.first?.line == 1)
        #expect(invalid.first?.message.lowercased().contains("utf-8") == true, "\(invalid.map(\.message))")
    }

    @Test func pointersEscapeSlashAndTilde() {
        let text = #"{"ignition":{"version":"3.4.0"},"a/b~c":1}"#
        #expect(pointer(text) == "/a~1b~0c")
    }
}

@Suite struct IgnitionRendererTests {
    let renderer = IgnitionRenderer()

    @Test func metadata() {
        #expect(renderer.format == "ignition")
        #expect(renderer.contentType == "application/vnd.coreos.ignition+json")
        #expect(renderer.mainFileNames.first == "config.ign")
    }

    @Test func validateReportsPerFileAndMainFileRules() async {
        #expect(await renderer.validate(files: ["config.ign": coreosBuilder]).isEmpty)
        #expect(await renderer.validate(files: ["whatever.txt": coreosBuilder]).isEmpty)
        #expect(await renderer.validate(files: [:]).hasErrors)
        #expect(await renderer.validate(files: ["a.txt": "x", "b.txt": "y"]).hasErrors)
        // A notes file beside config.ign is only template-checked.
        #expect(await renderer.validate(files: ["config.ign": coreosBuilder, "README": "notes, not JSON"]).isEmpty)
        let broken = await renderer.validate(files: ["config.json": #"{"ignition":{"version":"3.4.0"},"bogus":1}"#])
        #expect(broken.map(\.file) == ["config.json"])
        #expect(broken.map(\.pointer) == ["/bogus"])
    }

    @Test func templatesCheckedThenSampleRenderedAndValidated() async {
        let templated = coreosBuilder.replacingOccurrences(of: "http://192.168.200.2:8082/api/v1/bootconfig", with: "{{server.bootconfigURL}}")
        #expect(templated != coreosBuilder)
        #expect(await renderer.validate(files: ["config.ign": templated]).isEmpty)
        let typo = await renderer.validate(files: ["config.ign": templated.replacingOccurrences(of: "server.bootconfigURL", with: "server.bootconfigUrl")])
        #expect(typo.count == 1)
        #expect(typo.first?.line == 7)
        // A template that renders to a bad path is caught with the sample values.
        let relative = #"{"ignition":{"version":"3.4.0"},"storage":{"files":[{"path":"{{host.name}}/x"}]}}"#
        let found = await renderer.validate(files: ["config.ign": relative])
        #expect(found.map(\.pointer) == ["/storage/files/0/path"])
        #expect(found.first?.message.contains("sample values") == true)
    }

    @Test func renderSubstitutesWithJSONEscapingAndServesTextAsWritten() async throws {
        let templated = #"{"ignition":{"version":"3.4.0"},"storage":{"files":[{"path":"/etc/hostname","mode":420,"contents":{"source":"data:,{{host.hostname}}"}}]},"passwd":{"users":[{"name":"core","gecos":"{{host.annotations.owner}}"}]}}"#
        var context = RenderContext.sample
        context.host.hostname = "node-1"
        context.host.annotations["owner"] = "Ann \"the admin\" \\ O'Neil"
        let file = try await renderer.render(file: "config.ign", files: ["config.ign": templated], context: context, options: RenderOptions())
        #expect(file.contentType == "application/vnd.coreos.ignition+json")
        let text = String(decoding: file.body, as: UTF8.self)
        #expect(text.contains(#""source":"data:,node-1""#))
        #expect(text.contains(#""gecos":"Ann \"the admin\" \\ O'Neil""#))
        #expect(IgnitionValidator.validate(file: "config.ign", text: text).diagnostics.isEmpty)
        // Untemplated configs are served byte for byte (spacing and key order kept).
        let plain = try await renderer.render(file: "config.ign", files: ["config.ign": coreosBuilder], context: context, options: RenderOptions())
        #expect(plain.body == Array(coreosBuilder.utf8))
    }

    @Test func renderNeverServesInvalidExpansion() async {
        // A value that makes the document invalid in a non-string position fails the render.
        let templated = #"{"ignition":{"version":"3.4.0"},"passwd":{"users":[{"name":"core","uid":{{host.labels.uid}}}]}}"#
        var context = RenderContext.sample
        context.host.labels["uid"] = "1000"
        await #expect(throws: Never.self) {
            _ = try await renderer.render(file: "config.ign", files: ["config.ign": templated], context: context, options: RenderOptions())
        }
        context.host.labels["uid"] = "abc"
        do {
            _ = try await renderer.render(file: "config.ign", files: ["config.ign": templated], context: context, options: RenderOptions())
            Issue.record("rendered an invalid config")
        } catch {
            #expect(error.kind == .invalid)
            #expect(!error.diagnostics.isEmpty)
        }
    }

    func render(version: String, accept: String?) async -> RenderFailure.Kind? {
        let config = #"{"ignition":{"version":"\#(version)"}}"#
        do {
            _ = try await renderer.render(file: "config.ign", files: ["config.ign": config], context: .sample, options: RenderOptions(accept: accept))
            return nil
        } catch {
            return error.kind
        }
    }

    @Test func acceptNegotiation() async {
        let ignition36 = "application/vnd.coreos.ignition+json;version=3.6.0, */*;q=0.1"
        let ignition34 = "application/vnd.coreos.ignition+json; version=3.4.0, */*; q=0.1"
        let ignition2 = "application/vnd.coreos.ignition+json; version=2.4.0, application/vnd.coreos.ignition+json; version=1; q=0.5, */*; q=0.1"
        #expect(await render(version: "3.4.0", accept: ignition36) == nil)
        #expect(await render(version: "3.6.0", accept: ignition36) == nil)
        #expect(await render(version: "3.4.0", accept: ignition34) == nil)
        #expect(await render(version: "3.5.0", accept: ignition34) == .notAcceptable)
        #expect(await render(version: "3.0.0", accept: ignition2) == .notAcceptable)
        #expect(await render(version: "3.5.0", accept: nil) == nil)
        #expect(await render(version: "3.5.0", accept: "*/*") == nil)
        #expect(await render(version: "3.5.0", accept: "application/vnd.coreos.ignition+json") == nil)
        #expect(await render(version: "3.5.0", accept: "application/vnd.coreos.ignition+json;version=\"3.5.0\"") == nil)
        #expect(await render(version: "3.5.0", accept: "application/vnd.coreos.ignition+json;version=3.5.0-experimental") == .notAcceptable)
        #expect(await render(version: "3.4.0", accept: "application/vnd.coreos.ignition+json;version=3.5.0-experimental") == nil)
        do {
            _ = try await renderer.render(file: "config.ign", files: ["config.ign": #"{"ignition":{"version":"3.5.0"}}"#], context: .sample, options: RenderOptions(accept: ignition34))
        } catch {
            #expect(error.message.contains("3.5.0"))
            #expect(error.message.contains("3.4.0"))
        }
    }

    @Test func acceptParsing() {
        #expect(IgnitionAccept.maxVersion("application/vnd.coreos.ignition+json;version=3.6.0, */*;q=0.1")?.description == "3.6.0")
        #expect(IgnitionAccept.maxVersion("APPLICATION/VND.COREOS.IGNITION+JSON ; version=3.2.0")?.description == "3.2.0")
        #expect(IgnitionAccept.maxVersion("application/vnd.coreos.ignition+json;version=3.6.0;q=0, application/vnd.coreos.ignition+json;version=3.1.0")?.description == "3.1.0")
        #expect(IgnitionAccept.maxVersion("text/html") == nil)
        #expect(IgnitionAccept.maxVersion(nil) == nil)
    }
}
