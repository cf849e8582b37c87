import Testing
@testable import Renderers

/// `IgnitionRenderPlan` must reach the verdict the validator reaches on the host's rendered text,
/// for every template it accepts and every host, good values and bad.
@Suite struct IgnitionRenderPlanTests {
    /// Values that keep a config valid, and values that break a path, a unit name, a data URL or
    /// uniqueness, or that need JSON escaping.
    static let values = ["sample", "/abs/path", "relative", "a\"quote", "back\\slash", "line\nbreak", "tab\there",
                         "café ☃", "x.service", "x.nope", "%zz", "%41", "", "two words", "\u{1}", "q=\"\\\"", "/etc/shared"]

    static func context(_ pick: (Int) -> String) -> RenderContext {
        RenderContext(host: .init(name: pick(0), namespace: pick(1), hostname: pick(2), mac: pick(3), ip: pick(4),
                                  labels: ["role": pick(5), "zone": pick(6)], annotations: ["note": pick(7)]),
                      iso: .init(name: pick(8), targetIQN: pick(9), portal: pick(10), portalPort: 3260),
                      server: .init(url: pick(11)))
    }

    /// Per context field, a value valid wherever the templates below put it.
    static let fitting = ["a.service", "/ns", "h", "/t", "1", "/r", "z", "n", "i", "q", "QUJD", "http://s"]

    /// Templates with tags in the strings the validator reads (paths, units, sources, dropins,
    /// users, header names, RAID devices, disks, filesystems) and in strings it does not read (contents of units, descriptions).
    static let templates: [String] = [
        #"{"ignition":{"version":"3.4.0"},"storage":{"files":[{"path":"/etc/{{host.name}}","contents":{"source":"data:,{{host.hostname}}"}},{"path":"{{host.labels.role}}","mode":420}]}}"#,
        #"{"ignition":{"version":"3.4.0"},"systemd":{"units":[{"name":"{{host.name}}","enabled":true,"contents":"[Unit]\nDescription={{iso.name}} {{server.bootconfigURL}}\n"},{"name":"{{host.labels.zone}}.service","dropins":[{"name":"{{host.annotations.note}}.conf"}]}]}}"#,
        #"{"ignition":{"version":"3.2.0","config":{"merge":[{"source":"{{server.url}}/x"}]}},"storage":{"links":[{"path":"/l/{{host.ip}}","target":"{{host.mac}}","hard":true}],"directories":[{"path":"/etc/shared"},{"path":"{{host.namespace}}"}]}}"#,
        #"{"ignition":{"version":"3.4.0"},"passwd":{"users":[{"name":"{{host.labels.role}}"},{"name":"{{host.labels.zone}}"}]},"storage":{"files":[{"path":"/etc/{{iso.targetIQN}}","contents":{"source":"data:;base64,{{iso.portal}}"}}]}}"#,
        #"{"ignition":{"version":"3.4.0","config":{"merge":[{"source":"{{server.url}}/x","httpHeaders":[{"name":"{{host.labels.role}}","value":"v"},{"name":"X-{{host.name}}"}]}]}},"storage":{"raid":[{"name":"md{{host.ip}}","level":"raid1","devices":["/dev/{{host.mac}}","{{host.labels.zone}}"]}],"disks":[{"device":"{{iso.portal}}"},{"device":"/dev/{{host.hostname}}"}],"filesystems":[{"device":"/dev/{{host.labels.role}}","path":"{{host.labels.zone}}","format":"xfs"}]}}"#,
    ]

    @Test func planAgreesWithTheValidatorOnTheRenderedText() throws {
        var rng = SeededRandom(seed: 0x706c_616e)
        var invalid = 0, checked = 0
        for (t, template) in Self.templates.enumerated() {
            let plan = try #require(IgnitionRenderPlan.make(file: "config.ign", content: template), "template \(t) has no plan")
            for _ in 0..<300 {
                // Mostly values that fit every template, some from the whole list, so that both
                // valid and invalid hosts occur.
                let picks = (0..<12).map { i in rng.next() % 100 < 85 ? Self.fitting[i] : Self.values[Int(rng.next() % UInt64(Self.values.count))] }
                let context = Self.context { picks[$0] }
                let text = try TemplateEngine.renderBytes(file: "config.ign", content: template, context: context, escaping: .jsonString)
                let full = IgnitionValidator.validate(file: "config.ign", bytes: text)
                guard let planned = plan.validate(file: "config.ign", context: context) else {
                    Issue.record("template \(t): no verdict for values \(picks)")
                    continue
                }
                #expect(planned.diagnostics.map(\.located) == full.diagnostics.map(\.located), "template \(t), values \(picks)")
                #expect(planned.version == full.version)
                if full.diagnostics.hasErrors { invalid += 1 }
                checked += 1
            }
        }
        // Both outcomes must occur, or the comparison proves little.
        #expect(invalid > checked / 20 && invalid < checked * 19 / 20, "\(invalid) of \(checked) invalid")
    }

    /// Verdicts are remembered by file name and values: asking again, in any order, gives what
    /// the checks gave, and a remembered verdict never answers for other values or another file.
    @Test func rememberedVerdictsAnswerOnlyForTheirFileAndValues() throws {
        let plan = try #require(IgnitionRenderPlan.make(file: "config.ign", content: Self.templates[0]))
        let good = Self.context { Self.fitting[$0] }
        let bad = Self.context { $0 == 2 ? "two words" : Self.fitting[$0] } // a space in the data URL
        for _ in 0..<3 {
            for (context, file) in [(good, "config.ign"), (bad, "config.ign"), (bad, "other.ign"), (good, "other.ign")] {
                let verdict = try #require(plan.validate(file: file, context: context))
                if context == bad {
                    #expect(verdict.diagnostics.map(\.located) == ["\(file)#/storage/files/0/contents/source: source URL contains whitespace; percent-encode it"])
                    #expect(verdict.version == nil)
                } else {
                    #expect(verdict.diagnostics.isEmpty && verdict.version?.description == "3.4.0")
                }
            }
        }
    }

    @Test func templatesWhoseStructureCanChangeHaveNoPlan() {
        let sections = #"{"ignition":{"version":"3.4.0"},"storage":{"files":[{{#host.nics}}{"path":"/etc/{{mac}}"}{{/host.nics}}]}}"#
        let inKey = #"{"ignition":{"version":"3.4.0"},"{{host.name}}":1}"#
        let number = #"{"ignition":{"version":"3.4.0"},"storage":{"files":[{"path":"/x","mode":{{iso.portalPort}}}]}}"#
        for content in [sections, inKey, number] {
            #expect(IgnitionRenderPlan.make(file: "config.ign", content: content) == nil, "\(content)")
        }
    }

    @Test func valuesWithNULOrMarkersAreLeftToTheText() throws {
        let plan = try #require(IgnitionRenderPlan.make(file: "config.ign", content: Self.templates[0]))
        for bad in ["nul\u{0}", "m\u{F8FE}0\u{F8FF}"] {
            #expect(plan.validate(file: "config.ign", context: Self.context { _ in bad }) == nil)
        }
    }

    @Test func rendererServesTheSameBytesAndRefusalsWithThePlan() throws {
        let renderer = IgnitionRenderer()
        let good = Self.context { ["h1", "default", "h1", "52:54:00:00:00:01", "10.0.0.1", "/srv/web", "a", "n", "iso", "iqn.2000-01.org.x:y", "10.0.0.2", "http://10.0.0.3"][$0] }
        let out = try renderer.renderNow(file: "config.ign", files: ["config.ign": Self.templates[0]], context: good, options: .init())
        #expect(String(decoding: out.body, as: UTF8.self).contains(#""path":"/etc/h1""#))
        // A label value that is not an absolute path makes files[1].path invalid for this host only.
        #expect(throws: RenderFailure.self) {
            _ = try renderer.renderNow(file: "config.ign", files: ["config.ign": Self.templates[0]], context: Self.context { _ in "relative" }, options: .init())
        }
    }
}
