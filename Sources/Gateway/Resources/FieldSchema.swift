/// The shape of a resource, written once and used three ways: to check a request body (types,
/// unknown fields with their paths), to normalise stored objects into mkube's wire form (key
/// order, always-emitted fields, omitted empty ones), and to generate the OpenAPI schemas.
public indirect enum FieldType: Sendable {
    case string(allowed: [String]? = nil)
    case bool
    case int
    case number
    /// Any JSON value, stored verbatim (mkube's `json.RawMessage`).
    case any
    case object(ObjectSchema)
    /// `map[string]T`: keys come out sorted, as Go writes them.
    case map(FieldType)
    case array(FieldType)

    static let string = FieldType.string()
}

public struct Field: Sendable {
    public enum Emit: Sendable {
        /// Always in the output; absent means its zero value (Go field without omitempty).
        case always
        /// Omitted when absent or zero (Go `omitempty`).
        case omitEmpty
        /// Omitted only when absent or null (Go pointer with `omitempty`): `false` and `{}` stay.
        case omitNull
        /// Emitted whenever the key is present, even as `null` (mkube's `json.RawMessage`).
        case ifPresent
    }
    public var name: String
    public var type: FieldType
    public var emit: Emit
    public var description: String

    public init(_ name: String, _ type: FieldType, _ emit: Emit = .omitEmpty, _ description: String = "") {
        self.name = name
        self.type = type
        self.emit = emit
        self.description = description
    }
}

public struct ObjectSchema: Sendable {
    public var fields: [Field]
    private let byName: [String: Int]
    private let byLowercase: [String: String]

    public init(_ fields: [Field]) {
        self.fields = fields
        var idx: [String: Int] = [:]
        var lower: [String: String] = [:]
        for (n, f) in fields.enumerated() {
            idx[f.name] = n
            lower[f.name.lowercased()] = f.name
        }
        byName = idx
        byLowercase = lower
    }

    public func field(_ name: String) -> Field? { byName[name].map { fields[$0] } }
    /// Go's decoder matches keys case-insensitively; Strict validation suggests the right spelling.
    func canonicalName(_ name: String) -> String? { byLowercase[name.lowercased()] }
}

/// What checking a body against a schema found.
public struct SchemaReport: Sendable {
    /// Fields the schema does not know, as paths (`spec.bootMacAddress`), with a suggestion.
    public var unknown: [(path: String, suggestion: String?)] = []
    /// Values of the wrong type, as `path: message`.
    public var typeErrors: [String] = []
}

extension FieldType {
    /// Checks `value`, reporting unknown fields and type errors. Returns the value with unknown
    /// fields removed (and case-insensitive key matches renamed, as mkube's decoder does).
    func check(_ value: JSONValue, path: String, report: inout SchemaReport) -> JSONValue {
        if value.isNull { return value }
        func mismatch(_ expected: String) -> JSONValue {
            report.typeErrors.append("\(path.isEmpty ? "<root>" : path): expected \(expected), got \(value.typeName)")
            return value
        }
        switch self {
        case .any: return value
        case .string(let allowed):
            guard let s = value.stringValue else { return mismatch("string") }
            if let allowed, !s.isEmpty, !allowed.contains(s) {
                report.typeErrors.append("\(path): unsupported value \"\(s)\", allowed: \(allowed.joined(separator: ", "))")
            }
            return value
        case .bool: return value.boolValue == nil ? mismatch("boolean") : value
        case .int: return value.intValue == nil ? mismatch("integer") : value.intValue.map { .int($0) } ?? value
        case .number:
            switch value { case .int, .double: return value
            default: return mismatch("number") }
        case .array(let element):
            guard let items = value.arrayValue else { return mismatch("array") }
            return .array(items.enumerated().map { element.check($1, path: "\(path)[\($0)]", report: &report) })
        case .map(let element):
            guard let obj = value.objectValue else { return mismatch("object") }
            var out = JSONObject()
            for (k, v) in obj { out[k] = element.check(v, path: "\(path)[\(k)]", report: &report) }
            return .object(out)
        case .object(let schema):
            guard let obj = value.objectValue else { return mismatch("object") }
            var out = JSONObject()
            for (k, v) in obj {
                let childPath = path.isEmpty ? k : "\(path).\(k)"
                if let field = schema.field(k) {
                    out[k] = field.type.check(v, path: childPath, report: &report)
                } else if let canonical = schema.canonicalName(k), let field = schema.field(canonical) {
                    report.unknown.append((childPath, canonical))
                    if out[canonical] == nil {
                        out[canonical] = field.type.check(v, path: path.isEmpty ? canonical : "\(path).\(canonical)", report: &report)
                    }
                } else {
                    report.unknown.append((childPath, nil))
                }
            }
            return .object(out)
        }
    }

    /// The zero value Go would emit for a field without omitempty.
    var zero: JSONValue {
        switch self {
        case .string: return .string("")
        case .bool: return .bool(false)
        case .int, .number: return .int(0)
        case .object(let schema): return schema.normalize(.object(JSONObject()))
        case .map, .array, .any: return .null
        }
    }

    func normalize(_ value: JSONValue) -> JSONValue {
        switch self {
        case .object(let schema): return schema.normalize(value)
        case .map(let element):
            guard let obj = value.objectValue else { return value }
            var out = JSONObject()
            for k in obj.keys.sorted() { out[k] = element.normalize(obj[k]!) }
            return .object(out)
        case .array(let element):
            guard let items = value.arrayValue else { return value }
            return .array(items.map(element.normalize))
        default: return value
        }
    }
}

extension JSONValue {
    /// Go's omitempty notion of empty.
    var isEmptyForOmit: Bool {
        switch self {
        case .null: return true
        case .bool(let b): return !b
        case .int(let i): return i == 0
        case .double(let d): return d == 0
        case .string(let s): return s.isEmpty
        case .array(let a): return a.isEmpty
        case .object(let o): return o.isEmpty
        }
    }
}

extension ObjectSchema {
    /// Puts an object into wire form: schema key order, always-fields present, empty omitempty
    /// fields dropped. Keys the schema does not know are dropped too.
    public func normalize(_ value: JSONValue) -> JSONValue {
        let obj = value.objectValue ?? JSONObject()
        var out = JSONObject()
        for field in fields {
            let v = obj[field.name]
            switch field.emit {
            case .always:
                if let v, !v.isNull { out[field.name] = field.type.normalize(v) }
                else { out[field.name] = field.type.zero }
            case .omitEmpty:
                if let v, !v.isEmptyForOmit { out[field.name] = field.type.normalize(v) }
            case .omitNull:
                if let v, !v.isNull { out[field.name] = field.type.normalize(v) }
            case .ifPresent:
                if let v { out[field.name] = field.type.normalize(v) }
            }
        }
        return .object(out)
    }
}
