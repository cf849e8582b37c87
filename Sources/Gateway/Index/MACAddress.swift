/// MAC addresses as the boot path compares them: lower case, colon separated. Accepts any
/// case with `:`, `-` or no separators (iPXE's `${mac:hexhyp}`, BMC tools, spreadsheets).
public enum MACAddress {
    /// mkube's "no MAC yet" value.
    public static let placeholder = "00:00:00:00:00:00"
    /// One pass over the bytes: every `/ipxe` request normalises its MAC.
    public static func normalize(_ text: String) -> String? {
        var digits: [UInt8] = []
        digits.reserveCapacity(12)
        var separators = 0, dots = 0
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "a")...UInt8(ascii: "f"):
                digits.append(byte)
            case UInt8(ascii: "A")...UInt8(ascii: "F"):
                digits.append(byte + 0x20)
            case UInt8(ascii: ":"), UInt8(ascii: "-"):
                separators += 1
            case UInt8(ascii: "."):
                separators += 1
                dots += 1
            default:
                return nil
            }
            if digits.count > 12 { return nil }
        }
        guard digits.count == 12 else { return nil }
        // Separators must be consistent with a real MAC layout, not anywhere.
        guard separators == 0 || separators == 5 || (separators == 2 && dots == 2) else { return nil }
        var out = [UInt8]()
        out.reserveCapacity(17)
        for (n, d) in digits.enumerated() {
            if n > 0, n % 2 == 0 { out.append(UInt8(ascii: ":")) }
            out.append(d)
        }
        return String(decoding: out, as: UTF8.self)
    }
}
