/// Validates an Ignition template rendered for a host without parsing the rendered text again.
///
/// Tags in Ignition sit inside JSON strings and values are JSON-escaped, so for a template
/// without sections every host's document has the same structure: only the strings holding
/// tags differ. The plan parses the template once, rendered with a marker per value. Structure,
/// types, keys and version are then known to pass; what can differ per host is only what the
/// validator reads from strings with values. So the plan keeps, flat, just that: each such
/// string as text and values, the objects whose meaning checks read one (with only the members
/// those checks read), and the uniqueness groups holding one. Per host it puts the host's
/// values into those strings and runs the validator's own checks on them; no tree is built. A
/// template whose verdict on its own differs from what these checks alone give has no plan.
///
/// There is no plan (the rendered text is parsed and validated as before) for a template with
/// sections, a tag outside a JSON string, inside a key or in the version, or `iso.portalPort`
/// (a number); and a host whose values hold NUL or a marker character is validated from its
/// text too.
final class IgnitionRenderPlan: Sendable {
    enum Part: Sendable { case text(String), value(Int) }
    /// A string the checks read: as written, or the host's (`strings[i]` in `validate`).
    enum Text: Sendable {
        case fixed(String), built(Int)

        var isBuilt: Bool { if case .built = self { true } else { false } }

        func resolved(in strings: [String]) -> String {
            switch self {
            case .fixed(let s): s
            case .built(let i): strings[i]
            }
        }
    }

    /// Marker number → the value that replaces it.
    private let references: [TemplateSlot]
    /// What the checks read, or the verdict when no string holds a value (the same for every host).
    private let checks: Checks
    /// Verdicts by the values they were reached with. A verdict is a function of the template
    /// (this plan), the file name and the values alone, so one found here is the one the checks
    /// would give again; no change to a host, ISO or config can make it stale. Bootgate checks a
    /// host's config when the host or its config is written, so a booting machine finds its
    /// verdict here and its request only renders.
    private let verdicts = BoundedCache<VerdictKey, KnownVerdict>(capacity: 16_384)

    private struct VerdictKey: Hashable, Sendable {
        var file: String
        var values: [String]
    }
    private struct KnownVerdict: Sendable {
        var diagnostics: [Diagnostic]
        var version: IgnitionSpec.Version?
    }

    private enum Checks: Sendable {
        case fixed(diagnostics: [Diagnostic], version: IgnitionSpec.Version?)
        case values(Values)
    }

    private struct Values: Sendable {
        var version: IgnitionSpec.Version
        var spec: IgnitionSpec
        /// The strings with values, as text and marker numbers.
        var built: [[Part]] = []
        /// Objects whose meaning checks read a string with a value, in the validator's order.
        var checked: [CheckedObject] = []
        /// Uniqueness groups with a string with a value.
        var unique: [IgnitionValidator.UniqueGroup<Text>] = []
    }

    struct CheckedObject: Sendable {
        var fields: FlatObject
        var pointer: String
        var meaning: IgnitionValidator.Meaning
    }

    private static let open: Unicode.Scalar = "\u{F8FE}", close: Unicode.Scalar = "\u{F8FF}"

    private init(references: [TemplateSlot], checks: Checks) {
        self.references = references
        self.checks = checks
    }

    /// Nil when the template is not of the shape described above.
    static func make(file: String, content: String) -> IgnitionRenderPlan? {
        let (tags, errors) = TemplateScanner.scan(content)
        guard errors.isEmpty, !tags.contains(where: { $0.kind == .sectionOpen || $0.kind == .invertedOpen }) else { return nil }
        let analysis = TemplateEngine.analyse(content)
        guard analysis.failures.isEmpty else { return nil }
        var names: [String] = []
        for use in analysis.uses where !names.contains(canonical(use.reference)) {
            names.append(canonical(use.reference))
        }
        guard !names.contains("iso.portalPort") else { return nil }
        let slots = names.compactMap(TemplateSlot.init(reference:))
        guard slots.count == names.count else { return nil }
        guard let rendered = try? TemplateEngine.render(file: file, content: content, context: markerContext(names), escaping: .jsonString),
              case .success(let root) = JanssonParser.parse(rendered) else { return nil }
        var above: Set<String> = []
        guard collect(root, pointer: "", above: &above) else { return nil }
        if above.isEmpty {
            let full = fullCheck(file: file, root)
            return IgnitionRenderPlan(references: slots, checks: .fixed(diagnostics: full.diagnostics, version: full.version))
        }
        guard let versionText = root["ignition"]?["version"]?.stringValue, split(versionText) == nil,
              let version = IgnitionSpec.Version(versionText), let spec = IgnitionSpec.forVersion(version) else { return nil }
        var values = Values(version: version, spec: spec)
        // One entry per distinct string: equal strings get equal values.
        var builtIndex: [String: Int] = [:]
        func text(_ s: String) -> Text {
            guard let parts = split(s) else { return .fixed(s) }
            if let i = builtIndex[s] { return .built(i) }
            builtIndex[s] = values.built.count
            values.built.append(parts)
            return .built(values.built.count - 1)
        }
        collectChecked(root, as: .object(""), pointer: "", spec: spec, above: above) { object, pointer, definition in
            let meaning = IgnitionValidator.Meaning(definition: definition)
            let fields = FlatObject(object, keeping: meaning.reads, text: text)
            // Checks that read no string with a value give every host the verdict they give the template.
            if fields.hasValues { values.checked.append(CheckedObject(fields: fields, pointer: pointer, meaning: meaning)) }
        }
        values.unique = IgnitionValidator.uniqueGroups(root).map { $0.map(text) }.filter { group in
            group.lists.contains { $0.values.contains { $0?.isBuilt == true } }
        }
        // Everything but these checks must pass for the template as it is: then only they can
        // differ from host to host.
        let full = fullCheck(file: file, root)
        let partial = check(values, file: file, strings: strings(values, with: slots.indices.map(marker)))
        guard full.diagnostics.map(\.located) == partial.diagnostics.map(\.located), full.version == partial.version else { return nil }
        return IgnitionRenderPlan(references: slots, checks: .values(values))
    }

    /// The validator's verdict for the host, or nil when its text must be validated instead.
    func validate(file: String, context: RenderContext) -> (diagnostics: [Diagnostic], version: IgnitionSpec.Version?)? {
        let values: Values
        switch checks {
        case .fixed(let diagnostics, let version): return (diagnostics, version)
        case .values(let v): values = v
        }
        var hostValues: [String] = []
        hostValues.reserveCapacity(references.count)
        for slot in references {
            let value = slot.value(in: context, nic: nil) ?? ""
            // The markers are EF A3 BE and EF A3 BF in UTF-8: only a value with NUL or EF can hold one.
            if value.utf8.contains(where: { $0 == 0 || $0 == 0xEF }),
               value.unicodeScalars.contains(where: { $0 == "\0" || $0 == Self.open || $0 == Self.close }) { return nil }
            hostValues.append(value)
        }
        let key = VerdictKey(file: file, values: hostValues)
        if let known = verdicts[key] { return (known.diagnostics, known.version) }
        let verdict = Self.check(values, file: file, strings: Self.strings(values, with: hostValues))
        verdicts.store(KnownVerdict(diagnostics: verdict.diagnostics, version: verdict.version), for: key)
        return verdict
    }

    /// The strings with values, put together from `values` (one per marker number).
    private static func strings(_ values: Values, with hostValues: [String]) -> [String] {
        values.built.map { parts in
            var text = ""
            for part in parts {
                switch part {
                case .text(let s): text += s
                case .value(let i): text += hostValues[i]
                }
            }
            return text
        }
    }

    private static func check(_ values: Values, file: String, strings: [String]) -> (diagnostics: [Diagnostic], version: IgnitionSpec.Version?) {
        var validator = IgnitionValidator(file: file, spec: values.spec)
        for object in values.checked {
            validator.checkSemantics(FlatFields(object: object.fields, strings: strings), meaning: object.meaning, at: object.pointer)
        }
        validator.checkUniqueness(values.unique) { $0.resolved(in: strings) }
        return (validator.diagnostics, validator.diagnostics.hasErrors ? nil : values.version)
    }

    private static func fullCheck(file: String, _ tree: JSONValue) -> (diagnostics: [Diagnostic], version: IgnitionSpec.Version?) {
        var validator = IgnitionValidator(file: file)
        let version = validator.check(root: tree)
        return (validator.diagnostics, version)
    }

    // MARK: - Building

    /// `server.bootconfigURL` is `server.url` plus a fixed suffix, so it needs no marker of its own.
    private static func canonical(_ reference: String) -> String {
        reference == "server.bootconfigURL" ? "server.url" : reference
    }

    private static func marker(_ i: Int) -> String { "\(open)\(i)\(close)" }

    private static func markerContext(_ references: [String]) -> RenderContext {
        func m(_ name: String) -> String { references.firstIndex(of: name).map(marker) ?? "" }
        var labels: [String: String] = [:], annotations: [String: String] = [:]
        for (i, r) in references.enumerated() {
            if r.hasPrefix("host.labels.") { labels[String(r.dropFirst("host.labels.".count))] = marker(i) }
            if r.hasPrefix("host.annotations.") { annotations[String(r.dropFirst("host.annotations.".count))] = marker(i) }
        }
        let host = RenderContext.Host(name: m("host.name"), namespace: m("host.namespace"), hostname: m("host.hostname"),
                                      mac: m("host.mac"), ip: m("host.ip"), labels: labels, annotations: annotations)
        let iso = RenderContext.ISO(name: m("iso.name"), targetIQN: m("iso.targetIQN"), portal: m("iso.portal"), portalPort: 0)
        return RenderContext(host: host, iso: iso, server: .init(url: m("server.url")))
    }

    /// Finds the strings with markers, noting the pointer of every container above one; false
    /// when a key holds one.
    private static func collect(_ value: JSONValue, pointer: String, above: inout Set<String>) -> Bool {
        switch value {
        case .string(let s):
            if split(s) != nil {
                // Every prefix of the pointer is a container above the string.
                var prefix = pointer[...]
                while !prefix.isEmpty {
                    above.insert(String(prefix))
                    prefix = prefix[..<(prefix.lastIndex(of: "/") ?? prefix.startIndex)]
                }
                above.insert("")
            }
            return true
        case .array(let items):
            for (i, item) in items.enumerated() where !collect(item, pointer: JSONPointer.appending(pointer, i), above: &above) { return false }
            return true
        case .object(let members):
            for (key, member) in members {
                if split(key) != nil { return false }
                if !collect(member, pointer: JSONPointer.appending(pointer, key), above: &above) { return false }
            }
            return true
        default:
            return true
        }
    }

    /// The string cut at its markers, or nil when it has none.
    private static func split(_ s: String) -> [Part]? {
        guard s.unicodeScalars.contains(open) else { return nil }
        var parts: [Part] = []
        var text = String.UnicodeScalarView(), number = "", inMarker = false
        for scalar in s.unicodeScalars {
            switch scalar {
            case open:
                if !text.isEmpty { parts.append(.text(String(text))) }
                text = .init()
                number = ""
                inMarker = true
            case close where inMarker:
                guard let i = Int(number) else { return nil }
                parts.append(.value(i))
                inMarker = false
            default:
                if inMarker { number.unicodeScalars.append(scalar) } else { text.append(scalar) }
            }
        }
        if !text.isEmpty { parts.append(.text(String(text))) }
        return parts
    }

    /// The objects above a string with a value, in the order the validator checks them (each
    /// after its members), with their pointers and definitions.
    private static func collectChecked(_ value: JSONValue, as type: IgnitionSpec.FieldType, pointer: String, spec: IgnitionSpec,
                                       above: Set<String>, _ found: (JSONValue, String, String) -> Void) {
        switch (type, value) {
        case (.nullable(let inner), _) where value != .null:
            collectChecked(value, as: inner, pointer: pointer, spec: spec, above: above, found)
        case (.array(let item), .array(let items)):
            for (i, element) in items.enumerated() {
                let child = JSONPointer.appending(pointer, i)
                if above.contains(child) { collectChecked(element, as: item, pointer: child, spec: spec, above: above, found) }
            }
        case (.object(let name), .object(let members)):
            guard let definition = spec.definitions[name] else { return }
            for (key, member) in members {
                let child = JSONPointer.appending(pointer, key)
                if above.contains(child), let memberType = definition.type(of: key) {
                    collectChecked(member, as: memberType, pointer: child, spec: spec, above: above, found)
                }
            }
            found(value, pointer, name)
        default:
            break
        }
    }
}

/// An object as the meaning checks read it (`IgnitionFields`): its string, integer and boolean
/// members, and its arrays' strings and their objects' strings. Nothing deeper is read.
struct FlatObject: Sendable {
    typealias Text = IgnitionRenderPlan.Text
    enum Member: Sendable { case string(Text), int(Int64), bool(Bool), items([Item]), other }
    enum Item: Sendable { case string(Text), object([Field]), other }
    struct Field: Sendable {
        var key: String
        var value: Text
    }
    struct Entry: Sendable {
        var key: String
        var value: Member
    }

    let members: [Entry]

    /// The members named in `keys`; strings become texts only there, so strings no check reads
    /// are never put together per host.
    init(_ object: JSONValue, keeping keys: [String], text: (String) -> Text) {
        guard case .object(let members) = object else {
            self.members = []
            return
        }
        self.members = members.filter { keys.contains($0.key) }.map { key, value in
            switch value {
            case .string(let s): return Entry(key: key, value: .string(text(s)))
            case .int(let i): return Entry(key: key, value: .int(i))
            case .bool(let b): return Entry(key: key, value: .bool(b))
            case .array(let items):
                return Entry(key: key, value: .items(items.map { item in
                    switch item {
                    case .string(let s): return .string(text(s))
                    case .object(let fields):
                        return .object(fields.compactMap { k, v in v.stringValue.map { Field(key: k, value: text($0)) } })
                    default: return .other
                    }
                }))
            default: return Entry(key: key, value: .other)
            }
        }
    }

    func member(_ key: String) -> Member? { members.first { $0.key == key }?.value }

    /// Whether a member holds a string with a value.
    var hasValues: Bool {
        members.contains { entry in
            switch entry.value {
            case .string(let t): t.isBuilt
            case .items(let items):
                items.contains { item in
                    switch item {
                    case .string(let t): t.isBuilt
                    case .object(let fields): fields.contains { $0.value.isBuilt }
                    case .other: false
                    }
                }
            case .int, .bool, .other: false
            }
        }
    }
}

/// A flat object with one host's strings.
struct FlatFields: IgnitionFields {
    let object: FlatObject
    let strings: [String]

    private func resolve(_ text: FlatObject.Text) -> String { text.resolved(in: strings) }

    func string(_ key: String) -> String? { if case .string(let t)? = object.member(key) { resolve(t) } else { nil } }
    func int(_ key: String) -> Int64? { if case .int(let i)? = object.member(key) { i } else { nil } }
    func bool(_ key: String) -> Bool? { if case .bool(let b)? = object.member(key) { b } else { nil } }
    func strings(_ key: String, field: String?) -> [String?]? {
        guard case .items(let items)? = object.member(key) else { return nil }
        return items.map { item in
            switch (item, field) {
            case (.string(let t), nil): resolve(t)
            case (.object(let fields), let field?): fields.first { $0.key == field }.map { resolve($0.value) }
            default: nil
            }
        }
    }
}

/// Plans by template content, so each config is planned once, not once per machine.
final class IgnitionRenderPlans: Sendable {
    static let shared = IgnitionRenderPlans(capacity: 1024)

    /// `nil` entries remember templates that have no plan.
    private let cache: ContentCache<IgnitionRenderPlan?>

    init(capacity: Int) { cache = ContentCache(capacity: capacity) }

    func plan(file: String, content: String) -> IgnitionRenderPlan? {
        cache.value(for: content) { IgnitionRenderPlan.make(file: file, content: content) }
    }
}
