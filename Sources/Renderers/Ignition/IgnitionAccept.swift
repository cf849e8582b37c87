/// Reads the Ignition spec version a client advertises in its `Accept` header.
///
/// Ignition asks with `Accept: application/vnd.coreos.ignition+json;version=3.6.0, */*;q=0.1`
/// (the newest spec it parses); Ignition 2.x advertises `version=2.4.0`. A config newer than that
/// cannot be parsed by the client, so it gets 406 with a reason instead of a config it rejects.
enum IgnitionAccept {
    static let mediaType = "application/vnd.coreos.ignition+json"

    /// Installers of one image all send the same header: each distinct one is parsed once.
    private static let parsed = BoundedCache<String, IgnitionSpec.Version?>(capacity: 64)

    /// The highest version advertised for the Ignition media type, nil when none is advertised.
    static func maxVersion(_ accept: String?) -> IgnitionSpec.Version? {
        guard let accept else { return nil }
        if let hit = parsed[accept] { return hit }
        let version = parse(accept)
        parsed.store(version, for: accept)
        return version
    }

    static func parse(_ accept: String) -> IgnitionSpec.Version? {
        var best: IgnitionSpec.Version?
        for range in accept.split(separator: ",") {
            let parts = range.split(separator: ";").map { trim($0) }
            guard let type = parts.first, type.lowercased() == mediaType else { continue }
            var version: IgnitionSpec.Version?
            var quality = 1.0
            for parameter in parts.dropFirst() {
                let pair = parameter.split(separator: "=", maxSplits: 1).map { trim($0) }
                guard pair.count == 2 else { continue }
                let value = pair[1].trimmingQuotes
                switch pair[0].lowercased() {
                case "version": version = lenientVersion(value)
                case "q": quality = Double(value) ?? 1.0
                default: break
                }
            }
            guard let version, quality > 0 else { continue }
            if best.map({ version > $0 }) ?? true { best = version }
        }
        return best
    }

    /// `3.6.0`, `2.4`, `1` and `3.6.0-experimental` (as 3.6.0 minus a hair: its numeric part
    /// with patch lowered, since an experimental spec precedes its release).
    static func lenientVersion(_ text: String) -> IgnitionSpec.Version? {
        let core = text.split(separator: "-", maxSplits: 1).first.map(String.init) ?? text
        let numbers = core.split(separator: ".").map { Int($0) }
        guard !numbers.isEmpty, numbers.count <= 3, numbers.allSatisfy({ $0 != nil }) else { return nil }
        let values = numbers.compactMap { $0 } + Array(repeating: 0, count: 3 - numbers.count)
        var version = IgnitionSpec.Version(major: values[0], minor: values[1], patch: values[2])
        if core != text {
            // Pre-release: accept only what is strictly older than the release.
            if version.patch > 0 {
                version.patch -= 1
            } else if version.minor > 0 {
                version.minor -= 1
                version.patch = Int.max
            } else {
                return nil
            }
        }
        return version
    }

    private static func trim(_ s: Substring) -> String {
        String(s.drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
    }
}

extension String {
    fileprivate var trimmingQuotes: String {
        count >= 2 && hasPrefix("\"") && hasSuffix("\"") ? String(dropFirst().dropLast()) : self
    }
}
