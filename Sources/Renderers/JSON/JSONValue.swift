/// A JSON document as bootgate stores, serves and validates it. Objects keep their key order, because the
/// wire format emits keys in mkube's declaration order (see `ResourceSchema.normalize`).
public enum JSONValue: Sendable, Hashable {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object(JSONObject)

    public subscript(key: String) -> JSONValue? {
        get { if case .object(let o) = self { return o[key] } else { return nil } }
        set {
            guard case .object(var o) = self else { return }
            o[key] = newValue
            self = .object(o)
        }
    }

    public var stringValue: String? { if case .string(let s) = self { return s } else { return nil } }
    public var boolValue: Bool? { if case .bool(let b) = self { return b } else { return nil } }
    public var intValue: Int64? {
        switch self {
        case .int(let i): return i
        case .double(let d) where d.rounded() == d && abs(d) < 9e15: return Int64(d)
        default: return nil
        }
    }
    public var arrayValue: [JSONValue]? { if case .array(let a) = self { return a } else { return nil } }
    public var objectValue: JSONObject? { if case .object(let o) = self { return o } else { return nil } }
    public var isNull: Bool { if case .null = self { return true } else { return false } }

    /// Walks a dotted path of object keys (`spec.bmc.address`).
    public func value(at path: [String]) -> JSONValue? {
        var current: JSONValue? = self
        for key in path { current = current?[key] }
        return current
    }

    /// Sets a value at a dotted path, creating objects on the way.
    public mutating func set(_ value: JSONValue?, at path: ArraySlice<String>) {
        guard let first = path.first else {
            self = value ?? .null
            return
        }
        var obj = objectValue ?? JSONObject()
        if path.count == 1 {
            obj[first] = value
        } else {
            var child = obj[first] ?? .object(JSONObject())
            if child.objectValue == nil { child = .object(JSONObject()) }
            child.set(value, at: path.dropFirst())
            obj[first] = child
        }
        self = .object(obj)
    }

    /// Name of the JSON type, for error messages.
    public var typeName: String {
        switch self {
        case .null: return "null"
        case .bool: return "boolean"
        case .int: return "integer"
        case .double: return "number"
        case .string: return "string"
        case .array: return "array"
        case .object: return "object"
        }
    }
}

/// An object with ordered keys.
///
/// Members sit in one array, scanned for a key: the objects of bootgate's documents have a
/// handful of members, and one allocation per object (rather than an array and a hash table)
/// halves what 10,000 hosts take in memory, while comparing a few short keys costs less than
/// hashing one. Objects with more than `scanLimit` members also get a table of positions.
public struct JSONObject: Sendable, Hashable, Sequence {
    public typealias Element = (key: String, value: JSONValue)

    private var entries: [Element] = []
    private var positions: [String: Int]?
    private static let scanLimit = 16

    public init() {}
    public init(_ pairs: [(String, JSONValue)]) {
        entries.reserveCapacity(pairs.count)
        for (k, v) in pairs { self[k] = v }
    }

    public var keys: [String] { entries.map(\.key) }
    public var count: Int { entries.count }
    public var isEmpty: Bool { entries.isEmpty }

    private func position(of key: String) -> Int? {
        if let positions { return positions[key] }
        return entries.firstIndex { $0.key == key }
    }

    public subscript(key: String) -> JSONValue? {
        get { position(of: key).map { entries[$0].value } }
        set {
            if let newValue {
                if let i = position(of: key) {
                    entries[i].value = newValue
                } else {
                    entries.append((key, newValue))
                    if positions != nil {
                        positions?[key] = entries.count - 1
                    } else if entries.count > Self.scanLimit {
                        indexPositions()
                    }
                }
            } else if let i = position(of: key) {
                entries.remove(at: i)
                positions = nil
                if entries.count > Self.scanLimit { indexPositions() }
            }
        }
    }

    private mutating func indexPositions() {
        positions = Dictionary(uniqueKeysWithValues: entries.enumerated().map { ($1.key, $0) })
    }

    /// Changes a present member in place, without copying it first.
    public mutating func modify(_ key: String, _ body: (inout JSONValue) -> Void) {
        guard let i = position(of: key) else { return }
        body(&entries[i].value)
    }

    public func makeIterator() -> IndexingIterator<[Element]> { entries.makeIterator() }

    /// Equal members, in any order (as JSON objects compare).
    public static func == (a: JSONObject, b: JSONObject) -> Bool {
        a.count == b.count && a.entries.allSatisfy { b[$0.key] == $0.value }
    }

    /// Independent of member order, like `==`.
    public func hash(into hasher: inout Hasher) {
        var members = 0
        for entry in entries {
            var h = Hasher()
            h.combine(entry.key)
            h.combine(entry.value)
            members ^= h.finalize()
        }
        hasher.combine(count)
        hasher.combine(members)
    }
}

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByBooleanLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral, ExpressibleByNilLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(integerLiteral value: Int64) { self = .int(value) }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, JSONValue)...) { self = .object(JSONObject(elements)) }
    public init(nilLiteral: ()) { self = .null }
}
