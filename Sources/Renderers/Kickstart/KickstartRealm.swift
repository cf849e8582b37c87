/// Checks `realm join [options] REALM`, which pykickstart reads with Python's `getopt` (not
/// its option parser): options come before the realm, long options may be shortened to a unique
/// prefix, and the one realm name ends the options.
enum KickstartRealm {
    /// Options `realm join` accepts, and whether each takes a value.
    static let options: [(name: String, takesValue: Bool)] = [
        ("client-software", true), ("server-software", true), ("membership-software", true),
        ("one-time-password", true), ("no-password", false), ("computer-ou", true),
    ]

    /// What is wrong with the words after `realm`, or nil.
    static func problems(_ words: [String]) -> [String] {
        guard let subcommand = words.first else { return ["needs a subcommand: realm join [options] REALM"] }
        guard subcommand == "join" else { return ["only realm join is supported, found realm \(subcommand)"] }
        var rest = Array(words.dropFirst())
        var problems: [String] = []
        while let word = rest.first, word.hasPrefix("-"), word != "-" {
            rest.removeFirst()
            if word == "--" { break }
            guard word.hasPrefix("--") else {
                problems.append("option \(word) is not known to realm join")
                continue
            }
            let body = word.dropFirst(2)
            let name = body.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)[0]
            let hasValue = body.contains("=")
            if let exact = options.first(where: { $0.name == name }) {
                if let problem = check(exact, hasValue: hasValue, rest: &rest) { problems.append(problem) }
                continue
            }
            let matches = options.filter { $0.name.hasPrefix(name) }
            if matches.count == 1, let match = matches.first {
                if let problem = check(match, hasValue: hasValue, rest: &rest) { problems.append(problem) }
            } else {
                problems.append(matches.isEmpty ? "option --\(name) is not known to realm join; known: \(options.map { "--" + $0.name }.joined(separator: ", "))"
                                                : "option --\(name) is ambiguous: it could be \(matches.map { "--" + $0.name }.joined(separator: ", "))")
            }
        }
        if rest.count != 1 {
            problems.append(rest.isEmpty ? "realm join needs the realm to join" : "realm join takes one realm after its options; found \(rest.joined(separator: " "))")
        }
        return problems
    }

    private static func check(_ option: (name: String, takesValue: Bool), hasValue: Bool, rest: inout [String]) -> String? {
        if option.takesValue, !hasValue {
            guard !rest.isEmpty else { return "option --\(option.name) needs a value" }
            rest.removeFirst()
        }
        if !option.takesValue, hasValue { return "option --\(option.name) takes no value" }
        return nil
    }
}
