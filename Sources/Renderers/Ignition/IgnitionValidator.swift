/// Validates an Ignition config (spec 3.0.0 … 3.6.0) the way Ignition itself would refuse it,
/// and more strictly where the spec leaves room for silent mistakes: unknown keys are errors,
/// not warnings, since a misspelt key is a config that does not do what it says.
struct IgnitionValidator {
    typealias FieldType = IgnitionSpec.FieldType

    let file: String
    private(set) var diagnostics: [Diagnostic] = []
    private var spec: IgnitionSpec?

    init(file: String) { self.file = file }

    /// Diagnostics for the text, and the spec version it declares when that version is valid.
    static func validate(file: String, text: String) -> (diagnostics: [Diagnostic], version: IgnitionSpec.Version?) {
        validate(file: file, bytes: Array(text.utf8))
    }

    static func validate(file: String, bytes: [UInt8]) -> (diagnostics: [Diagnostic], version: IgnitionSpec.Version?) {
        var validator = IgnitionValidator(file: file)
        switch JanssonParser.parse(bytes: bytes) {
        case .failure(let failure):
            let pointer = JSONPathLocator.pointer(in: bytes, before: failure.position)
            let what = failure.isDuplicateKey ? "duplicate key \"\(pointer.split(separator: "/").last.map(String.init) ?? "")\""
                : failure.isInvalidUTF8 ? "invalid UTF-8 (\(failure.message))" : failure.message
            validator.diagnostics.append(Diagnostic(file: file, line: failure.line, pointer: pointer,
                                                    message: "invalid JSON at line \(failure.line), column \(failure.column): \(what)"))
            return (validator.diagnostics, nil)
        case .success(let root):
            let version = validator.check(root: root)
            return (validator.diagnostics, version)
        }
    }

    /// The declared version without validating the rest (for Accept negotiation).
    static func declaredVersion(text: String) -> IgnitionSpec.Version? {
        guard case .success(let root) = JanssonParser.parse(text), let version = root["ignition"]?["version"]?.stringValue else { return nil }
        return IgnitionSpec.Version(version)
    }

    private mutating func error(_ pointer: String, _ message: String) {
        diagnostics.append(Diagnostic(file: file, pointer: pointer, message: message))
    }

    // MARK: - Version

    mutating func check(root: JSONValue) -> IgnitionSpec.Version? {
        guard let version = useDeclaredVersion(of: root) else { return nil }
        check(root, as: .object(""), at: "")
        checkUniqueness(Self.uniqueGroups(root), resolve: { $0 })
        return diagnostics.hasErrors ? nil : version
    }

    /// For the checks of a document whose version is known (`IgnitionRenderPlan` calls
    /// `checkSemantics` and `checkUniqueness` alone).
    init(file: String, spec: IgnitionSpec) {
        self.file = file
        self.spec = spec
    }

    /// The declared spec version, which the rest of the checks then follow.
    private mutating func useDeclaredVersion(of root: JSONValue) -> IgnitionSpec.Version? {
        guard case .object = root else {
            error("", "an Ignition config is a JSON object, found \(root.typeName)")
            return nil
        }
        guard let ignition = root["ignition"] else {
            error("", "missing required key \"ignition\" (with \"version\")")
            return nil
        }
        guard case .object = ignition else {
            error("/ignition", "expected object, found \(ignition.typeName)")
            return nil
        }
        guard let versionValue = ignition["version"] else {
            error("/ignition", "missing required key \"version\"")
            return nil
        }
        guard let text = versionValue.stringValue else {
            error("/ignition/version", "expected string, found \(versionValue.typeName)")
            return nil
        }
        guard let version = IgnitionSpec.Version(text), let spec = IgnitionSpec.forVersion(version) else {
            let supported = IgnitionSpec.supportedVersions.map(\.description).joined(separator: ", ")
            if text.contains("-experimental") {
                error("/ignition/version", "experimental spec version \"\(text)\" is not accepted; use a released version (\(supported))")
            } else {
                error("/ignition/version", "unsupported spec version \"\(text)\"; supported: \(supported)")
            }
            return nil
        }
        self.spec = spec
        return version
    }

    // MARK: - Structure

    private mutating func check(_ value: JSONValue, as type: FieldType, at pointer: String) {
        switch type {
        case .nullable(let inner):
            if value != .null { check(value, as: inner, at: pointer) }
        case .string:
            if case .string = value { return }
            mismatch(value, "string", pointer)
        case .integer:
            if case .int = value { return }
            mismatch(value, "integer", pointer)
        case .boolean:
            if case .bool = value { return }
            mismatch(value, "boolean", pointer)
        case .array(let item):
            guard case .array(let items) = value else { return mismatch(value, "array", pointer) }
            for (index, element) in items.enumerated() {
                check(element, as: item, at: JSONPointer.appending(pointer, index))
            }
        case .object(let name):
            guard case .object(let members) = value else { return mismatch(value, "object", pointer) }
            checkObject(members, definition: name, at: pointer)
        }
    }

    private mutating func mismatch(_ value: JSONValue, _ expected: String, _ pointer: String) {
        var message = "expected \(expected), found \(value.typeName)"
        if pointer.hasSuffix("/mode") {
            message += " (file modes are decimal integers, e.g. 420 for 0644)"
        }
        error(pointer, message)
    }

    private mutating func checkObject(_ members: JSONObject, definition name: String, at pointer: String) {
        guard let spec, let definition = spec.definitions[name] else { return }
        for (key, value) in members {
            let child = JSONPointer.appending(pointer, key)
            guard let type = definition.type(of: key) else {
                error(child, "unknown key \"\(key)\"" + laterVersionHint(key: key, definition: name))
                continue
            }
            check(value, as: type, at: child)
        }
        for key in definition.required where members[key] == nil {
            error(pointer, "missing required key \"\(key)\"")
        }
        checkSemantics(JSONFields(.object(members)), meaning: Meaning(definition: name), at: pointer)
    }

    /// ` (needs spec 3.5.0 or later)` when a later version knows the key.
    private func laterVersionHint(key: String, definition: String) -> String {
        guard let spec else { return "" }
        let later = IgnitionSpec.all.first { $0.version > spec.version && $0.definitions[definition]?.type(of: key) != nil }
        return later.map { " in spec \(spec.version) (needs spec \($0.version) or later)" } ?? " in spec \(spec.version)"
    }

    // MARK: - Meaning

    private static let resourceDefinitions: Set<String> = ["resource", "storage/file-contents", "ignition/config-reference", "ignition/ca-reference"]
    /// systemd unit types (systemd.unit(5)); Ignition refuses other suffixes.
    static let unitSuffixes: Set<String> = ["service", "socket", "device", "mount", "automount", "swap", "target", "path", "timer", "snapshot", "slice", "scope"]

    /// Which meaning checks an object's definition gets, decided once per definition name.
    struct Meaning: Sendable {
        enum Kind: Sendable { case verification, node, link, filesystem, device, raid, unit, dropin, none }
        var isResource: Bool
        var kind: Kind

        /// The members `checkSemantics` reads for this meaning: a render plan keeps only these.
        var reads: [String] {
            var keys = isResource ? ["source", "compression", "httpHeaders"] : []
            switch kind {
            case .verification: keys.append("hash")
            case .node: keys += ["path", "mode"]
            case .link: keys += ["path", "mode", "hard", "target"]
            case .filesystem: keys += ["path", "device"]
            case .device: keys.append("device")
            case .raid: keys.append("devices")
            case .unit, .dropin: keys.append("name")
            case .none: break
            }
            return keys
        }

        init(definition: String) {
            isResource = IgnitionValidator.resourceDefinitions.contains(definition)
            switch definition {
            case "verification": kind = .verification
            case "storage/file", "storage/directory", "storage/node": kind = .node
            case "storage/link": kind = .link
            case "storage/filesystem": kind = .filesystem
            case "storage/disk", "storage/luks": kind = .device
            case "storage/raid": kind = .raid
            case "systemd/unit": kind = .unit
            case "systemd/dropin": kind = .dropin
            default: kind = .none
            }
        }
    }

    /// The checks that read values rather than structure. Pointers are spelled out only for the
    /// problems found.
    mutating func checkSemantics(_ object: some IgnitionFields, meaning: Meaning, at pointer: String) {
        if meaning.isResource { checkResource(object, at: pointer) }
        switch meaning.kind {
        case .verification:
            if let hash = object.string("hash") { checkHash(hash, at: JSONPointer.appending(pointer, "hash")) }
        case .node, .link:
            if let path = object.string("path") { requireAbsolute(path, at: JSONPointer.appending(pointer, "path")) }
            if let mode = object.int("mode"), !(0...0o7777).contains(mode) {
                error(JSONPointer.appending(pointer, "mode"), "mode \(mode) is out of range: 0 to 4095 (0o7777)")
            }
            if meaning.kind == .link, object.bool("hard") == true, let target = object.string("target") {
                requireAbsolute(target, at: JSONPointer.appending(pointer, "target"), what: "hard link target")
            }
        case .filesystem:
            if let path = object.string("path") { requireAbsolute(path, at: JSONPointer.appending(pointer, "path")) }
            if let device = object.string("device") { requireAbsolute(device, at: JSONPointer.appending(pointer, "device"), what: "device") }
        case .device:
            if let device = object.string("device") { requireAbsolute(device, at: JSONPointer.appending(pointer, "device"), what: "device") }
        case .raid:
            for (index, device) in (object.strings("devices", field: nil) ?? []).enumerated() {
                if let device {
                    requireAbsolute(device, at: JSONPointer.appending(JSONPointer.appending(pointer, "devices"), index), what: "device")
                }
            }
        case .unit:
            if let name = object.string("name") { checkUnitName(name, at: JSONPointer.appending(pointer, "name")) }
        case .dropin:
            if let name = object.string("name"), !name.hasSuffix(".conf") || name.count <= 5 || name.contains("/") {
                error(JSONPointer.appending(pointer, "name"), "dropin name \"\(name)\" must be a file name ending in .conf")
            }
        case .none:
            break
        }
    }

    private mutating func requireAbsolute(_ path: String, at pointer: @autoclosure () -> String, what: String = "path") {
        if !path.hasPrefix("/") {
            error(pointer(), "\(what) \"\(path)\" is not absolute")
        }
    }

    private mutating func checkUnitName(_ name: String, at pointer: @autoclosure () -> String) {
        guard !name.utf8.contains(UInt8(ascii: "/")), let dot = name.utf8.lastIndex(of: UInt8(ascii: ".")), dot != name.startIndex else {
            return error(pointer(), "unit name \"\(name)\" has no unit type suffix (.service, .socket, .target, .timer, .mount, .path, …)")
        }
        let suffix = String(name[name.utf8.index(after: dot)...])
        if !Self.unitSuffixes.contains(suffix) {
            error(pointer(), "unit name \"\(name)\" has an unknown type suffix \".\(suffix)\"; expected one of " + Self.unitSuffixes.sorted().map { "." + $0 }.joined(separator: ", "))
        }
    }

    private mutating func checkHash(_ hash: String, at pointer: @autoclosure () -> String) {
        guard let spec else { return }
        let functions = spec.hashFunctions
        let parts = hash.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
        let allowed = functions.keys.sorted().map { "\($0)-<hex>" }.joined(separator: " or ")
        guard parts.count == 2, let length = functions[String(parts[0])] else {
            return error(pointer(), "hash \"\(hash)\" must be \(allowed) in spec \(spec.version)")
        }
        let digest = parts[1]
        guard digest.count == length, digest.utf8.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }) else {
            return error(pointer(), "\(parts[0]) hash must be \(length) lower-case hex digits, found \"\(digest)\"")
        }
    }

    private mutating func checkResource(_ object: some IgnitionFields, at pointer: String) {
        guard let spec else { return }
        var scheme: String?
        if let source = object.string("source") {
            scheme = checkSource(source, at: JSONPointer.appending(pointer, "source"), spec: spec)
        }
        if let compression = object.string("compression"), !compression.isEmpty, compression != "gzip" {
            error(JSONPointer.appending(pointer, "compression"), "compression must be \"gzip\" or null, found \"\(compression)\"")
        }
        if let headers = object.strings("httpHeaders", field: "name"), !headers.isEmpty {
            let headersPointer = JSONPointer.appending(pointer, "httpHeaders")
            if let scheme, scheme != "http", scheme != "https" {
                error(headersPointer, "httpHeaders are only allowed with http and https sources, not \(scheme)")
            }
            var seen: Set<String> = []
            for (index, name) in headers.enumerated() {
                guard let name else { continue }
                let namePointer = JSONPointer.appending(JSONPointer.appending(headersPointer, index), "name")
                if name.isEmpty { error(namePointer, "header name is empty") }
                if !seen.insert(name.lowercased()).inserted { error(namePointer, "duplicate header \"\(name)\"") }
            }
        }
    }

    /// Checks a source URL; returns its scheme when it has one.
    private mutating func checkSource(_ source: String, at pointer: @autoclosure () -> String, spec: IgnitionSpec) -> String? {
        // Bytes, not Characters: every source of every served config passes here.
        let bytes = source.utf8
        guard let colon = bytes.firstIndex(of: UInt8(ascii: ":")), colon != bytes.startIndex else {
            error(pointer(), source.isEmpty ? "source URL is empty" : "source \"\(source)\" is not a URL (no scheme)")
            return nil
        }
        let rawScheme = bytes[..<colon]
        func isLetter(_ b: UInt8) -> Bool { (0x41...0x5A).contains(b) || (0x61...0x7A).contains(b) }
        guard let first = rawScheme.first, isLetter(first),
              rawScheme.allSatisfy({ isLetter($0) || (0x30...0x39).contains($0) || $0 == UInt8(ascii: "+") || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: ".") })
        else {
            error(pointer(), "source \"\(source)\" is not a URL (bad scheme)")
            return nil
        }
        let scheme = String(decoding: rawScheme.map { isLetter($0) ? $0 | 0x20 : $0 }, as: UTF8.self)
        guard spec.sourceSchemes.contains(scheme) else {
            let later = IgnitionSpec.all.first { $0.sourceSchemes.contains(scheme) }
            let hint = later.map { " (needs spec \($0.version) or later)" } ?? ""
            error(pointer(), "unsupported source scheme \"\(scheme)\" in spec \(spec.version)\(hint); allowed: \(spec.sourceSchemes.sorted().joined(separator: ", "))")
            return scheme
        }
        let rest = source[bytes.index(after: colon)...]
        if bytes.contains(where: { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\n") || $0 == UInt8(ascii: "\t") }) {
            error(pointer(), "source URL contains whitespace; percent-encode it")
        }
        switch scheme {
        case "http", "https", "tftp", "s3", "gs":
            let afterSlashes = rest.hasPrefix("//") ? rest.dropFirst(2) : nil
            let host = afterSlashes?.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
            if host?.isEmpty ?? true {
                error(pointer(), "\(scheme) source \"\(source)\" has no host (\(scheme)://host/…)")
            }
        case "data":
            checkDataURL(rest, at: pointer())
        default:
            break
        }
        return scheme
    }

    /// RFC 2397: `data:[<mediatype>][;base64],<data>`.
    private mutating func checkDataURL(_ rest: Substring, at pointer: @autoclosure () -> String) {
        guard let comma = rest.firstIndex(of: ",") else {
            return error(pointer(), "data URL has no ',' before its data")
        }
        let header = rest[..<comma]
        let payload = rest[rest.index(after: comma)...]
        if header.split(separator: ";").last == "base64" {
            let stripped = payload.utf8.filter { $0 != UInt8(ascii: "=") }
            let alphabet = stripped.allSatisfy { ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2B || $0 == 0x2F }
            let padding = payload.utf8.count - stripped.count
            let paddingAtEnd = payload.drop { $0 != "=" }.allSatisfy { $0 == "=" }
            if !alphabet || payload.utf8.count % 4 != 0 || padding > 2 || !paddingAtEnd {
                error(pointer(), "data URL is marked base64 but its data is not valid base64")
            }
        } else {
            var bytes = payload.utf8.makeIterator()
            while let byte = bytes.next() {
                guard byte == UInt8(ascii: "%") else { continue }
                guard let a = bytes.next(), let b = bytes.next(), isHex(a), isHex(b) else {
                    return error(pointer(), "data URL has a '%' not followed by two hex digits")
                }
            }
        }
    }

    private func isHex(_ byte: UInt8) -> Bool {
        (0x30...0x39).contains(byte) || (0x41...0x46).contains(byte) || (0x61...0x66).contains(byte)
    }

    // MARK: - Uniqueness

    /// Entries that must differ in one member: Ignition refuses two entries for the same path,
    /// unit, user, … (they would race). Paths are one group over files, directories and links.
    struct UniqueGroup<Value> {
        struct List {
            /// The list's pointer, e.g. `/systemd/units`.
            var base: String
            /// Each entry's member, nil where it has none.
            var values: [Value?]
        }
        var what: String
        var key: String
        var lists: [List]

        func map<Other>(_ transform: (Value) -> Other) -> UniqueGroup<Other> {
            UniqueGroup<Other>(what: what, key: key, lists: lists.map { .init(base: $0.base, values: $0.values.map { $0.map(transform) }) })
        }
    }

    /// The groups of a document, with the members' strings.
    static func uniqueGroups(_ root: JSONValue) -> [UniqueGroup<String>] {
        func list(_ base: String, _ items: JSONValue?, _ key: String) -> UniqueGroup<String>.List {
            .init(base: base, values: (items?.arrayValue ?? []).map { $0[key]?.stringValue })
        }
        func group(_ what: String, _ key: String, _ base: String, _ items: JSONValue?) -> UniqueGroup<String> {
            UniqueGroup(what: what, key: key, lists: [list(base, items, key)])
        }
        let storage = root["storage"], units = root["systemd"]?["units"]
        var groups = [UniqueGroup(what: "path", key: "path", lists: ["files", "directories", "links"].map { list("/storage/\($0)", storage?[$0], "path") })]
        groups.append(group("unit", "name", "/systemd/units", units))
        for (index, unit) in (units?.arrayValue ?? []).enumerated() {
            groups.append(group("dropin", "name", "/systemd/units/\(index)/dropins", unit["dropins"]))
        }
        groups.append(group("user", "name", "/passwd/users", root["passwd"]?["users"]))
        groups.append(group("group", "name", "/passwd/groups", root["passwd"]?["groups"]))
        groups.append(group("disk", "device", "/storage/disks", storage?["disks"]))
        groups.append(group("raid array", "name", "/storage/raid", storage?["raid"]))
        groups.append(group("LUKS volume", "name", "/storage/luks", storage?["luks"]))
        groups.append(group("filesystem device", "device", "/storage/filesystems", storage?["filesystems"]))
        return groups
    }

    mutating func checkUniqueness<Value>(_ groups: [UniqueGroup<Value>], resolve: (Value) -> String) {
        for group in groups {
            // Pointers are spelled out only for the duplicates found.
            var seen: [String: (base: String, index: Int)] = [:]
            for list in group.lists {
                for (index, value) in list.values.enumerated() {
                    guard let value = value.map(resolve) else { continue }
                    if let first = seen[value] {
                        error("\(list.base)/\(index)/\(group.key)", "duplicate \(group.what) \"\(value)\" (also at \(first.base)/\(first.index)/\(group.key))")
                    } else {
                        seen[value] = (list.base, index)
                    }
                }
            }
        }
    }
}

/// What the meaning checks read of an object: its string, integer and boolean members and the
/// strings in its arrays. The validator reads a parsed document through it, a render plan its
/// flat per-host view (`IgnitionRenderPlan`).
protocol IgnitionFields {
    func string(_ key: String) -> String?
    func int(_ key: String) -> Int64?
    func bool(_ key: String) -> Bool?
    /// An array member's items: each item's string (`field` nil) or its member `field`'s string,
    /// nil where there is none; nil when the member is not an array.
    func strings(_ key: String, field: String?) -> [String?]?
}

/// A parsed object, for the validator.
struct JSONFields: IgnitionFields {
    let value: JSONValue
    init(_ value: JSONValue) { self.value = value }

    func string(_ key: String) -> String? { value[key]?.stringValue }
    func int(_ key: String) -> Int64? { if case .int(let i)? = value[key] { i } else { nil } }
    func bool(_ key: String) -> Bool? { if case .bool(let b)? = value[key] { b } else { nil } }
    func strings(_ key: String, field: String?) -> [String?]? {
        value[key]?.arrayValue?.map { item in field.map { item[$0]?.stringValue } ?? item.stringValue }
    }
}

extension IgnitionValidator.UniqueGroup: Sendable where Value: Sendable {}
extension IgnitionValidator.UniqueGroup.List: Sendable where Value: Sendable {}
