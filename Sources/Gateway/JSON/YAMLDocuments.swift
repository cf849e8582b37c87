import CYaml
import Yams

/// Reads YAML (one or several `---` documents) into `JSONValue`s, so YAML is accepted wherever
/// JSON is. Empty documents are skipped. Scalars are typed the way YAML 1.2's core schema types them.
///
/// Aliases are refused, before Yams composes anything: nested aliases ("billion laughs": 576
/// bytes took the server past 3 GB in 13 s) blow up when the graph is expanded, and already
/// while Yams composes it when an alias is a mapping key (it hashes keys to find duplicates:
/// 7 levels took 4.5 s of CPU). So libyaml's event stream, the one Yams reads, is scanned first
/// for alias events (a pass costing about a tenth of the parse). Conversion also stops at an
/// anchored node met twice, and a node budget proportional to the text bounds it regardless.
public enum YAMLDocuments {
    public struct Failure: Error, Sendable { public var message: String }

    /// Nodes a document may produce: no plain YAML has more nodes than bytes.
    static func nodeBudget(_ text: String) -> Int { max(1024, text.utf8.count + 16) }

    public static func parse(_ text: String) throws(Failure) -> [JSONValue] {
        try refuseAliases(text)
        var budget = Budget(left: nodeBudget(text))
        do {
            var result: [JSONValue] = []
            // The parser directly, not `compose_all`: its lazy sequence ends quietly on errors.
            let parser = try Parser(yaml: text)
            while let node = try parser.nextRoot() {
                // An empty document (a comment before `---`) is skipped, as kubectl does.
                let value = try convert(node, &budget)
                if !value.isNull { result.append(value) }
            }
            return result
        } catch let failure as Failure {
            throw failure
        } catch {
            throw Failure(message: "\(error)")
        }
    }

    /// Throws at the first alias; syntax errors are left to Yams, which reports them better.
    static func refuseAliases(_ text: String) throws(Failure) {
        var parser = yaml_parser_t()
        guard yaml_parser_initialize(&parser) == 1 else { throw Failure(message: "cannot start the YAML parser") }
        defer { yaml_parser_delete(&parser) }
        var bytes = Array(text.utf8)
        let aliasLine: Int? = bytes.withUnsafeMutableBufferPointer { buf -> Int? in
            yaml_parser_set_input_string(&parser, buf.baseAddress, buf.count)
            var event = yaml_event_t()
            while yaml_parser_parse(&parser, &event) == 1 {
                let type = event.type
                let line = Int(event.start_mark.line) + 1
                yaml_event_delete(&event)
                if type == YAML_ALIAS_EVENT { return line }
                if type == YAML_STREAM_END_EVENT { break }
            }
            return nil
        }
        if let aliasLine { throw Failure(message: "YAML aliases are not supported (line \(aliasLine))") }
    }

    struct Budget {
        var left: Int
        /// Anchors already converted (by identity: a name may be defined twice).
        var anchors: Set<ObjectIdentifier> = []

        mutating func spend(_ anchor: Anchor?) throws(Failure) {
            left -= 1
            if left < 0 { throw Failure(message: "the YAML expands to too many nodes (aliases are not supported)") }
            if let anchor {
                guard anchors.insert(ObjectIdentifier(anchor)).inserted else {
                    throw Failure(message: "YAML aliases are not supported (anchor &\(anchor.rawValue) is used again)")
                }
            }
        }
    }

    private static func convert(_ node: Node, _ budget: inout Budget) throws -> JSONValue {
        switch node {
        case .scalar(let scalar):
            try budget.spend(scalar.anchor)
            if scalar.style != .plain { return .string(scalar.string) }
            let s = scalar.string
            switch s {
            case "", "~", "null", "Null", "NULL": return .null
            case "true", "True", "TRUE": return .bool(true)
            case "false", "False", "FALSE": return .bool(false)
            default:
                if let i = Int64(s) { return .int(i) }
                if s.first.map({ $0.isNumber || $0 == "-" || $0 == "." }) == true, let d = Double(s), d.isFinite { return .double(d) }
                return .string(s)
            }
        case .mapping(let mapping):
            try budget.spend(mapping.anchor)
            var obj = JSONObject()
            for (k, v) in mapping {
                guard case .scalar(let keyScalar) = k else { throw Failure(message: "mapping keys must be scalars") }
                if obj[keyScalar.string] != nil { throw Failure(message: "duplicate key \"\(keyScalar.string)\"") }
                obj[keyScalar.string] = try convert(v, &budget)
            }
            return .object(obj)
        case .sequence(let seq):
            try budget.spend(seq.anchor)
            var items: [JSONValue] = []
            for element in seq { items.append(try convert(element, &budget)) }
            return .array(items)
        case .alias:
            throw Failure(message: "YAML aliases are not supported")
        }
    }
}
