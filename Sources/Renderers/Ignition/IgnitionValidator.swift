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
        checkUniqueness(root)
        return diagnostics.hasErrors ? nil : version
    }

    /// Only the checks that read string values (`checkSemantics` of the given objects, each with
    /// its definition, in document order; uniqueness; the version), for a document whose
    /// structure and types are known to pass: see `IgnitionRenderPlan`.
    mutating func checkValues(root: JSONValue, objects: [(value: JSONValue, definition: String, pointer: String)]) -> IgnitionSpec.Version? {
        guard let version = useDeclaredVersion(of: root) else { return nil }
        for object in objects { checkSemantics(object.value, definition: object.definition, at: object.pointer) }
        checkUniqueness(root)
        return diagnostics.hasErrors ? nil : version
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
        checkSemantics(.object(members), definition: name, at: pointer)
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

    private mutating func checkSemantics(_ object: JSONValue, definition: String, at pointer: String) {
        if Self.resourceDefinitions.contains(definition) { checkResource(object, at: pointer) }
        switch definition {
        case "verification":
            if let hash = object["hash"]?.stringValue { checkHash(hash, at: JSONPointer.appending(pointer, "hash")) }
        case "storage/file", "storage/directory", "storage/link", "storage/node":
            if let path = object["path"]?.stringValue { requireAbsolute(path, at: JSONPointer.appending(pointer, "path")) }
            if case .int(let mode)? = object["mode"], !(0...0o7777).contains(mode) {
                error(JSONPointer.appending(pointer, "mode"), "mode \(mode) is out of range: 0 to 4095 (0o7777)")
            }
            if definition == "storage/link", object["hard"] == .bool(true), let target = object["target"]?.stringValue {
                requireAbsolute(target, at: JSONPointer.appending(pointer, "target"), what: "hard link target")
            }
        case "storage/filesystem":
            if let path = object["path"]?.stringValue { requireAbsolute(path, at: JSONPointer.appending(pointer, "path")) }
            if let device = object["device"]?.stringValue { requireAbsolute(device, at: JSONPointer.appending(pointer, "device"), what: "device") }
        case "storage/disk", "storage/luks":
            if let device = object["device"]?.stringValue { requireAbsolute(device, at: JSONPointer.appending(pointer, "device"), what: "device") }
        case "storage/raid":
            for (index, device) in (object["devices"]?.arrayValue ?? []).enumerated() {
                if let device = device.stringValue {
                    requireAbsolute(device, at: JSONPointer.appending(JSONPointer.appending(pointer, "devices"), index), what: "device")
                }
            }
        case "systemd/unit":
            if let name = object["name"]?.stringValue { checkUnitName(name, at: JSONPointer.appending(pointer, "name")) }
        case "systemd/dropin":
            if let name = object["name"]?.stringValue, !name.hasSuffix(".conf") || name.count <= 5 || name.contains("/") {
                error(JSONPointer.appending(pointer, "name"), "dropin name \"\(name)\" must be a file name ending in .conf")
            }
        default:
            break
        }
    }

    private mutating func requireAbsolute(_ path: String, at pointer: String, what: String = "path") {
        if !path.hasPrefix("/") {
            error(pointer, "\(what) \"\(path)\" is not absolute")
        }
    }

    private mutating func checkUnitName(_ name: String, at pointer: String) {
        guard !name.utf8.contains(UInt8(ascii: "/")), let dot = name.utf8.lastIndex(of: UInt8(ascii: ".")), dot != name.startIndex else {
            return error(pointer, "unit name \"\(name)\" has no unit type suffix (.service, .socket, .target, .timer, .mount, .path, …)")
        }
        let suffix = String(name[name.utf8.index(after: dot)...])
        if !Self.unitSuffixes.contains(suffix) {
            error(pointer, "unit name \"\(name)\" has an unknown type suffix \".\(suffix)\"; expected one of " + Self.unitSuffixes.sorted().map { "." + $0 }.joined(separator: ", "))
        }
    }

    private mutating func checkHash(_ hash: String, at pointer: String) {
        guard let spec else { return }
        let functions = spec.hashFunctions
        let parts = hash.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
        let allowed = functions.keys.sorted().map { "\($0)-<hex>" }.joined(separator: " or ")
        guard parts.count == 2, let length = functions[String(parts[0])] else {
            return error(pointer, "hash \"\(hash)\" must be \(allowed) in spec \(spec.version)")
        }
        let digest = parts[1]
        guard digest.count == length, digest.utf8.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }) else {
            return error(pointer, "\(parts[0]) hash must be \(length) lower-case hex digits, found \"\(digest)\"")
        }
    }

    private mutating func checkResource(_ object: JSONValue, at pointer: String) {
        guard let spec else { return }
        var scheme: String?
        if let source = object["source"]?.stringValue {
            scheme = checkSource(source, at: JSONPointer.appending(pointer, "source"), spec: spec)
        }
        if let compression = object["compression"]?.stringValue, !compression.isEmpty, compression != "gzip" {
            error(JSONPointer.appending(pointer, "compression"), "compression must be \"gzip\" or null, found \"\(compression)\"")
        }
        if let headers = object["httpHeaders"]?.arrayValue, !headers.isEmpty {
            let headersPointer = JSONPointer.appending(pointer, "httpHeaders")
            if let scheme, scheme != "http", scheme != "https" {
                error(headersPointer, "httpHeaders are only allowed with http and https sources, not \(scheme)")
            }
            var seen: Set<String> = []
            for (index, header) in headers.enumerated() {
                guard let name = header["name"]?.stringValue else { continue }
                let namePointer = JSONPointer.appending(JSONPointer.appending(headersPointer, index), "name")
                if name.isEmpty { error(namePointer, "header name is empty") }
                if !seen.insert(name.lowercased()).inserted { error(namePointer, "duplicate header \"\(name)\"") }
            }
        }
    }

    /// Checks a source URL; returns its scheme when it has one.
    private mutating func checkSource(_ source: String, at pointer: String, spec: IgnitionSpec) -> String? {
        // Bytes, not Characters: every source of every served config passes here.
        let bytes = source.utf8
        guard let colon = bytes.firstIndex(of: UInt8(ascii: ":")), colon != bytes.startIndex else {
            error(pointer, source.isEmpty ? "source URL is empty" : "source \"\(source)\" is not a URL (no scheme)")
            return nil
        }
        let rawScheme = bytes[..<colon]
        func isLetter(_ b: UInt8) -> Bool { (0x41...0x5A).contains(b) || (0x61...0x7A).contains(b) }
        guard let first = rawScheme.first, isLetter(first),
              rawScheme.allSatisfy({ isLetter($0) || (0x30...0x39).contains($0) || $0 == UInt8(ascii: "+") || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: ".") })
        else {
            error(pointer, "source \"\(source)\" is not a URL (bad scheme)")
            return nil
        }
        let scheme = String(decoding: rawScheme.map { isLetter($0) ? $0 | 0x20 : $0 }, as: UTF8.self)
        guard spec.sourceSchemes.contains(scheme) else {
            let later = IgnitionSpec.all.first { $0.sourceSchemes.contains(scheme) }
            let hint = later.map { " (needs spec \($0.version) or later)" } ?? ""
            error(pointer, "unsupported source scheme \"\(scheme)\" in spec \(spec.version)\(hint); allowed: \(spec.sourceSchemes.sorted().joined(separator: ", "))")
            return scheme
        }
        let rest = source[bytes.index(after: colon)...]
        if bytes.contains(where: { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\n") || $0 == UInt8(ascii: "\t") }) {
            error(pointer, "source URL contains whitespace; percent-encode it")
        }
        switch scheme {
        case "http", "https", "tftp", "s3", "gs":
            let afterSlashes = rest.hasPrefix("//") ? rest.dropFirst(2) : nil
            let host = afterSlashes?.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
            if host?.isEmpty ?? true {
                error(pointer, "\(scheme) source \"\(source)\" has no host (\(scheme)://host/…)")
            }
        case "data":
            checkDataURL(rest, at: pointer)
        default:
            break
        }
        return scheme
    }

    /// RFC 2397: `data:[<mediatype>][;base64],<data>`.
    private mutating func checkDataURL(_ rest: Substring, at pointer: String) {
        guard let comma = rest.firstIndex(of: ",") else {
            return error(pointer, "data URL has no ',' before its data")
        }
        let header = rest[..<comma]
        let payload = rest[rest.index(after: comma)...]
        if header.split(separator: ";").last == "base64" {
            let stripped = payload.utf8.filter { $0 != UInt8(ascii: "=") }
            let alphabet = stripped.allSatisfy { ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2B || $0 == 0x2F }
            let padding = payload.utf8.count - stripped.count
            let paddingAtEnd = payload.drop { $0 != "=" }.allSatisfy { $0 == "=" }
            if !alphabet || payload.utf8.count % 4 != 0 || padding > 2 || !paddingAtEnd {
                error(pointer, "data URL is marked base64 but its data is not valid base64")
            }
        } else {
            var bytes = payload.utf8.makeIterator()
            while let byte = bytes.next() {
                guard byte == UInt8(ascii: "%") else { continue }
                guard let a = bytes.next(), let b = bytes.next(), isHex(a), isHex(b) else {
                    return error(pointer, "data URL has a '%' not followed by two hex digits")
                }
            }
        }
    }

    private func isHex(_ byte: UInt8) -> Bool {
        (0x30...0x39).contains(byte) || (0x41...0x46).contains(byte) || (0x61...0x66).contains(byte)
    }

    // MARK: - Uniqueness

    /// Ignition refuses two entries for the same path, unit, user, … (they would race).
    private mutating func checkUniqueness(_ root: JSONValue) {
        // Pointers are spelled out only for the duplicates found.
        var paths: [String: (kind: String, index: Int)] = [:]
        for kind in ["files", "directories", "links"] {
            for (index, node) in (root["storage"]?[kind]?.arrayValue ?? []).enumerated() {
                guard let path = node["path"]?.stringValue else { continue }
                if let first = paths[path] {
                    error("/storage/\(kind)/\(index)/path", "duplicate path \"\(path)\" (also at /storage/\(first.kind)/\(first.index)/path)")
                } else {
                    paths[path] = (kind, index)
                }
            }
        }
        unique(root["systemd"]?["units"], key: "name", base: "/systemd/units", what: "unit")
        for (index, unit) in (root["systemd"]?["units"]?.arrayValue ?? []).enumerated() {
            unique(unit["dropins"], key: "name", base: "/systemd/units/\(index)/dropins", what: "dropin")
        }
        unique(root["passwd"]?["users"], key: "name", base: "/passwd/users", what: "user")
        unique(root["passwd"]?["groups"], key: "name", base: "/passwd/groups", what: "group")
        unique(root["storage"]?["disks"], key: "device", base: "/storage/disks", what: "disk")
        unique(root["storage"]?["raid"], key: "name", base: "/storage/raid", what: "raid array")
        unique(root["storage"]?["luks"], key: "name", base: "/storage/luks", what: "LUKS volume")
        unique(root["storage"]?["filesystems"], key: "device", base: "/storage/filesystems", what: "filesystem device")
    }

    private mutating func unique(_ list: JSONValue?, key: String, base: String, what: String) {
        var seen: [String: Int] = [:]
        for (index, item) in (list?.arrayValue ?? []).enumerated() {
            guard let value = item[key]?.stringValue else { continue }
            if let first = seen[value] {
                error("\(base)/\(index)/\(key)", "duplicate \(what) \"\(value)\" (also at \(base)/\(first))")
            } else {
                seen[value] = index
            }
        }
    }
}
