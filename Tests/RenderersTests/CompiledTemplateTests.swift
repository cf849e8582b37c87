import Mustache
import Testing
@testable import Renderers

/// `CompiledTemplate` must render byte for byte what swift-mustache rendered before it replaced
/// swift-mustache on the request path: the examples, a few hundred generated templates, and the
/// standalone-tag rules written out by hand.
@Suite struct CompiledTemplateTests {
    // MARK: - Differential

    @Test func examplesRenderAsSwiftMustacheRendersThem() throws {
        var compared = 0
        for example in try ExampleConfigTests.load() {
            for (name, content) in example.files.sorted(by: { $0.key < $1.key }) {
                #expect(TemplateEngine.analyse(content).failures.isEmpty, "\(example.name)/\(name)")
                if case .compared(let n) = Self.compare(content, label: "\(example.name)/\(name)") { compared += n }
            }
        }
        #expect(compared >= 4 * Self.contexts.count * 2)
    }

    @Test func generatedTemplatesRenderAsSwiftMustacheRendersThem() {
        var generator = TemplateGenerator(seed: 0x6b67_7465_6d70)
        var accepted = 0, compared = 0
        let count = 800
        for index in 0..<count {
            let content = generator.template()
            guard TemplateEngine.analyse(content).failures.isEmpty else { continue }
            accepted += 1
            if case .compared = Self.compare(content, label: "template #\(index)") { compared += 1 }
        }
        // The generator must mostly produce templates both parsers read, or little is compared.
        #expect(accepted > count * 8 / 10, "only \(accepted) of \(count) generated templates were accepted")
        #expect(compared > accepted * 9 / 10, "only \(compared) of \(accepted) accepted templates were compared")
    }

    enum Outcome { case compared(Int), refusedByBoth, refusedAsUnchecked }

    /// Compares the compiled rendering with swift-mustache's for every context and escaping.
    ///
    /// Where a grapheme joins a brace, swift-mustache may read a tag the byte-wise check did not
    /// see and render it unchecked; the compiler refuses such content instead (the one intended
    /// difference, see `TemplateCompiler`).
    static func compare(_ content: String, label: String, sourceLocation: SourceLocation = #_sourceLocation) -> Outcome {
        let reference = try? MustacheTemplate(string: "{{% CONTENT_TYPE: TEXT }}\n" + content)
        var compiled: CompiledTemplate?
        var compileError: TemplateScanner.Failure?
        do throws(TemplateScanner.Failure) {
            compiled = try CompiledTemplate(content)
        } catch {
            compileError = error
        }
        guard let reference, let compiled else {
            if reference != nil, let compileError, compileError.message.contains("read differently from what the template check saw") {
                return .refusedAsUnchecked
            }
            #expect(reference == nil && compiled == nil,
                    "\(label): only \(reference == nil ? "swift-mustache" : "the compiler (\(compileError?.message ?? ""))") refuses \(content.debugDescription)",
                    sourceLocation: sourceLocation)
            return .refusedByBoth
        }
        var compared = 0
        for (index, context) in contexts.enumerated() {
            for escaping in [TemplateEscaping.none, .jsonString] {
                let expected = reference.render(TemplateEngine.mustacheObject(context, escape: escaping == .jsonString ? TemplateEngine.jsonEscape : { $0 }))
                let actual = compiled.render(context, escaping: escaping)
                #expect(actual == Array(expected.utf8),
                        "\(label), context \(index), \(escaping): \(content.debugDescription)\nexpected \(expected.debugDescription)\nactual   \(String(decoding: actual, as: UTF8.self).debugDescription)",
                        sourceLocation: sourceLocation)
                compared += 1
            }
        }
        return .compared(compared)
    }

    static let contexts: [RenderContext] = {
        let sample = RenderContext.sample
        var local = sample
        local.iso = nil
        local.host.nics = []
        local.host.labels = [:]
        local.host.annotations = [:]
        var tricky = sample
        tricky.host.name = "h\"1\\"
        tricky.host.hostname = "hôst-ü.例え"
        tricky.host.nics = [
            .init(mac: "aa:bb:cc:dd:ee:01", ip: "10.0.0.1", role: "da\"ta", hostname: "n\\1", network: "net\n1"),
            .init(mac: "aa:bb:cc:dd:ee:02", ip: "", role: "", hostname: "", network: ""),
            .init(mac: "aa:bb:cc:dd:ee:03", ip: "10.0.0.3", role: "bmc", hostname: "n3 é", network: "\u{2028}"),
        ]
        tricky.host.labels = ["gpu": "a\"100", "empty": ""]
        tricky.host.annotations = ["note": "line1\nline2\r\n", "quote": "say \"hi\" \\ é 日本\t\u{01}\u{1F}\u{7F}\u{2029}"]
        tricky.iso = .init(name: "iso \"q\"", targetIQN: "iqn.2000-01.org.example:x\\y", portal: "", portalPort: 0)
        var emptyValues = local
        emptyValues.host.nics = [.init(mac: "")]
        emptyValues.host.labels = ["empty": ""]
        emptyValues.iso = .init(name: "", targetIQN: "", portal: "", portalPort: 3260)
        return [sample, local, tricky, emptyValues]
    }()

    // MARK: - Standalone and whitespace rules, by hand

    /// (content, expected with the sample context's ISO, expected on local boot)
    static let rules: [(String, String, String)] = [
        // A tag alone on its line takes the line with it: blanks, tag and line break.
        ("a\n{{#iso}}\nb\n{{/iso}}\nc\n", "a\nb\nc\n", "a\nc\n"),
        ("a\n  {{#iso}}\t \n  b\n \t{{/iso}}  \nc\n", "a\n  b\nc\n", "a\nc\n"),
        ("a\r\n{{#iso}}\r\nb\r\n{{/iso}}\r\nc", "a\r\nb\r\nc", "a\r\nc"),
        ("{{^iso}}\nlocal\n{{/iso}}\n", "", "local\n"),
        ("x\n  {{! comment }}\ny\n", "x\ny\n", "x\ny\n"),
        // Not standalone: text or another tag shares the line.
        ("a {{#iso}}b{{/iso}}\nc\n", "a b\nc\n", "a \nc\n"),
        ("  {{#iso}}{{/iso}}\n", "  \n", "  \n"),
        ("  {{! c }}x\n", "  x\n", "  x\n"),
        // At the very end a tag is standalone; followed by blanks only, it is not.
        ("a\n  {{! c }}", "a\n", "a\n"),
        ("a\n{{! c }}  ", "a\n  ", "a\n  "),
        // A lone \r (or another Character that is a line break) ends a standalone tag's line,
        // though the text itself breaks lines only at \n and \r\n.
        ("{{#iso}}\rx\n{{/iso}}\ry", "x\ny", "y"),
        ("{{#iso}}\u{0B}x\n{{/iso}}\u{0B}y", "x\ny", "y"),
        // After a section the outer text starts a line only if the opening tag was standalone:
        // here the comment's line stays (its line break is kept) although it looks standalone.
        ("x{{#iso}}A\n{{/iso}}\n{{! c }}\nB", "xA\n\nB", "x\nB"),
        // and here the comment's line goes although text precedes it on its line.
        ("{{#iso}}\nA{{/iso}}  {{! c }}\nB", "AB", "B"),
        // Blanks before a comment that is not standalone wait for the next text; at the end they are lost.
        ("\n  {{! a }}{{! b }}", "\n", "\n"),
        ("  {{! a }}{{host.name}}\n", "  sample-host\n", "  sample-host\n"),
        // A last line of blanks only is dropped.
        ("{{host.name}}\n  ", "sample-host\n", "sample-host\n"),
        // A line break right after `{{` ends the line: the `{{` is dropped, the rest is text.
        ("a{{\nhost.name}}b", "a\nhost.name}}b", "a\nhost.name}}b"),
        // Triple braces and & insert like plain tags (never HTML-escaped).
        ("{{{host.name}}}|{{& host.name }}|{{ host.name }}", "sample-host|sample-host|sample-host", "sample-host|sample-host|sample-host"),
        // Sections over values render once when the value exists, even empty.
        ("{{#host.ip}}ip={{host.ip}}{{/host.ip}}|{{#iso.name}}{{iso.name}}{{/iso.name}}{{^iso.portal}}no portal{{/iso.portal}}",
         "ip=192.0.2.10|sample-iso", "ip=192.0.2.10|no portal"),
        ("{{#host.labels.role}}r={{host.labels.role}}{{/host.labels.role}}{{^host.labels.gpu}} no gpu{{/host.labels.gpu}}", "r=sample no gpu", "r=sample no gpu"),
        ("{{#host.nics}}\n- {{mac}}{{#iso}} on {{iso.name}}{{/iso}}\n{{/host.nics}}\n{{^host.nics}}\nnone\n{{/host.nics}}\n",
         "- 52:54:00:00:00:02 on sample-iso\n", "- 52:54:00:00:00:02\n"),
    ]

    @Test func standaloneRules() throws {
        var local = RenderContext.sample
        local.iso = nil
        for (content, withISO, onLocalBoot) in Self.rules {
            #expect(TemplateEngine.analyse(content).failures.isEmpty, "\(content.debugDescription)")
            let template = try CompiledTemplate(content)
            #expect(String(decoding: template.render(.sample, escaping: .none), as: UTF8.self) == withISO, "\(content.debugDescription)")
            #expect(String(decoding: template.render(local, escaping: .none), as: UTF8.self) == onLocalBoot, "\(content.debugDescription) on local boot")
            if case .compared = Self.compare(content, label: "rule") {} else { Issue.record("not compared: \(content.debugDescription)") }
        }
    }

    /// A section-free template reads its literals from its own content (the text the index
    /// holds) instead of a copy; only text split around a standalone tag is copied.
    @Test func flatTemplatesReadTheirContentInPlace() throws {
        let flat = "{\"x\": \"{{host.name}}\", \"y\": \"{{host.mac}}{{host.ip}}\"}\n"
        let standalone = "a {{host.name}}\n  {{! note }}\nb {{host.ip}}\n"
        for (content, copies) in [(flat, false), (standalone, true), ("{{#iso}}{{iso.name}}{{/iso}}", true), ("x{{host.name}}", false)] {
            let template = try CompiledTemplate(content)
            #expect(template.copiesLiterals == copies, "\(content.debugDescription)")
            if case .compared = Self.compare(content, label: "in place") {} else { Issue.record("not compared: \(content.debugDescription)") }
        }
    }

    @Test func presentEmptyLabelIsTrue() throws {
        var ctx = RenderContext.sample
        ctx.host.labels["gpu"] = ""
        let template = try CompiledTemplate("{{#host.labels.gpu}}yes{{/host.labels.gpu}}{{^host.labels.gpu}}no{{/host.labels.gpu}}")
        #expect(template.render(ctx, escaping: .none) == Array("yes".utf8))
        ctx.host.labels["gpu"] = nil
        #expect(template.render(ctx, escaping: .none) == Array("no".utf8))
    }

    /// What swift-mustache cannot parse although analysis passes it stays refused.
    @Test func contentSwiftMustacheCannotParseIsRefused() {
        for content in ["{{host.name}}\u{301}", "\u{600}{{#iso}}x{{/iso}}"] {
            #expect(TemplateEngine.check(file: "f", content: content).isEmpty)
            #expect(throws: RenderFailure.self, "\(content.debugDescription)") {
                try TemplateEngine.render(file: "f", content: content, context: .sample, escaping: .none)
            }
            if case .refusedByBoth = Self.compare(content, label: "refused") {} else { Issue.record("not refused by both: \(content.debugDescription)") }
        }
    }

    /// A last `{` is read as the start of a tag, so the check refuses it, not the first boot
    /// (found by `scripts/fuzz.sh template`: the check passed `{{host.hostname}}{`).
    @Test func lastBraceIsRefusedByTheCheck() {
        for content in ["{{host.hostname}}{", "{{host.name}} {", "{{! c}}\n{", "\u{FFFD}\u{FFFD}#\n{{! comm}}\n{"] {
            let diagnostics = TemplateEngine.check(file: "f", content: content)
            #expect(diagnostics.map(\.line) == [content.split(separator: "\n", omittingEmptySubsequences: false).count], "\(content.debugDescription)")
            #expect(diagnostics.first?.message.contains("as the last character") == true)
        }
        // A `{` joined to a combining mark is another character, which both read as text.
        #expect(TemplateEngine.check(file: "f", content: "{{host.name}} {\u{301}").isEmpty)
        #expect(throws: Never.self) { try TemplateEngine.render(file: "f", content: "{{host.name}} {\u{301}", context: .sample, escaping: .none) }
    }

    /// U+0600 joins the `{` after it into one grapheme, so swift-mustache reads no comment here
    /// but a `{{host.labels.x}}` tag inside it, which the check never saw: refused, not rendered.
    @Test func tagTheCheckDidNotSeeIsRefused() {
        let content = "\u{600}{{! {{host.labels.x}} }}\n"
        #expect(TemplateEngine.check(file: "f", content: content).isEmpty)
        #expect(throws: RenderFailure.self) {
            try TemplateEngine.render(file: "f", content: content, context: .sample, escaping: .none)
        }
        if case .refusedAsUnchecked = Self.compare(content, label: "unchecked") {} else { Issue.record("not refused as unchecked") }
    }

    // MARK: - Escaping and the request path

    @Test func byteEscapingMatchesTheStringEscaping() {
        var rng = SeededRandom(seed: 7)
        let alphabet: [Unicode.Scalar] = (0...0x7F).map { Unicode.Scalar(UInt8($0)) } + ["é", "日", "\u{2028}", "\u{2029}", "\u{85}", "\u{FEFF}", "😀"]
        for _ in 0..<2000 {
            var value = ""
            for _ in 0..<Int.random(in: 0...12, using: &rng) { value.unicodeScalars.append(alphabet.randomElement(using: &rng)!) }
            var bytes: [UInt8] = []
            TemplateEscaping.jsonString.append(value, to: &bytes)
            #expect(bytes == Array(TemplateEngine.jsonEscape(value).utf8), "\(value.debugDescription)")
            #expect(TemplateEscaping.containsControl(value) == value.unicodeScalars.contains(where: TemplateEngine.isControl), "\(value.debugDescription)")
        }
    }

    @Test func renderBytesIsRender() throws {
        for example in try ExampleConfigTests.load() {
            for (name, content) in example.files {
                for escaping in [TemplateEscaping.none, .jsonString] {
                    let bytes = try TemplateEngine.renderBytes(file: name, content: content, context: .sample, escaping: escaping)
                    #expect(bytes == Array(try TemplateEngine.render(file: name, content: content, context: .sample, escaping: escaping).utf8))
                }
            }
        }
        #expect(try TemplateEngine.renderBytes(file: "f", content: "no tags\n  ", context: .sample, escaping: .none) == Array("no tags\n  ".utf8))
    }

    @Test func noneEscapingRefusesControlCharactersOfEveryNIC() throws {
        var ctx = RenderContext.sample
        ctx.host.nics.append(.init(mac: "52:54:00:00:00:03", role: "x\ny"))
        let content = "{{#host.nics}}\n{{mac}} {{role}}\n{{/host.nics}}\n"
        #expect(throws: RenderFailure.self) {
            try TemplateEngine.renderBytes(file: "ks.cfg", content: content, context: ctx, escaping: .none)
        }
        let json = try TemplateEngine.renderBytes(file: "f.ign", content: content, context: ctx, escaping: .jsonString)
        #expect(String(decoding: json, as: UTF8.self) == "52:54:00:00:00:02 data\n52:54:00:00:00:03 x\\ny\n")
    }

    /// Content of equal length differing in one byte is another entry, and hashes differently
    /// (a fleet's configs often differ in a name only: they must not share a bucket).
    @Test func cacheTellsApartContentDifferingInOneByte() throws {
        let filler = String(repeating: "0123456789abcdef", count: 256)
        let a = "{{host.name}} " + filler + "A" + filler
        let b = "{{host.name}} " + filler + "B" + filler
        #expect(ContentKey(a).hashValue != ContentKey(b).hashValue)
        #expect(ContentKey(a) != ContentKey(b))
        #expect(try TemplateEngine.render(file: "f", content: a, context: .sample, escaping: .none).contains("A"))
        #expect(try TemplateEngine.render(file: "f", content: b, context: .sample, escaping: .none).contains("B"))
        #expect(ContentKey(a) == ContentKey(String(decoding: Array(a.utf8), as: UTF8.self)))
        // Canonically equivalent but different bytes: different templates.
        #expect(ContentKey("{{host.name}}é") != ContentKey("{{host.name}}e\u{301}"))
    }
}

// MARK: - Generated templates

/// SplitMix64: reproducible across runs and platforms, unlike the system generator.
struct SeededRandom: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Random templates mixing text, line breaks, values, comments and nested sections of every
/// kind, on lines of their own or inline, so the standalone rules meet each other.
struct TemplateGenerator {
    var rng: SeededRandom

    init(seed: UInt64) { rng = SeededRandom(seed: seed) }

    static let texts = ["a", "text", " ", "  ", "\t", " \t ", "\"", "\\", "\\\"", "é", "日本", "}", "{ ", "x{y", "}}", ":", "\"key\": \"", "%post",
                        "\r", "\u{0B}", "\u{2028}", " \u{301}", "{\u{301}", "\u{301}x", "\u{600}"]
    static let scalars = ["host.name", "host.namespace", "host.hostname", "host.mac", "host.ip", "host.labels.gpu", "host.labels.empty",
                          "host.labels.role", "host.labels.absent", "host.annotations.note", "host.annotations.quote", "iso.name",
                          "iso.targetIQN", "iso.portal", "iso.portalPort", "server.url", "server.bootconfigURL"]
    static let nicFields = ["mac", "ip", "role", "hostname", "network"]

    mutating func template() -> String {
        var out = ""
        if chance(8) { out += newline() }
        out += pieces(depth: 0, inNics: false)
        if chance(20) { out += "{" }
        return out
    }

    private mutating func pieces(depth: Int, inNics: Bool) -> String {
        (0..<Int.random(in: 0...7, using: &rng)).map { _ in piece(depth: depth, inNics: inNics) }.joined()
    }

    private mutating func piece(depth: Int, inNics: Bool) -> String {
        switch Int.random(in: 0..<100, using: &rng) {
        case 0..<22: return pick(Self.texts.prefix(chance(6) ? Self.texts.count : 19))
        case 22..<42: return newline() + blanks()
        case 42..<62: return variable(inNics: inNics)
        case 62..<70: return pick(["{{! note }}", "{{!}}", "{{!multi\nline}}", "{{! {{x}} }}"])
        case 70..<72:
            // A line break right after `{{`, odd blanks in tags, odd line breaks in text.
            return pick(["{{\nhost.name}}", "{{\r\nhost.ip}}", "{{\u{85}host.name}}", "{{\u{A0}host.name\u{A0}}}", "\u{0C}", "\u{85}", "a\u{200D}{{host.ip}}"])
        default:
            guard depth < 3 else { return variable(inNics: inNics) }
            return section(depth: depth, inNics: inNics)
        }
    }

    private mutating func section(depth: Int, inNics: Bool) -> String {
        var names = ["iso", "host.labels.gpu", "host.labels.empty", "host.labels.absent", "host.annotations.note", "host.ip", "iso.name"]
        if inNics { names += ["mac", "role"] }
        var name = pick(names)
        var sigil = pick(["#", "^"])
        if chance(3) {
            name = "host.nics"
            sigil = inNics ? "^" : pick(["#", "#", "^"])
        }
        let body = pieces(depth: depth + 1, inNics: inNics || (name == "host.nics" && sigil == "#"))
        let open = "{{\(sigil)\(pick([name, " \(name) "]))}}"
        let close = "{{/\(pick([name, " \(name)"]))}}"
        // Alone on their lines, or inline, independently for the two tags.
        let before = chance(2) ? newline() + blanks() : ""
        let afterOpen = chance(2) ? blanks() + newline() : ""
        let beforeClose = chance(2) ? newline() + blanks() : ""
        let afterClose = chance(2) ? blanks() + newline() : ""
        return before + open + afterOpen + body + beforeClose + close + afterClose
    }

    private mutating func variable(inNics: Bool) -> String {
        let name = inNics && chance(2) ? pick(Self.nicFields) : pick(Self.scalars)
        return pick(["{{\(name)}}", "{{ \(name) }}", "{{{\(name)}}}", "{{& \(name)}}", "{{{ \(name) }}}"])
    }

    private mutating func newline() -> String { pick(["\n", "\n", "\n", "\r\n"]) }
    private mutating func blanks() -> String { pick(["", "", " ", "  ", "\t", " \t"]) }
    private mutating func chance(_ oneIn: Int) -> Bool { Int.random(in: 0..<oneIn, using: &rng) == 0 }
    private mutating func pick<C: Collection>(_ options: C) -> C.Element { options.randomElement(using: &rng)! }
}
