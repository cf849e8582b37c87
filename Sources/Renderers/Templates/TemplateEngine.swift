/// Mustache templates inside boot config files (`{{host.hostname}}`, `{{server.bootconfigURL}}`, …).
///
/// Only the names in `variables` exist: an unknown name is an error when the config is written
/// (`check`), never an empty string at boot. Rendering uses `CompiledTemplate`, which gives the
/// output swift-mustache gives with HTML escaping switched off (the tests compare the two);
/// `TemplateEscaping.jsonString` escapes values for JSON string literals instead.
/// See docs/templates.md.
public enum TemplateEngine {
    public static let variables: [TemplateVariable] = [
        .init(name: "host.name", description: "The host's object name (metadata.name)."),
        .init(name: "host.namespace", description: "The host's namespace."),
        .init(name: "host.hostname", description: "The host's hostname (falls back to its name)."),
        .init(name: "host.mac", description: "Boot MAC address, lower case with colons."),
        .init(name: "host.ip", description: "The host's IP address (the one its config requests come from)."),
        .init(name: "host.nics", description: "The host's network interfaces, a list: use {{#host.nics}}…{{/host.nics}} and the fields below inside it."),
        .init(name: "host.nics[].mac", description: "Inside {{#host.nics}}: the interface's MAC address, written {{mac}}."),
        .init(name: "host.nics[].ip", description: "Inside {{#host.nics}}: the interface's IP address, written {{ip}}."),
        .init(name: "host.nics[].role", description: "Inside {{#host.nics}}: the interface's role (e.g. data, bmc), written {{role}}."),
        .init(name: "host.nics[].hostname", description: "Inside {{#host.nics}}: the interface's hostname, written {{hostname}}."),
        .init(name: "host.nics[].network", description: "Inside {{#host.nics}}: the network the interface is on, written {{network}}."),
        .init(name: "host.labels.<key>", description: "The value of the host's label <key> (letters, digits, - and _); empty when the host has no such label. {{#host.labels.<key>}}…{{/host.labels.<key>}} renders only when it has."),
        .init(name: "host.annotations.<key>", description: "The value of the host's annotation <key>, as for labels."),
        .init(name: "iso", description: "Section only: {{#iso}}…{{/iso}} renders when the host boots an ISO, {{^iso}}…{{/iso}} when it boots its local disk."),
        .init(name: "iso.name", description: "Name of the ISO the host boots (empty on local boot)."),
        .init(name: "iso.targetIQN", description: "iSCSI target IQN of that ISO."),
        .init(name: "iso.portal", description: "iSCSI portal address of that ISO."),
        .init(name: "iso.portalPort", description: "iSCSI portal TCP port of that ISO."),
        .init(name: "server.url", description: "This server's public base URL, without trailing slash."),
        .init(name: "server.bootconfigURL", description: "Where installers fetch their config: {{server.url}}/api/v1/bootconfig."),
    ]

    /// True when the content has template tags at all; configs without `{{` are served verbatim.
    public static func isTemplate(_ content: String) -> Bool {
        content.utf8.withContiguousStorageIfAvailable { containsOpen($0) } ?? containsOpen(Array(content.utf8))
    }

    /// Syntax errors and unknown variables, each with its line. Empty for content without `{{`.
    public static func check(file: String, content: String) -> [Diagnostic] {
        guard isTemplate(content) else { return [] }
        return analyse(content).failures.map { Diagnostic(file: file, line: $0.line, message: $0.message) }
    }

    /// The content with every tag replaced by the context's values. Content without `{{` comes
    /// back unchanged. Throws `.invalid` for anything `check` reports, and (with `.none`
    /// escaping) for a used value holding a line break or control character.
    public static func render(file: String, content: String, context: RenderContext, escaping: TemplateEscaping) throws(RenderFailure) -> String {
        guard isTemplate(content) else { return content }
        return String(decoding: try renderBytes(file: file, content: content, context: context, escaping: escaping), as: UTF8.self)
    }

    /// `render` as the UTF-8 bytes a response body wants, without a String in between.
    public static func renderBytes(file: String, content: String, context: RenderContext, escaping: TemplateEscaping) throws(RenderFailure) -> [UInt8] {
        guard isTemplate(content) else { return Array(content.utf8) }
        let prepared = try PreparedTemplates.shared.prepared(file: file, content: content, needsUses: escaping == .none)
        if escaping == .none { try refuseUnsafeValues(prepared.uses ?? [], file: file, context: context) }
        return prepared.template.render(context, escaping: escaping)
    }

    /// `.none` inserts values as they are, so a used value holding a line break or control
    /// character is an error (one per use), whether or not this host's rendering reaches the use.
    static func refuseUnsafeValues(_ uses: [PreparedTemplates.SlotUse], file: String, context: RenderContext) throws(RenderFailure) {
        var unsafe: [Diagnostic] = []
        for use in uses where use.slot.anyValue(in: context, where: TemplateEscaping.containsControl) {
            unsafe.append(Diagnostic(file: file, line: use.line, message: "the value of \(use.reference) for host \(context.host.name) contains a line break or control character and cannot be inserted here"))
        }
        if !unsafe.isEmpty { throw RenderFailure(.invalid, unsafe) }
    }

    // MARK: - Names

    /// What a name used in a tag refers to.
    enum Reference: Sendable, Hashable {
        case scalar(String)
        case nics
        case iso
    }

    static let scalarNames: Set<String> = [
        "host.name", "host.namespace", "host.hostname", "host.mac", "host.ip",
        "iso.name", "iso.targetIQN", "iso.portal", "iso.portalPort",
        "server.url", "server.bootconfigURL",
    ]
    static let nicFields: Set<String> = ["mac", "ip", "role", "hostname", "network"]

    static func resolve(_ name: String, inNics: Bool) -> Reference? {
        if inNics, nicFields.contains(name) { return .scalar("host.nics[].\(name)") }
        if scalarNames.contains(name) { return .scalar(name) }
        if name == "host.nics" { return .nics }
        if name == "iso" { return .iso }
        for prefix in ["host.labels.", "host.annotations."] where name.hasPrefix(prefix) {
            let key = name.dropFirst(prefix.count)
            if !key.isEmpty, key.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }) {
                return .scalar(name)
            }
        }
        return nil
    }

    struct Use: Sendable { var reference: String; var line: Int }
    struct Analysis: Sendable { var failures: [TemplateScanner.Failure]; var uses: [Use] }

    static func analyse(_ content: String) -> Analysis {
        let (tags, syntaxErrors) = TemplateScanner.scan(content)
        var failures = syntaxErrors
        var uses: [Use] = []
        var open: [(name: String, line: Int, reference: Reference?)] = []

        func fail(_ line: Int, _ message: String) { failures.append(.init(line: line, message: message)) }

        for tag in tags {
            let inNics = open.contains { $0.reference == .nics }
            switch tag.kind {
            case .comment:
                continue
            case .unsupported(let why):
                fail(tag.line, why)
                continue
            case .sectionClose:
                guard let top = open.last else {
                    fail(tag.line, "`{{/\(tag.name)}}` closes a section that was never opened")
                    continue
                }
                if top.name != tag.name {
                    fail(tag.line, "`{{/\(tag.name)}}` does not match the open section `\(top.name)` (line \(top.line))")
                }
                open.removeLast()
                continue
            case .variable, .sectionOpen, .invertedOpen:
                break
            }
            let isSection = tag.kind != .variable
            if let problem = nameSyntaxProblem(tag.name) {
                fail(tag.line, problem)
                if isSection { open.append((tag.name, tag.line, nil)) }
                continue
            }
            let reference = resolve(tag.name, inNics: inNics)
            switch reference {
            case nil:
                fail(tag.line, "unknown variable `\(tag.name)`" + suggestion(for: tag.name, inNics: inNics))
            case .scalar(let name)?:
                uses.append(Use(reference: name, line: tag.line))
            case .nics?, .iso?:
                if !isSection {
                    fail(tag.line, reference == .nics
                        ? "`host.nics` is a list: use {{#host.nics}}…{{/host.nics}} with {{mac}}, {{ip}}, {{role}}, {{hostname}}, {{network}} inside"
                        : "`iso` is only usable as a section: {{#iso}}…{{/iso}}")
                }
                if tag.kind == .invertedOpen, reference == .nics { break }
                if reference == .nics, inNics {
                    fail(tag.line, "`host.nics` sections cannot be nested")
                }
            }
            if isSection { open.append((tag.name, tag.line, tag.kind == .sectionOpen ? reference : nil)) }
        }
        for section in open {
            failures.append(.init(line: section.line, message: "section `\(section.name)` is never closed with {{/\(section.name)}}"))
        }
        return Analysis(failures: failures.sorted { $0.line < $1.line }, uses: uses)
    }

    static func nameSyntaxProblem(_ name: String) -> String? {
        if name.isEmpty { return "empty tag" }
        if name.contains("(") || name.contains(")") { return "functions in tags (`\(name)`) are not supported" }
        if name.first == "." { return "`\(name)`: names relative to the current section are not supported; use the full name" }
        if !name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "." || $0 == "-" || $0 == "_") }) {
            return "`\(name)` is not a variable name (letters, digits, '.', '-', '_')"
        }
        return nil
    }

    /// ` (did you mean host.name?)` for a near miss, else empty.
    static func suggestion(for name: String, inNics: Bool) -> String {
        var candidates = Array(scalarNames) + ["host.nics", "host.labels.<key>", "host.annotations.<key>"]
        if inNics { candidates += nicFields }
        let best = candidates.map { ($0, editDistance($0, name)) }.min { $0.1 < $1.1 || ($0.1 == $1.1 && $0.0 < $1.0) }
        guard let best, best.1 <= 3 else { return "; see docs/templates.md for the names" }
        return " (did you mean \(best.0)?)"
    }

    /// Edit distance counting a swap of neighbours as one edit, since that is the usual typo.
    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var d = Array(repeating: Array(repeating: 0, count: b.count + 1), count: a.count + 1)
        for i in 0...a.count { d[i][0] = i }
        for j in 0...b.count { d[0][j] = j }
        for i in 1...a.count {
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                    d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
                }
            }
        }
        return d[a.count][b.count]
    }

    // MARK: - Values

    /// The values of a reference as `analyse` names it (one per NIC for NIC fields; empty
    /// strings for what the host lacks).
    static func values(of reference: String, in context: RenderContext) -> [String] {
        guard let slot = TemplateSlot(reference: reference) else { return [] }
        if case .nic(let field) = slot { return context.host.nics.map { field.value(of: $0) } }
        return [slot.value(in: context, nic: nil) ?? ""]
    }

    static func nicObject(_ nic: RenderContext.NIC, escape: (String) -> String) -> [String: String] {
        ["mac": escape(nic.mac), "ip": escape(nic.ip), "role": escape(nic.role), "hostname": escape(nic.hostname), "network": escape(nic.network)]
    }

    /// The object swift-mustache walks, for the tests that compare `CompiledTemplate` with it (the
    /// way bootgate rendered before): dictionaries, since its lookup goes through `MustacheParent`.
    /// Missing labels and a missing ISO are absent keys, which render as empty strings.
    static func mustacheObject(_ context: RenderContext, escape: (String) -> String) -> [String: Any] {
        let host = context.host
        var object: [String: Any] = [
            "host": [
                "name": escape(host.name),
                "namespace": escape(host.namespace),
                "hostname": escape(host.hostname),
                "mac": escape(host.mac),
                "ip": escape(host.ip),
                "nics": host.nics.map { nicObject($0, escape: escape) },
                "labels": host.labels.mapValues(escape),
                "annotations": host.annotations.mapValues(escape),
            ] as [String: Any],
            "server": ["url": escape(context.server.url), "bootconfigURL": escape(context.server.bootconfigURL)],
        ]
        if let iso = context.iso {
            object["iso"] = [
                "name": escape(iso.name),
                "targetIQN": escape(iso.targetIQN),
                "portal": escape(iso.portal),
                "portalPort": String(iso.portalPort),
            ]
        }
        return object
    }

    /// Escapes a value for the inside of a JSON string literal (RFC 8259 section 7). The reference
    /// for `TemplateEscaping.append`, which escapes the same way on bytes.
    static func jsonEscape(_ value: String) -> String {
        var out = ""
        out.reserveCapacity(value.utf8.count)
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20 || scalar.value == 0x7F:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default:
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    /// What `.none` escaping refuses to insert; `TemplateEscaping.containsControl` checks it on bytes.
    static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || scalar.value == 0x7F || scalar == "\u{2028}" || scalar == "\u{2029}"
    }

    private static func containsOpen<C: Collection>(_ bytes: C) -> Bool where C.Element == UInt8 {
        var previousWasBrace = false
        for byte in bytes {
            let isBrace = byte == UInt8(ascii: "{")
            if isBrace && previousWasBrace { return true }
            previousWasBrace = isBrace
        }
        return false
    }
}
