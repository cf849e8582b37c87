/// Finds the JSON pointer of the place a parser stopped, by re-reading the text up to that byte.
///
/// jansson reports a duplicate key only by line and column; operators want to know *which* key,
/// so the text before the error (which jansson accepted) is scanned for its structure.
enum JSONPathLocator {
    private enum Frame {
        case object(key: String?)
        case array(index: Int)
    }

    static func pointer(in bytes: [UInt8], before position: Int) -> String {
        var stack: [Frame] = []
        var index = 0
        let end = min(position, bytes.count)
        while index < end {
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "{"):
                stack.append(.object(key: nil))
            case UInt8(ascii: "["):
                stack.append(.array(index: 0))
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                if !stack.isEmpty { stack.removeLast() }
            case UInt8(ascii: ","):
                if case .array(let i)? = stack.last { stack[stack.count - 1] = .array(index: i + 1) }
            case UInt8(ascii: "\""):
                let (text, next) = readString(bytes, from: index + 1, limit: end)
                // A string is a key when it is followed by ':' inside an object.
                var look = next
                while look < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[look]) { look += 1 }
                if case .object? = stack.last, look < bytes.count, bytes[look] == UInt8(ascii: ":") {
                    stack[stack.count - 1] = .object(key: text)
                }
                index = next
                continue
            default:
                break
            }
            index += 1
        }
        var pointer = ""
        for frame in stack {
            switch frame {
            case .object(let key?): pointer = JSONPointer.appending(pointer, key)
            case .object(nil): break
            case .array(let i): pointer = JSONPointer.appending(pointer, i)
            }
        }
        return pointer
    }

    /// Decodes the string body starting after its opening quote; returns the index after the closing quote.
    private static func readString(_ bytes: [UInt8], from start: Int, limit: Int) -> (String, Int) {
        var out: [UInt8] = []
        var index = start
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") { return (String(decoding: out, as: UTF8.self), index + 1) }
            if byte == UInt8(ascii: "\\"), index + 1 < bytes.count {
                let escaped = bytes[index + 1]
                switch escaped {
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "u"):
                    if index + 6 <= bytes.count, let code = UInt32(String(decoding: bytes[(index + 2)..<(index + 6)], as: UTF8.self), radix: 16),
                       let scalar = Unicode.Scalar(code) {
                        out.append(contentsOf: Array(String(scalar).utf8))
                    }
                    index += 6
                    continue
                default: out.append(escaped)
                }
                index += 2
                continue
            }
            out.append(byte)
            index += 1
        }
        return (String(decoding: out, as: UTF8.self), index)
    }
}
