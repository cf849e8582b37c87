import Yams

/// Reads YAML (one or several `---` documents) into `JSONValue`s, so YAML is accepted wherever
/// JSON is. Empty documents are skipped. Scalars are typed the way YAML 1.2's core schema types them.
public enum YAMLDocuments {
    public struct Failure: Error, Sendable { public var message: String }

    public static func parse(_ text: String) throws(Failure) -> [JSONValue] {
        do {
            var result: [JSONValue] = []
            // The parser directly, not `compose_all`: its lazy sequence ends quietly on errors.
            let parser = try Parser(yaml: text)
            while let node = try parser.nextRoot() {
                // An empty document (a comment before `---`) is skipped, as kubectl does.
                let value = try convert(node)
                if !value.isNull { result.append(value) }
            }
            return result
        } catch let failure as Failure {
            throw failure
        } catch {
            throw Failure(message: "\(error)")
        }
    }

    private static func convert(_ node: Node) throws -> JSONValue {
        switch node {
        case .scalar(let scalar):
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
            var obj = JSONObject()
            for (k, v) in mapping {
                guard case .scalar(let keyScalar) = k else { throw Failure(message: "mapping keys must be scalars") }
                if obj[keyScalar.string] != nil { throw Failure(message: "duplicate key \"\(keyScalar.string)\"") }
                obj[keyScalar.string] = try convert(v)
            }
            return .object(obj)
        case .sequence(let seq):
            return .array(try seq.map(convert))
        case .alias:
            throw Failure(message: "YAML aliases are not supported")
        }
    }
}
