/// Values that end up inside an iPXE script. iPXE splits on whitespace, treats a token starting
/// with `#` as a comment, expands `${…}`, and cuts a URI at `#`: none of these can be escaped.
enum BootValueRules {
    static func tokenProblem(_ value: String) -> String? {
        if value.contains(where: { $0.isWhitespace || $0.asciiValue.map { $0 < 0x20 || $0 == 0x7F } == true }) {
            return "\"\(value)\" contains whitespace or control characters, which iPXE cannot carry"
        }
        if value.contains("#") { return "\"\(value)\" contains '#', which iPXE treats as a comment or URI fragment" }
        if value.contains("${") { return "\"\(value)\" contains '${', which iPXE would expand as a setting" }
        return nil
    }

    /// `iqn.YYYY-MM.reverse.domain[:identifier]`, `eui.` + 16 hex, or `naa.` + 16/32 hex.
    static func iqnProblem(_ iqn: String) -> String? {
        if let p = tokenProblem(iqn) { return p }
        let lower = iqn.lowercased()
        if lower.hasPrefix("iqn.") {
            let rest = Array(lower.dropFirst(4))
            let okDate = rest.count > 8 && rest[0..<4].allSatisfy(\.isNumber) && rest[4] == "-" && rest[5..<7].allSatisfy(\.isNumber) && rest[7] == "."
            if !okDate { return "\"\(iqn)\" is not an IQN: expected iqn.YYYY-MM.reverse.domain[:name]" }
            let allowed = rest.allSatisfy { $0.isLetter || $0.isNumber || "-.:_".contains($0) }
            return allowed ? nil : "\"\(iqn)\" contains characters not allowed in an IQN"
        }
        if lower.hasPrefix("eui.") {
            let hex = lower.dropFirst(4)
            return hex.count == 16 && hex.allSatisfy(\.isHexDigit) ? nil : "\"\(iqn)\" is not an EUI-64 name (eui. + 16 hex digits)"
        }
        if lower.hasPrefix("naa.") {
            let hex = lower.dropFirst(4)
            return (hex.count == 16 || hex.count == 32) && hex.allSatisfy(\.isHexDigit) ? nil : "\"\(iqn)\" is not an NAA name"
        }
        return "\"\(iqn)\" is not an iSCSI name: it must start with iqn., eui. or naa."
    }

    /// An IPv4 address, a bracketed IPv6 address, or a host name.
    static func portalProblem(_ portal: String) -> String? {
        if let p = tokenProblem(portal) { return p }
        if IPAddressText.isIPv4(portal) { return nil }
        if portal.hasPrefix("["), portal.hasSuffix("]"), IPAddressText.isIPv6(String(portal.dropFirst().dropLast())) { return nil }
        if IPAddressText.isIPv6(portal) { return "\"\(portal)\": write an IPv6 portal in brackets, e.g. [\(portal)]" }
        let labels = portal.split(separator: ".", omittingEmptySubsequences: false)
        let hostname = !labels.isEmpty && labels.allSatisfy { l in
            !l.isEmpty && l.count <= 63 && l.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") } && l.first != "-" && l.last != "-"
        }
        return hostname ? nil : "\"\(portal)\" is not an IP address or host name"
    }
}
