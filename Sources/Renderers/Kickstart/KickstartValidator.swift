/// Structural validation of a Fedora kickstart, with line numbers: known commands, sections
/// closed by `%end` and not nested, single-use commands used once, conflicting commands.
///
/// It reads lines the way pykickstart's parser does (shell-like words, `#` comments, sections
/// ended by `%end` or broken by the next section header). It does not check command options:
/// ksvalidator (test-only) does that and agrees with it on the cases below.
struct KickstartValidator {
    let file: String
    private(set) var diagnostics: [Diagnostic] = []

    init(file: String) { self.file = file }

    static func validate(file: String, text: String) -> [Diagnostic] {
        var validator = KickstartValidator(file: file)
        validator.run(text)
        return validator.diagnostics
    }

    private mutating func error(_ line: Int, _ message: String) {
        diagnostics.append(Diagnostic(file: file, line: line, message: message))
    }

    private mutating func warning(_ line: Int, _ message: String) {
        diagnostics.append(Diagnostic(.warning, file: file, line: line, message: message))
    }

    private mutating func run(_ text: String) {
        var openSection: (name: String, line: Int)?
        var firstUse: [String: Int] = [:]
        var used: [String: Int] = [:]
        var lineNumber = 0

        for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            var line = Substring(raw)
            if line.hasSuffix("\r") { line = line.dropLast() }
            let trimmed = line.drop { $0 == " " || $0 == "\t" }

            if let section = openSection {
                // Inside a section only lines starting with % matter, and only known headers,
                // %end and %include: a script may print "%s" at the start of a line.
                guard trimmed.hasPrefix("%") else { continue }
                let first = String(trimmed.prefix { $0 != " " && $0 != "\t" })
                if first == "%end" {
                    openSection = nil
                } else if first == "%include" || first == "%ksappend" {
                    include(Array(trimmed.split(separator: " ").map(String.init)), line: lineNumber)
                } else if KickstartSyntax.sections.contains(first) {
                    error(section.line, "section \(section.name) is not closed with %end before \(first) on line \(lineNumber)")
                    openSection = (first, lineNumber)
                    sectionHeader(first, line: lineNumber)
                }
                continue
            }

            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            let words: [String]
            switch Self.words(trimmed) {
            case .success(let w): words = w
            case .failure(let failure):
                error(lineNumber, failure.message)
                continue
            }
            guard let command = words.first else { continue }

            if command.hasPrefix("%") {
                switch command {
                case "%end":
                    error(lineNumber, "%end without an open section")
                case "%include", "%ksappend":
                    include(words, line: lineNumber)
                case _ where KickstartSyntax.sections.contains(command):
                    openSection = (command, lineNumber)
                    sectionHeader(command, line: lineNumber)
                default:
                    error(lineNumber, "unknown section \(command); known: \(KickstartSyntax.sections.sorted().joined(separator: ", "))")
                    // Read on as pykickstart does: the unknown section still ends at its %end.
                    openSection = (command, lineNumber)
                }
                continue
            }

            if KickstartSyntax.removed.contains(command) {
                error(lineNumber, "\(command) has been removed from kickstart (Fedora 43)")
                continue
            }
            if KickstartSyntax.deprecated.contains(command) {
                error(lineNumber, "\(command) is deprecated and has no effect in Fedora 43; remove it")
                continue
            }
            guard KickstartSyntax.commands.contains(command) else {
                error(lineNumber, "unknown command \(command)")
                continue
            }
            if !KickstartSyntax.repeatable.contains(command) {
                let family = KickstartSyntax.family(of: command)
                if let first = firstUse[family] {
                    let what = family.contains("/") ? "only one of \(family) may be used" : "\(command) may be used only once"
                    error(lineNumber, "\(what) (first on line \(first))")
                } else {
                    firstUse[family] = lineNumber
                }
            }
            for other in KickstartSyntax.conflicting(with: command) {
                if let otherLine = used[other] {
                    error(lineNumber, "\(command) cannot be used with \(other) (line \(otherLine))")
                    break
                }
            }
            if used[command] == nil { used[command] = lineNumber }
        }
        if let section = openSection {
            error(section.line, "section \(section.name) is not closed with %end")
        }
    }

    private mutating func sectionHeader(_ name: String, line: Int) {
        if let advice = KickstartSyntax.deprecatedSections[name] {
            warning(line, "\(name) is deprecated; \(advice)")
        }
    }

    private mutating func include(_ words: [String], line: Int) {
        guard words.count >= 2, !words[1].isEmpty else {
            return error(line, "\(words.first ?? "%include") needs a file name")
        }
        warning(line, "\(words[0]) \(words[1]) is read by the installer at install time; its content is not validated here")
    }

    struct WordError: Error { var message: String }

    /// Splits a line like Python's `shlex.split(line, comments=True)`, which pykickstart uses.
    static func words(_ line: Substring) -> Result<[String], WordError> {
        var words: [String] = []
        var current = ""
        var inWord = false
        var iterator = line.makeIterator()
        while let c = iterator.next() {
            switch c {
            case " ", "\t":
                if inWord { words.append(current); current = ""; inWord = false }
            case "#" where !inWord:
                if inWord { words.append(current) }
                return .success(words)
            case "'":
                inWord = true
                var closed = false
                while let q = iterator.next() {
                    if q == "'" { closed = true; break }
                    current.append(q)
                }
                if !closed { return .failure(WordError(message: "no closing quotation (')")) }
            case "\"":
                inWord = true
                var closed = false
                while let q = iterator.next() {
                    if q == "\"" { closed = true; break }
                    if q == "\\" {
                        guard let next = iterator.next() else { break }
                        if !"\\\"$`".contains(next) { current.append("\\") }
                        current.append(next)
                        continue
                    }
                    current.append(q)
                }
                if !closed { return .failure(WordError(message: "no closing quotation (\")")) }
            case "\\":
                guard let next = iterator.next() else { return .failure(WordError(message: "a line cannot end with a backslash")) }
                inWord = true
                current.append(next)
            default:
                inWord = true
                current.append(c)
            }
        }
        if inWord { words.append(current) }
        return .success(words)
    }
}
