import Testing
@testable import Renderers

@Suite struct TemplateEngineTests {
    let context = RenderContext.sample

    @Test func plainContentPassesThroughUnchanged() throws {
        let content = "{\"a\": \"{ not a tag }\", \"b\": \"}}\"}\n\n\n"
        #expect(TemplateEngine.check(file: "f", content: content).isEmpty)
        #expect(try TemplateEngine.render(file: "f", content: content, context: context, escaping: .jsonString) == content)
        #expect(try TemplateEngine.render(file: "f", content: content, context: context, escaping: .none) == content)
    }

    @Test func substitutesEveryScalarVariable() throws {
        let names = ["host.name", "host.namespace", "host.hostname", "host.mac", "host.ip", "iso.name", "iso.targetIQN",
                     "iso.portal", "iso.portalPort", "server.url", "server.bootconfigURL", "host.labels.role", "host.annotations.note"]
        let content = names.map { "\($0)={{\($0)}}" }.joined(separator: "\n") + "\n"
        #expect(TemplateEngine.check(file: "f", content: content).isEmpty)
        let out = try TemplateEngine.render(file: "f", content: content, context: context, escaping: .none)
        #expect(out == """
            host.name=sample-host
            host.namespace=default
            host.hostname=sample-host
            host.mac=52:54:00:00:00:01
            host.ip=192.0.2.10
            iso.name=sample-iso
            iso.targetIQN=iqn.2000-01.org.example:sample
            iso.portal=192.0.2.1
            iso.portalPort=3260
            server.url=http://192.0.2.2:8082
            server.bootconfigURL=http://192.0.2.2:8082/api/v1/bootconfig
            host.labels.role=sample
            host.annotations.note=sample

            """)
    }

    @Test func documentsEveryName() {
        let documented = Set(TemplateEngine.variables.map(\.name))
        for name in TemplateEngine.scalarNames { #expect(documented.contains(name), "\(name) undocumented") }
        for field in TemplateEngine.nicFields { #expect(documented.contains("host.nics[].\(field)")) }
        #expect(documented.isSuperset(of: ["host.nics", "host.labels.<key>", "host.annotations.<key>"]))
        #expect(TemplateEngine.variables.allSatisfy { !$0.description.isEmpty })
    }

    @Test func unknownVariableIsAnErrorWithItsLine() throws {
        let content = "line one\nline two {{host.nmae}}\n{{host.name}}\n{{bogus}}\n"
        let diagnostics = TemplateEngine.check(file: "ks.cfg", content: content)
        #expect(diagnostics.map(\.line) == [2, 4])
        #expect(diagnostics[0].message.contains("host.nmae"))
        #expect(diagnostics[0].message.contains("did you mean host.name?"), "\(diagnostics[0].message)")
        #expect(diagnostics[0].located.hasPrefix("ks.cfg:2: "))
        #expect(throws: RenderFailure.self) {
            try TemplateEngine.render(file: "ks.cfg", content: content, context: context, escaping: .none)
        }
    }

    @Test func syntaxErrorsCarryLines() {
        let cases: [(String, Int)] = [
            ("a\nb {{host.name\n", 2),
            ("{{#host.nics}}\n{{mac}}\n", 1),
            ("x\n{{/host.nics}}\n", 2),
            ("{{#host.nics}}\n{{/iso}}\n", 2),
            ("\n\n{{> partial}}\n", 3),
            ("{{=<% %>=}}\n", 1),
            ("\n{{lowercased(host.name)}}\n", 2),
            ("\n\n\n{{host.nics}}\n", 4),
            ("{{iso}}", 1),
            ("{{.}}", 1),
            ("{{mac}}", 1),
        ]
        for (content, line) in cases {
            let diagnostics = TemplateEngine.check(file: "f", content: content)
            #expect(diagnostics.first?.line == line, "\(content.debugDescription): \(diagnostics)")
            #expect(diagnostics.hasErrors)
        }
    }

    @Test func nicsSectionIteratesInterfaces() throws {
        var ctx = context
        ctx.host.nics = [.init(mac: "aa:bb:cc:dd:ee:01", ip: "10.0.0.1", role: "data", hostname: "h-data", network: "data"),
                         .init(mac: "aa:bb:cc:dd:ee:02", ip: "10.0.1.1", role: "storage", hostname: "h-st", network: "san")]
        let content = "network --hostname={{host.hostname}}\n{{#host.nics}}\nnetwork --device={{mac}} --ip={{ip}} # {{role}} {{hostname}} {{network}} on {{host.name}}\n{{/host.nics}}\nend\n"
        #expect(TemplateEngine.check(file: "f", content: content).isEmpty)
        let out = try TemplateEngine.render(file: "f", content: content, context: ctx, escaping: .none)
        #expect(out == """
            network --hostname=sample-host
            network --device=aa:bb:cc:dd:ee:01 --ip=10.0.0.1 # data h-data data on sample-host
            network --device=aa:bb:cc:dd:ee:02 --ip=10.0.1.1 # storage h-st san on sample-host
            end

            """)
    }

    @Test func sectionsOnLabelsAndISO() throws {
        let content = "{{#host.labels.gpu}}gpu={{host.labels.gpu}}\n{{/host.labels.gpu}}{{#iso}}iso {{iso.name}}\n{{/iso}}{{^iso}}local\n{{/iso}}"
        #expect(TemplateEngine.check(file: "f", content: content).isEmpty)
        #expect(try TemplateEngine.render(file: "f", content: content, context: context, escaping: .none) == "iso sample-iso\n")
        var local = context
        local.iso = nil
        local.host.labels["gpu"] = "a100"
        #expect(try TemplateEngine.render(file: "f", content: content, context: local, escaping: .none) == "gpu=a100\nlocal\n")
    }

    @Test func missingLabelRendersEmpty() throws {
        #expect(try TemplateEngine.render(file: "f", content: "[{{host.labels.absent}}]", context: context, escaping: .none) == "[]")
    }

    @Test func neverEscapesHTML() throws {
        var ctx = context
        ctx.host.annotations["html"] = "<a href='x'>&\"</a>"
        let out = try TemplateEngine.render(file: "f", content: "{{host.annotations.html}}|{{{host.annotations.html}}}|{{& host.annotations.html}}", context: ctx, escaping: .none)
        #expect(out == "<a href='x'>&\"</a>|<a href='x'>&\"</a>|<a href='x'>&\"</a>")
    }

    @Test func jsonStringEscaping() throws {
        var ctx = context
        ctx.host.annotations["tricky"] = "say \"hi\"\\\n\t\u{01}é"
        let out = try TemplateEngine.render(file: "config.ign", content: "{\"x\": \"{{host.annotations.tricky}}\"}", context: ctx, escaping: .jsonString)
        #expect(out == "{\"x\": \"say \\\"hi\\\"\\\\\\n\\t\\u0001é\"}")
    }

    @Test func noneEscapingRefusesLineBreaksInUsedValues() throws {
        var ctx = context
        ctx.host.annotations["evil"] = "x\n%pre\nrm -rf /\n%end"
        #expect(throws: RenderFailure.self) {
            try TemplateEngine.render(file: "ks.cfg", content: "# {{host.annotations.evil}}\n", context: ctx, escaping: .none)
        }
        // Unused values do not matter.
        #expect(try TemplateEngine.render(file: "ks.cfg", content: "# {{host.name}}\n", context: ctx, escaping: .none) == "# sample-host\n")
        // Content first rendered escaped is kept without its uses; unescaped it is still checked.
        let shared = "# {{host.annotations.evil}} once escaped\n"
        _ = try TemplateEngine.render(file: "a.ign", content: shared, context: ctx, escaping: .jsonString)
        #expect(throws: RenderFailure.self) {
            try TemplateEngine.render(file: "ks.cfg", content: shared, context: ctx, escaping: .none)
        }
    }

    @Test func keepsBlankLinesAndStandaloneTagsBehaveLikeMustache() throws {
        let content = "\n\nfirst {{host.name}}\n{{! a comment }}\nlast\n"
        #expect(try TemplateEngine.render(file: "f", content: content, context: context, escaping: .none) == "\n\nfirst sample-host\nlast\n")
    }

    /// The example in docs/templates.md renders as documented.
    @Test func documentedExample() throws {
        let template = """
        network --bootproto=static --device={{host.mac}} --ip={{host.ip}} --netmask=255.255.255.0 --hostname={{host.hostname}} --activate
        {{#host.nics}}
        network --bootproto=static --device={{mac}} --ip={{ip}} --netmask=255.255.255.0 --onboot=yes
        {{/host.nics}}
        %post
        echo 'Installed by bootgate for {{host.namespace}}/{{host.name}} from {{server.url}}' > /etc/motd.d/bootgate
        %end

        """
        let context = RenderContext(
            host: .init(name: "server1", namespace: "default", hostname: "server1", mac: "ac:1f:6b:8a:a7:9c", ip: "192.168.10.10",
                        nics: [.init(mac: "ac:1f:6b:8a:a7:9d", ip: "192.168.20.10", role: "data")]),
            iso: nil, server: .init(url: "http://192.168.200.2:8082"))
        #expect(try TemplateEngine.render(file: "ks.cfg", content: template, context: context, escaping: .none) == """
        network --bootproto=static --device=ac:1f:6b:8a:a7:9c --ip=192.168.10.10 --netmask=255.255.255.0 --hostname=server1 --activate
        network --bootproto=static --device=ac:1f:6b:8a:a7:9d --ip=192.168.20.10 --netmask=255.255.255.0 --onboot=yes
        %post
        echo 'Installed by bootgate for default/server1 from http://192.168.200.2:8082' > /etc/motd.d/bootgate
        %end

        """)
    }
}
