/// Checks for server-side values placed in iPXE scripts.
///
/// iPXE splits script lines on whitespace with no quoting or escaping, starts a comment at a
/// token beginning with `#`, expands `${…}` after splitting, and cuts a URI at `#` (fragment).
/// Nothing can be escaped, so values are refused rather than mangled: call these when hosts and
/// ISOs are written, and the script builder calls them again before emitting.
public enum IPXEValue {
    /// An error message naming `field`, or nil when the value is safe as one iPXE token.
    public static func check(_ value: String, field: String) -> String? {
        if value.isEmpty { return "\(field) is empty" }
        if value.utf8.count > 255 { return "\(field) is longer than 255 bytes" }
        // One pass over the bytes: this runs for every value of every script served.
        var previous: UInt8 = 0
        var hash = false, expansion = false
        for byte in value.utf8 {
            switch byte {
            case 0x20, 0x09, 0x0A, 0x0D: return "\(field) \(quoted(value)) contains whitespace, which splits an iPXE command"
            case 0..<0x20, 0x7F: return "\(field) contains a control character"
            case 0x80...: return "\(field) \(quoted(value)) contains a non-ASCII character"
            case UInt8(ascii: "#"): hash = true
            case UInt8(ascii: "{") where previous == UInt8(ascii: "$"): expansion = true
            default: break
            }
            previous = byte
        }
        if expansion { return "\(field) \(quoted(value)) contains \"${\", which iPXE expands as a setting" }
        if hash { return "\(field) \(quoted(value)) contains \"#\", which starts an iPXE comment or cuts a URI" }
        return nil
    }

    /// iSCSI qualified names (RFC 3720 section 3.2.6.3): `iqn.YYYY-MM.reversed.domain[:suffix]`,
    /// `eui.` + 16 hex digits, or `naa.` + 16 or 32 hex digits.
    public static func checkIQN(_ value: String) -> String? {
        if let problem = check(value, field: "target IQN") { return problem }
        if value.utf8.count > 223 { return "target IQN is longer than 223 bytes (RFC 3720)" }
        let lower = value.lowercased()
        if lower.hasPrefix("eui.") || lower.hasPrefix("naa.") {
            let hex = value.dropFirst(4)
            let lengths = lower.hasPrefix("eui.") ? [16] : [16, 32]
            guard lengths.contains(hex.count), hex.allSatisfy(\.isHexDigit) else {
                return "target IQN \(quoted(value)): \(value.prefix(3)) names need \(lengths.map(String.init).joined(separator: " or ")) hex digits"
            }
            return nil
        }
        let shape = "iqn.YYYY-MM.reversed.domain[:name]"
        guard value.hasPrefix("iqn.") else { return "target IQN \(quoted(value)) must look like \(shape), eui.<16 hex> or naa.<16|32 hex>" }
        let rest = value.dropFirst(4)
        let date = rest.prefix(7)
        let digits = date.enumerated().allSatisfy { index, c in index == 4 ? c == "-" : c.isASCII && c.isNumber }
        guard date.count == 7, digits, let month = Int(date.suffix(2)), (1...12).contains(month) else {
            return "target IQN \(quoted(value)) must start with iqn.YYYY-MM. (\(shape))"
        }
        let afterDate = rest.dropFirst(7)
        guard afterDate.first == "." else { return "target IQN \(quoted(value)) needs a reversed domain after the date (\(shape))" }
        let naming = afterDate.dropFirst()
        let domain = naming.prefix { $0 != ":" }
        let labels = domain.split(separator: ".", omittingEmptySubsequences: false)
        guard !domain.isEmpty, labels.allSatisfy({ !$0.isEmpty && $0.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") } }) else {
            return "target IQN \(quoted(value)) has an invalid reversed domain \(quoted(String(domain))) (\(shape))"
        }
        let suffix = naming.dropFirst(domain.count)
        if !suffix.isEmpty {
            let name = suffix.dropFirst()
            guard !name.isEmpty, name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-.:_".contains($0)) }) else {
                return "target IQN \(quoted(value)) has an invalid name after ':' (letters, digits, - . : _)"
            }
        }
        return nil
    }

    /// An iSCSI portal address: IPv4, bracketed IPv6 (`[fd00::1]`), or a DNS host name.
    public static func checkPortal(_ value: String) -> String? {
        if let problem = check(value, field: "portal") { return problem }
        if value.hasPrefix("[") {
            guard value.hasSuffix("]"), value.count > 2 else { return "portal \(quoted(value)): IPv6 address is not closed with ']'" }
            let inner = value.dropFirst().dropLast()
            guard inner.contains(":"), inner.allSatisfy({ $0.isHexDigit || $0 == ":" || $0 == "." }), inner.count <= 45 else {
                return "portal \(quoted(value)) is not a bracketed IPv6 address"
            }
            return nil
        }
        if value.contains(":") {
            return "portal \(quoted(value)): write IPv6 addresses in brackets ([fd00::1]); give the port separately"
        }
        let parts = value.split(separator: ".", omittingEmptySubsequences: false)
        if parts.allSatisfy({ !$0.isEmpty && $0.allSatisfy { $0.isASCII && $0.isNumber } }) {
            guard parts.count == 4, parts.allSatisfy({ $0.count <= 3 && (Int($0) ?? 256) <= 255 }) else {
                return "portal \(quoted(value)) is not a valid IPv4 address"
            }
            return nil
        }
        guard value.utf8.count <= 253, parts.allSatisfy({ label in
            !label.isEmpty && label.count <= 63 && label.first != "-" && label.last != "-"
                && label.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }
        }) else {
            return "portal \(quoted(value)) is not an IPv4 address, bracketed IPv6 address or host name"
        }
        return nil
    }

    /// A MAC address: six hex pairs separated by ':' or '-'.
    public static func checkMAC(_ value: String) -> String? {
        let parts = value.split(separator: value.contains("-") ? "-" : ":", omittingEmptySubsequences: false)
        guard parts.count == 6, parts.allSatisfy({ $0.count == 2 && $0.allSatisfy(\.isHexDigit) }) else {
            return "MAC address \(quoted(value)) must be six hex pairs (aa:bb:cc:dd:ee:ff)"
        }
        return nil
    }

    /// Text safe for `echo`: printable ASCII, no `#`, `${`, `|`, `&`, single spaces, bounded length.
    /// Used for free text (refusal reasons) that cannot be refused.
    public static func sanitise(_ text: String, maxLength: Int = 200) -> String {
        var out = ""
        var lastWasSpace = true
        for scalar in text.unicodeScalars {
            let piece: String
            switch scalar {
            case " ", "\t", "\n", "\r": piece = " "
            case "#": piece = "No."
            case "$", "{", "}", "|", "&", "\\": piece = "_"
            case _ where scalar.value < 0x20 || scalar.value >= 0x7F: piece = "?"
            default: piece = String(scalar)
            }
            if piece == " " {
                if lastWasSpace { continue }
                lastWasSpace = true
            } else {
                lastWasSpace = false
            }
            out += piece
            if out.count >= maxLength { break }
        }
        out = String(out.prefix(maxLength))
        while out.last == " " { out.removeLast() }
        // echo reads a leading "-" as an option (and fails on unknown ones).
        if out.hasPrefix("-") { out = "Boot refused: " + out }
        return out
    }

    static func quoted(_ value: String) -> String {
        "\"" + sanitise(value, maxLength: 80) + "\""
    }
}
