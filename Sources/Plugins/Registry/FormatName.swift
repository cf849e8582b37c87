/// The rule for `spec.format` values a renderer may claim.
///
/// Kept strict (lowercase letters, digits, `-`) because the name also becomes part of a plugin's
/// executable name (`bootgate-render-<format>`) and appears in URLs and logs unquoted.
public enum FormatName {
    /// Longest accepted name, the length of a DNS label, so names stay readable in listings.
    public static let maxLength = 63

    public static func isValid(_ name: String) -> Bool {
        guard !name.isEmpty, name.utf8.count <= maxLength else { return false }
        return name.utf8.allSatisfy { byte in
            (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
                || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
                || byte == UInt8(ascii: "-")
        }
    }
}
