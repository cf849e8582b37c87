/// Reads the words after a command the way pykickstart's option parser (Python's argparse,
/// as of Python 3.11) reads them, so a line means here what it means to the installer:
/// - `--opt value` and `--opt=value`; a flag given `=value` is an error;
/// - a unique prefix of an option's name stands for it (a warning here: write it in full), a
///   prefix of several is an error;
/// - a word starting with `-` is an option, unless it is `-` alone, a negative number or holds
///   a space; an option wanting a value cannot take such a word as it;
/// - after `--` every word is a positional argument.
/// Every problem of the line's words is reported, not the first only; the rules between
/// options (`KickstartRule`) run once the words themselves are right.
struct KickstartArguments {
    let spec: KickstartCommandSpec
    private(set) var invocation: KickstartInvocation
    private(set) var errors: [String] = []
    private(set) var warnings: [String] = []

    private init(spec: KickstartCommandSpec) {
        self.spec = spec
        invocation = KickstartInvocation(spec: spec)
    }

    /// Reads `words` (the command's own name excluded) and applies the command's checks.
    static func read(_ words: [String], spec: KickstartCommandSpec) -> KickstartArguments {
        var reader = KickstartArguments(spec: spec)
        reader.readWords(words)
        reader.checkRequiredAndRules()
        return reader
    }

    /// What a word is to argparse.
    private enum Word {
        case positional
        case option(name: String, option: KickstartOption, value: String?)
        case unknownOption
        case ambiguous([String])
    }

    private func classify(_ word: String) -> Word {
        guard word.hasPrefix("-"), word.count > 1 else { return .positional }
        if let option = spec.option(named: word) { return .option(name: word, option: option, value: nil) }
        var prefix = word
        var value: String?
        if let equals = word.firstIndex(of: "=") {
            prefix = String(word[..<equals])
            value = String(word[word.index(after: equals)...])
            if let option = spec.option(named: prefix) { return .option(name: prefix, option: option, value: value) }
        }
        if word.hasPrefix("--") {
            let matches = spec.options(startingWith: prefix)
            if matches.count > 1 { return .ambiguous(matches.map(\.name)) }
            if let match = matches.first { return .option(name: match.name, option: match.option, value: value) }
        }
        if Self.isNegativeNumber(word) || word.contains(" ") { return .positional }
        return .unknownOption
    }

    private mutating func readWords(_ words: [String]) {
        var index = 0
        var onlyPositionals = false
        var seen: Set<String> = []
        var afterOption = false
        while index < words.count {
            let word = words[index]
            index += 1
            if onlyPositionals { invocation.positionals.append(word); continue }
            if word == "--" { onlyPositionals = true; continue }
            switch classify(word) {
            case .positional:
                if afterOption, spec.positionals.oneRun, !invocation.positionals.isEmpty {
                    errors.append("\(Self.quoted(word)) is unexpected here: \(spec.positionals.what) must be written as one run of words, not split by options")
                }
                invocation.positionals.append(word)
                afterOption = false
            case .ambiguous(let names):
                errors.append("option \(word) is ambiguous: it could be \(names.joined(separator: ", "))")
            case .unknownOption:
                errors.append("option \(Self.optionName(word)) is not known" + suggestion(for: Self.optionName(word)))
                if spec.unknownOptions == .takenAsArgument {
                    // pykickstart reads it as one more argument; read on the same way.
                    invocation.positionals.append(word)
                }
            case .option(let name, let option, var value):
                afterOption = true
                let written = Self.optionName(word)
                if written != name, !option.names.contains(written) {
                    warnings.append("\(written) is read as \(name) (an abbreviation); write the option in full")
                }
                if let advice = option.deprecated {
                    errors.append("option \(name) is deprecated and ignored by the installer; \(advice)")
                }
                switch option.kind {
                case .flag:
                    if let value {
                        errors.append("option \(name) takes no value (found \(name)=\(value))")
                        continue
                    }
                    value = ""
                case .optionalValue:
                    if value == nil, index < words.count, case .positional = classify(words[index]), words[index] != "--" {
                        value = words[index]
                        index += 1
                    }
                default:
                    if value == nil {
                        guard index < words.count, words[index] != "--", case .positional = classify(words[index]) else {
                            errors.append("option \(name) needs a value (\(name)=VALUE)")
                            continue
                        }
                        value = words[index]
                        index += 1
                    }
                }
                let given = value ?? ""
                if let problem = Self.problem(with: given, of: option, writtenAs: name) { errors.append(problem) }
                if seen.contains(option.name), option.kind != .flag, invocation.values[option.name] != given {
                    warnings.append("option \(option.name) is given more than once; the installer uses the last one (\(given))")
                }
                seen.insert(option.name)
                invocation.values[option.name] = given
                invocation.order.append(option.name)
            }
        }
    }

    private mutating func checkRequiredAndRules() {
        for option in spec.options where option.required && !invocation.present(option.name) {
            errors.append("option \(option.name) is required")
        }
        let count = invocation.positionals.count
        let bounds = spec.positionals
        if count < bounds.min {
            errors.append(bounds.min == 1 || count == 0 ? "needs \(bounds.what)" : "needs \(bounds.what); found \(count) argument\(count == 1 ? "" : "s")")
        } else if let max = bounds.max, count > max {
            let extra = invocation.positionals.dropFirst(max).map(Self.quoted).joined(separator: " ")
            errors.append(max == 0 ? "takes no arguments; found \(extra)" : "takes \(max == 1 ? "one argument" : "\(max) arguments") (\(bounds.what)); unexpected: \(extra)")
        }
        guard errors.isEmpty else { return }
        for rule in spec.rules {
            if let problem = rule.check(invocation) { errors.append(problem) }
        }
    }

    // MARK: - Values

    static func problem(with value: String, of option: KickstartOption, writtenAs name: String) -> String? {
        switch option.kind {
        case .integer:
            return PythonInt.parse(value) == nil ? "option \(name) needs a whole number, found \(quoted(value))" : nil
        case .boolean:
            return boolean(value) == nil ? "option \(name) needs on/off, yes/no, true/false or 1/0, found \(quoted(value))" : nil
        case .choice(let choices, let caseInsensitive):
            let accepted = caseInsensitive ? choices.contains { $0.lowercased() == value.lowercased() } : choices.contains(value)
            guard !accepted else { return nil }
            let near = closest(to: value, in: choices).map { "; did you mean \($0)?" } ?? ""
            return "option \(name) does not accept \(quoted(value)); choose one of \(choices.joined(separator: ", "))\(near)"
        case .flag, .text, .list, .optionalValue:
            return nil
        }
    }

    /// pykickstart's `ksboolean`.
    static func boolean(_ value: String) -> Bool? {
        switch value.lowercased() {
        case "on", "yes", "true", "1": return true
        case "off", "no", "false", "0": return false
        default: return nil
        }
    }

    /// argparse's negative-number pattern: `-12`, `-.5`, `-1.5`.
    static func isNegativeNumber(_ word: String) -> Bool {
        let body = word.dropFirst()
        guard word.first == "-", !body.isEmpty else { return false }
        let parts = body.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        let digits: (Substring) -> Bool = { $0.allSatisfy { $0.isASCII && $0.isNumber } }
        if parts.count == 1 { return digits(parts[0]) }
        return digits(parts[0]) && !parts[1].isEmpty && digits(parts[1])
    }

    static func optionName(_ word: String) -> String {
        word.firstIndex(of: "=").map { String(word[..<$0]) } ?? word
    }

    static func quoted(_ word: String) -> String {
        word.isEmpty || word.contains(" ") ? "\"\(word)\"" : word
    }

    private func suggestion(for name: String) -> String {
        closest(to: name, in: spec.options.flatMap(\.names)).map { "; did you mean \($0)?" } ?? ""
    }

    /// The nearest of `candidates` within a few edits, for "did you mean".
    static func closest(to word: String, in candidates: [String]) -> String? {
        let lower = word.lowercased()
        let limit = max(1, min(3, word.count / 3))
        // The distance is at least the difference in length: a candidate further off than the
        // limit cannot be suggested, so its distance (the costly part) is never computed.
        var best: (name: String, distance: Int)?
        for candidate in candidates {
            let other = candidate.lowercased()
            if abs(other.count - lower.count) > limit { continue }
            let distance = TemplateEngine.editDistance(other, lower)
            if let b = best, b.distance < distance || (b.distance == distance && b.name < candidate) { continue }
            best = (candidate, distance)
        }
        guard let best, best.distance <= limit, best.distance < word.count else { return nil }
        return best.name
    }

    private func closest(to word: String, in candidates: [String]) -> String? { Self.closest(to: word, in: candidates) }
}
