import Synchronization

/// Validates an Ignition template rendered for a host without parsing the rendered text again.
///
/// Tags in Ignition sit inside JSON strings and values are JSON-escaped, so for a template
/// without sections every host's document has the same structure: only the strings holding
/// tags differ. The plan parses the template once, rendered with a marker per value, and per
/// host puts the host's values into those strings, giving exactly the tree parsing the host's
/// rendered text would give. Structure, types and keys are then known to pass; what can differ
/// per host is only what the validator reads from string values, so only those checks run: the
/// meaning checks of every object that holds (or is above) a string with a value, uniqueness,
/// and the version. A template whose structure does not pass on its own has no plan.
///
/// There is no plan (the rendered text is parsed and validated as before) for a template with
/// sections, a tag outside a JSON string or inside a key, or `iso.portalPort` (a number); and a
/// host whose values hold NUL or a marker character is validated from its text too.
struct IgnitionRenderPlan: Sendable {
    /// Where a string with tags sits in the document.
    enum Step: Sendable { case key(String), index(Int) }
    enum Part: Sendable { case text(String), value(Int) }
    struct Slot: Sendable {
        var path: [Step]
        var parts: [Part]
    }

    /// The document with markers in place of values.
    let root: JSONValue
    let slots: [Slot]
    /// Marker number → the template reference whose value replaces it.
    let references: [String]
    /// The verdict when no string holds a value: the same for every host.
    private var fixed: (diagnostics: [Diagnostic], version: IgnitionSpec.Version?)?
    /// Objects whose meaning checks read a string with a value, in the validator's order.
    private var checked: [CheckedObject] = []

    struct CheckedObject: Sendable {
        var path: [Step]
        var pointer: String
        var definition: String
    }

    private static let open: Unicode.Scalar = "\u{F8FE}", close: Unicode.Scalar = "\u{F8FF}"

    /// Nil when the template is not of the shape described above.
    static func make(file: String, content: String) -> IgnitionRenderPlan? {
        let (tags, errors) = TemplateScanner.scan(content)
        guard errors.isEmpty, !tags.contains(where: { $0.kind == .sectionOpen || $0.kind == .invertedOpen }) else { return nil }
        let analysis = TemplateEngine.analyse(content)
        guard analysis.failures.isEmpty else { return nil }
        var references: [String] = []
        for use in analysis.uses where !references.contains(canonical(use.reference)) {
            references.append(canonical(use.reference))
        }
        guard !references.contains("iso.portalPort") else { return nil }
        let context = markerContext(references)
        guard let text = try? TemplateEngine.render(file: file, content: content, context: context, escaping: .jsonString),
              case .success(let root) = JanssonParser.parse(text) else { return nil }
        var slots: [Slot] = []
        guard collect(root, path: [], into: &slots) else { return nil }
        var plan = IgnitionRenderPlan(root: root, slots: slots, references: references)
        if slots.isEmpty {
            plan.fixed = plan.fullCheck(file: file, root)
            return plan
        }
        guard let version = root["ignition"]?["version"]?.stringValue.flatMap({ IgnitionSpec.Version($0) }),
              let spec = IgnitionSpec.forVersion(version) else { return nil }
        var above: Set<String> = [""]
        for slot in slots {
            var pointer = ""
            for step in slot.path {
                pointer = append(pointer, step)
                above.insert(pointer)
            }
        }
        collectChecked(root, as: .object(""), path: [], pointer: "", spec: spec, above: above, into: &plan.checked)
        // Everything but these checks must pass for the template as it is: then only they can
        // differ from host to host.
        let full = plan.fullCheck(file: file, root), partial = plan.valueCheck(file: file, root)
        guard full.diagnostics.map(\.located) == partial.diagnostics.map(\.located), full.version == partial.version else { return nil }
        return plan
    }

    /// The validator's verdict for the host, or nil when its text must be validated instead.
    func validate(file: String, context: RenderContext) -> (diagnostics: [Diagnostic], version: IgnitionSpec.Version?)? {
        if let fixed { return fixed }
        var values: [String] = []
        values.reserveCapacity(references.count)
        for reference in references {
            let value = TemplateEngine.values(of: reference, in: context).first ?? ""
            if value.unicodeScalars.contains(where: { $0 == "\0" || $0 == Self.open || $0 == Self.close }) { return nil }
            values.append(value)
        }
        var tree = root
        for slot in slots {
            var text = ""
            for part in slot.parts {
                switch part {
                case .text(let s): text += s
                case .value(let i): text += values[i]
                }
            }
            Self.replace(&tree, at: slot.path[...], with: .string(text))
        }
        return valueCheck(file: file, tree)
    }

    private func fullCheck(file: String, _ tree: JSONValue) -> (diagnostics: [Diagnostic], version: IgnitionSpec.Version?) {
        var validator = IgnitionValidator(file: file)
        let version = validator.check(root: tree)
        return (validator.diagnostics, version)
    }

    private func valueCheck(file: String, _ tree: JSONValue) -> (diagnostics: [Diagnostic], version: IgnitionSpec.Version?) {
        var validator = IgnitionValidator(file: file)
        let objects = checked.map { (value: Self.value(in: tree, at: $0.path[...]) ?? .null, definition: $0.definition, pointer: $0.pointer) }
        let version = validator.checkValues(root: tree, objects: objects)
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

    /// Finds the strings with markers; false when a key holds one.
    private static func collect(_ value: JSONValue, path: [Step], into slots: inout [Slot]) -> Bool {
        switch value {
        case .string(let s):
            if let parts = split(s) { slots.append(Slot(path: path, parts: parts)) }
            return true
        case .array(let items):
            for (i, item) in items.enumerated() where !collect(item, path: path + [.index(i)], into: &slots) { return false }
            return true
        case .object(let members):
            for (key, member) in members {
                if split(key) != nil { return false }
                if !collect(member, path: path + [.key(key)], into: &slots) { return false }
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

    private static func append(_ pointer: String, _ step: Step) -> String {
        switch step {
        case .key(let k): return JSONPointer.appending(pointer, k)
        case .index(let i): return JSONPointer.appending(pointer, i)
        }
    }

    /// The objects above a string with a value, in the order the validator checks them (each
    /// after its members), with their definitions.
    private static func collectChecked(_ value: JSONValue, as type: IgnitionSpec.FieldType, path: [Step], pointer: String,
                                       spec: IgnitionSpec, above: Set<String>, into out: inout [CheckedObject]) {
        switch (type, value) {
        case (.nullable(let inner), _) where value != .null:
            collectChecked(value, as: inner, path: path, pointer: pointer, spec: spec, above: above, into: &out)
        case (.array(let item), .array(let items)):
            for (i, element) in items.enumerated() {
                let child = JSONPointer.appending(pointer, i)
                if above.contains(child) { collectChecked(element, as: item, path: path + [.index(i)], pointer: child, spec: spec, above: above, into: &out) }
            }
        case (.object(let name), .object(let members)):
            guard let definition = spec.definitions[name] else { return }
            for (key, member) in members {
                let child = JSONPointer.appending(pointer, key)
                if above.contains(child), let memberType = definition.type(of: key) {
                    collectChecked(member, as: memberType, path: path + [.key(key)], pointer: child, spec: spec, above: above, into: &out)
                }
            }
            out.append(CheckedObject(path: path, pointer: pointer, definition: name))
        default:
            break
        }
    }

    private static func value(in tree: JSONValue, at path: ArraySlice<Step>) -> JSONValue? {
        guard let step = path.first else { return tree }
        switch (step, tree) {
        case (.key(let k), .object(let members)): return members[k].flatMap { value(in: $0, at: path.dropFirst()) }
        case (.index(let i), .array(let items)) where items.indices.contains(i): return value(in: items[i], at: path.dropFirst())
        default: return nil
        }
    }

    // MARK: - Filling in

    /// Puts `new` at `path`, editing containers in place: each one the tree shares with the
    /// plan's root is copied once, the first time a path passes through it.
    private static func replace(_ value: inout JSONValue, at path: ArraySlice<Step>, with new: JSONValue) {
        guard let step = path.first else {
            value = new
            return
        }
        switch step {
        case .key(let k):
            guard case .object(var members) = value else { return }
            value = .null // the only other reference, so `members` is edited in place
            members.modify(k) { replace(&$0, at: path.dropFirst(), with: new) }
            value = .object(members)
        case .index(let i):
            guard case .array(var items) = value, items.indices.contains(i) else { return }
            value = .null
            replace(&items[i], at: path.dropFirst(), with: new)
            value = .array(items)
        }
    }
}

/// Plans by template content, so each config is planned once, not once per machine.
final class IgnitionRenderPlans: Sendable {
    static let shared = IgnitionRenderPlans(capacity: 1024)

    /// `nil` entries remember templates that have no plan.
    private let cache = Mutex<[ContentKey: IgnitionRenderPlan?]>([:])
    private let capacity: Int

    init(capacity: Int) { self.capacity = capacity }

    func plan(file: String, content: String) -> IgnitionRenderPlan? {
        let key = ContentKey(content)
        if let hit = cache.withLock({ $0[key] }) { return hit }
        let plan = IgnitionRenderPlan.make(file: file, content: content)
        cache.withLock { c in
            if c.count >= capacity, c[key] == nil { c.remove(at: c.startIndex) } // as PreparedTemplates
            c[key] = .some(plan)
        }
        return plan
    }
}
