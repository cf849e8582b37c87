/// Validates a Fedora kickstart as deeply as pykickstart's `ksvalidator`, with line numbers and
/// every problem of the file reported at once: known commands, each command's options, values
/// and arguments (`KickstartSyntax`, read by `KickstartArguments`), sections closed by `%end`,
/// their header options, conflicting commands, and things defined twice.
///
/// It reads lines the way pykickstart's parser does (shlex words, `#` comments, sections ended by
/// `%end` or broken by the next section header). Where it is stricter than ksvalidator on
/// purpose (a single-use command used twice, an unknown `volgroup` option) the tests say so.
struct KickstartValidator {
    let file: String
    private(set) var diagnostics: [Diagnostic] = []

    private var openSection: (name: String, line: Int)?
    private var sectionHasContent = false
    private var firstUse: [String: Int] = [:]
    private var used: [String: Int] = [:]
    /// Family + identity (e.g. `user` + name) → the line that defined it.
    private var defined: [String: Int] = [:]

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
        // ksvalidator refuses a file of blanks ("Empty file"); the installer would have nothing to do.
        if text.allSatisfy(\.isWhitespace) {
            return error(1, "the kickstart is empty")
        }
        var lineNumber = 0
        for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            var line = Substring(raw)
            if line.hasSuffix("\r") { line = line.dropLast() }
            if openSection != nil {
                sectionLine(line, number: lineNumber)
            } else {
                commandLine(line, number: lineNumber)
            }
        }
        if let section = openSection {
            error(section.line, "section \(section.name) is not closed with %end")
        }
    }

    // MARK: - Sections

    private mutating func sectionLine(_ line: Substring, number: Int) {
        guard let section = openSection else { return }
        let trimmed = line.drop { $0 == " " || $0 == "\t" }
        // Inside a section only lines starting with % matter, and only known headers, %end and
        // %include: a script may print "%s" at the start of a line.
        if trimmed.hasPrefix("%") {
            let first = String(trimmed.prefix { $0 != " " && $0 != "\t" })
            if first == "%end" {
                closeSection(at: number)
                return
            }
            if first == "%include" || first == "%ksappend" {
                include(trimmed.split(separator: " ").map(String.init), line: number)
                return
            }
            if KickstartSyntax.sections[first] != nil {
                error(section.line, "section \(section.name) is not closed with %end before \(first) on line \(number)")
                closeSection(at: number)
                commandLine(line, number: number)
                return
            }
        }
        sectionBody(trimmed, section: section.name, line: number)
    }

    private mutating func sectionBody(_ trimmed: Substring, section: String, line: Int) {
        let isBlank = trimmed.allSatisfy(\.isWhitespace)
        if !isBlank { sectionHasContent = true }
        guard section == "%packages", !isBlank, !trimmed.hasPrefix("#") else { return }
        // What pykickstart's package list refuses; names themselves are the repositories' business.
        let entry = (trimmed.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? "").trimmingCharacters()
        if entry == "-" {
            error(line, "%packages: a lone - names nothing to exclude")
        } else if entry.hasPrefix("@"), !entry.hasPrefix("@^") {
            let words = entry.split(whereSeparator: { $0 == " " || $0 == "\t" })
            if words.contains("--nodefaults"), words.contains("--optional") {
                error(line, "%packages: a group cannot take both --nodefaults and --optional")
            }
        }
    }

    private mutating func closeSection(at line: Int) {
        if openSection?.name == "%certificate", !sectionHasContent {
            error(openSection?.line ?? line, "%certificate: the section holds no certificate")
        }
        openSection = nil
    }

    private mutating func sectionHeader(_ words: [String], line: Int) {
        let name = words[0]
        openSection = (name, line)
        sectionHasContent = false
        guard let spec = KickstartSyntax.sections[name] else { return }
        if let advice = KickstartSyntax.deprecatedSections[name] {
            error(line, "\(name) is deprecated (ksvalidator refuses it); \(advice)")
        }
        guard spec.reading == .options else { return }
        report(KickstartArguments.read(Array(words.dropFirst()), spec: spec), spec: spec, line: line)
    }

    // MARK: - Commands

    private mutating func commandLine(_ line: Substring, number: Int) {
        let trimmed = line.drop { $0 == " " || $0 == "\t" }
        if trimmed.isEmpty || trimmed.hasPrefix("#") || trimmed.allSatisfy(\.isWhitespace) { return }
        let split: KickstartWords.Split
        switch KickstartWords.split(trimmed) {
        case .success(let s): split = s
        case .failure(let failure):
            return error(number, failure.message)
        }
        if let cut = split.cutAtHash {
            warning(number, "`\(cut)` is a comment to the installer (a # outside quotes starts one, even inside a word); quote the value if the # belongs to it")
        }
        guard let command = split.words.first else { return }
        if command.hasPrefix("%") { return percentLine(split.words, line: number) }

        if let advice = KickstartSyntax.removed[command] {
            return error(number, "\(command) has been removed from kickstart (\(KickstartSyntax.fedoraRelease)); \(advice)")
        }
        if let advice = KickstartSyntax.deprecated[command] {
            return error(number, "\(command) is deprecated and has no effect in \(KickstartSyntax.fedoraRelease) (ksvalidator refuses it); \(advice)")
        }
        guard let spec = KickstartSyntax.commands[command] else {
            let near = KickstartArguments.closest(to: command, in: Array(KickstartSyntax.commands.keys)).map { "; did you mean \($0)?" } ?? ""
            return error(number, "unknown command \(command)\(near)")
        }
        let family = KickstartSyntax.family(of: command)
        if !spec.repeatable {
            if let first = firstUse[family] {
                let what = family.contains("/") ? "only one of \(family) may be used" : "\(command) may be used only once"
                error(number, "\(what) (first on line \(first))")
            } else {
                firstUse[family] = number
            }
        }
        for other in KickstartSyntax.conflicting(with: command) {
            if let otherLine = used[other] {
                error(number, "\(command) cannot be used with \(other) (line \(otherLine))")
                break
            }
        }
        if used[command] == nil { used[command] = number }

        let arguments = Array(split.words.dropFirst())
        switch spec.reading {
        case .anything:
            return
        case .realm:
            for problem in KickstartRealm.problems(arguments) { error(number, "realm: \(problem)") }
        case .options:
            let read = KickstartArguments.read(arguments, spec: spec)
            report(read, spec: spec, line: number)
            if read.errors.isEmpty { checkDefinedOnce(read.invocation, spec: spec, family: family, line: number) }
        }
    }

    private mutating func percentLine(_ words: [String], line: Int) {
        let command = words[0]
        switch command {
        case "%end":
            error(line, "%end without an open section")
        case "%include", "%ksappend":
            include(words, line: line)
        case _ where KickstartSyntax.sections[command] != nil:
            sectionHeader(words, line: line)
        default:
            let near = KickstartArguments.closest(to: command, in: Array(KickstartSyntax.sections.keys)).map { "did you mean \($0)? " } ?? ""
            error(line, "unknown section \(command); \(near)known: \(KickstartSyntax.sections.keys.sorted().joined(separator: ", "))")
            // Read on as pykickstart does: the unknown section still ends at its %end.
            openSection = (command, line)
            sectionHasContent = false
        }
    }

    private mutating func report(_ read: KickstartArguments, spec: KickstartCommandSpec, line: Int) {
        for message in read.errors { error(line, "\(spec.name): \(message)") }
        for message in read.warnings { warning(line, "\(spec.name): \(message)") }
    }

    /// pykickstart refuses a second user of the same name, a second partition on the same mount
    /// point, and so on (a warning it turns into an error in ksvalidator).
    private mutating func checkDefinedOnce(_ invocation: KickstartInvocation, spec: KickstartCommandSpec, family: String, line: Int) {
        guard let identify = spec.identity, let identity = identify(invocation) else { return }
        let key = family + "\u{0}" + identity
        if let first = defined[key] {
            let shown = identity.isEmpty ? "(no name)" : identity
            error(line, "\(spec.name): a \(spec.identityNoun) \(shown) is already defined on line \(first)")
        } else {
            defined[key] = line
        }
    }

    private mutating func include(_ words: [String], line: Int) {
        guard words.count >= 2, !words[1].isEmpty else {
            return error(line, "\(words.first ?? "%include") needs a file name")
        }
        warning(line, "\(words[0]) \(words[1]) is read by the installer at install time; its content is not validated here")
    }
}

extension Substring {
    fileprivate func trimmingCharacters() -> String { String(self).trimmingWhitespace() }
}
