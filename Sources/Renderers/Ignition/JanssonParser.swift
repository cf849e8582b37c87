import CJansson

/// Strict JSON parsing with jansson: duplicate keys, invalid UTF-8, `\u0000`, trailing bytes and
/// a non-object top level are all errors, reported with line and column.
enum JanssonParser {
    struct Failure: Error, Sendable {
        var line: Int
        var column: Int
        /// Byte offset into the input where jansson stopped.
        var position: Int
        var message: String
        var isDuplicateKey: Bool
        var isInvalidUTF8 = false
    }

    static func parse(_ text: String) -> Result<JSONValue, Failure> {
        parse(bytes: Array(text.utf8))
    }

    static func parse(bytes: [UInt8]) -> Result<JSONValue, Failure> {
        var error = json_error_t()
        // No JSON_DECODE_ANY: the top level must be an object or array (checked further below);
        // no JSON_DISABLE_EOF_CHECK: bytes after the document are an error.
        let flags = Int(JSON_REJECT_DUPLICATES)
        let root: UnsafeMutablePointer<json_t>? = bytes.withUnsafeBufferPointer { buffer in
            buffer.baseAddress.flatMap { base in
                base.withMemoryRebound(to: CChar.self, capacity: buffer.count) { json_loadb($0, buffer.count, flags, &error) }
            }
        }
        guard let root else {
            if bytes.isEmpty {
                return .failure(Failure(line: 1, column: 0, position: 0, message: "empty document", isDuplicateKey: false))
            }
            let message = withUnsafeBytes(of: error.text) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            let code = json_error_code(&error)
            return .failure(Failure(line: Int(error.line), column: Int(error.column), position: Int(error.position),
                                    message: message, isDuplicateKey: code == json_error_duplicate_key,
                                    isInvalidUTF8: code == json_error_invalid_utf8))
        }
        defer { json_decref(root) }
        return .success(convert(root))
    }

    private static func convert(_ node: UnsafeMutablePointer<json_t>) -> JSONValue {
        switch node.pointee.type {
        case JSON_OBJECT:
            var members = JSONObject()
            var iterator = json_object_iter(node)
            while let current = iterator {
                if let key = json_object_iter_key(current), let value = json_object_iter_value(current) {
                    members[String(cString: key)] = convert(value)
                }
                iterator = json_object_iter_next(node, current)
            }
            return .object(members)
        case JSON_ARRAY:
            let count = json_array_size(node)
            var items: [JSONValue] = []
            items.reserveCapacity(count)
            for index in 0..<count {
                if let item = json_array_get(node, index) { items.append(convert(item)) }
            }
            return .array(items)
        case JSON_STRING:
            guard let chars = json_string_value(node) else { return .string("") }
            let length = json_string_length(node)
            return chars.withMemoryRebound(to: UInt8.self, capacity: length) {
                .string(String(decoding: UnsafeBufferPointer(start: $0, count: length), as: UTF8.self))
            }
        case JSON_INTEGER:
            return .int(Int64(json_integer_value(node)))
        case JSON_REAL:
            return .double(json_real_value(node))
        case JSON_TRUE:
            return .bool(true)
        case JSON_FALSE:
            return .bool(false)
        default:
            return .null
        }
    }
}
