/// Writing substituted values as bytes, for `CompiledTemplate`.
///
/// Works on UTF-8 bytes: every byte JSON escapes is ASCII, and ASCII bytes never occur inside
/// a multi-byte UTF-8 sequence, so byte-wise escaping equals `TemplateEngine.jsonEscape`'s
/// scalar-wise one.
extension TemplateEscaping {
    func append(_ value: String, to out: inout [UInt8]) {
        switch self {
        case .none: out.append(contentsOf: value.utf8)
        case .jsonString: Self.appendJSONEscaped(value, to: &out)
        }
    }

    private static func appendJSONEscaped(_ value: String, to out: inout [UInt8]) {
        // Most values (names, addresses, URLs) need no escape: one copy.
        if !value.utf8.contains(where: needsEscape) {
            out.append(contentsOf: value.utf8)
            return
        }
        let backslash = UInt8(ascii: "\\")
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "\""), backslash:
                out.append(backslash)
                out.append(byte)
            case UInt8(ascii: "\n"):
                out.append(backslash)
                out.append(UInt8(ascii: "n"))
            case UInt8(ascii: "\r"):
                out.append(backslash)
                out.append(UInt8(ascii: "r"))
            case UInt8(ascii: "\t"):
                out.append(backslash)
                out.append(UInt8(ascii: "t"))
            case 0..<0x20, 0x7F:
                // \u00XX with lower-case hex, as `String(_:radix:)` writes it.
                out.append(contentsOf: [backslash, UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0")])
                out.append(hexDigit(byte >> 4))
                out.append(hexDigit(byte & 0xF))
            default:
                out.append(byte)
            }
        }
    }

    private static func needsEscape(_ byte: UInt8) -> Bool {
        byte < 0x20 || byte == 0x7F || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\")
    }

    private static func hexDigit(_ nibble: UInt8) -> UInt8 {
        nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "a") + nibble - 10
    }

    /// Whether the value holds a line break or control character (`TemplateEngine.isControl`:
    /// C0 controls, DEL, U+2028 and U+2029), which `.none` escaping refuses to insert.
    static func containsControl(_ value: String) -> Bool {
        var previous: (UInt8, UInt8) = (0, 0)
        for byte in value.utf8 {
            if byte < 0x20 || byte == 0x7F { return true }
            // U+2028 and U+2029 are E2 80 A8 and E2 80 A9.
            if previous == (0xE2, 0x80), byte == 0xA8 || byte == 0xA9 { return true }
            previous = (previous.1, byte)
        }
        return false
    }
}
