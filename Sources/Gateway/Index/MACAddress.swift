/// MAC addresses as the boot path compares them: lower case, colon separated. Accepts any
/// case with `:`, `-` or no separators (iPXE's `${mac:hexhyp}`, BMC tools, spreadsheets).
public enum MACAddress {
    public static func normalize(_ text: String) -> String? {
        let hex = text.lowercased().filter { $0 != ":" && $0 != "-" && $0 != "." }
        guard hex.count == 12, hex.allSatisfy(\.isHexDigit) else { return nil }
        // Separators must be consistent with a real MAC layout, not anywhere.
        let seps = text.filter { $0 == ":" || $0 == "-" || $0 == "." }
        guard seps.isEmpty || seps.count == 5 || (seps.count == 2 && seps.allSatisfy { $0 == "." }) else { return nil }
        var out = ""
        out.reserveCapacity(17)
        for (n, c) in hex.enumerated() {
            if n > 0, n % 2 == 0 { out.append(":") }
            out.append(c)
        }
        return out
    }
}
