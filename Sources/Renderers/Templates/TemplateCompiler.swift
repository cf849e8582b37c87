/// Turns template content into `CompiledTemplate` nodes, reading it as swift-mustache 2.1.1
/// reads `"{{% CONTENT_TYPE: TEXT }}\n" + content` (the pragma line only makes the content
/// start on a fresh line).
///
/// It reads Characters, as swift-mustache does, so grapheme clusters and `\r\n` split the text
/// exactly where they split it there. Its whitespace rules, including the ones the mustache
/// spec does not have, are:
/// - Blanks (space, tab) opening a line are held back. A section, inverted-section, closing or
///   comment tag with nothing but those blanks before it on its line (the line "starts"), and
///   nothing but blanks and one line break (any `Character.isNewline`, also a lone `\r`) or the
///   end of the content after it, is standalone: the blanks, the tag and that break vanish.
/// - The text itself breaks lines only at `\n` and `\r\n`.
/// - After a section, the enclosing text "starts a line" when the section's opening tag was
///   standalone, whatever its closing tag was.
/// - A non-standalone comment leaves the held-back blanks held back: they are written before the
///   next text or variable, and lost if the content or section ends first. Blanks holding a whole
///   last line (no line break after them) are lost too.
/// - A line break right after `{{` ends the line there, the `{{` dropped and the rest read as text.
/// - A `{` as the content's last character is a syntax error.
///
/// Only the tags `TemplateEngine.analyse` accepts need to make sense here; anything else throws.
/// So does a tag `TemplateScanner` did not see where this reads one: a character joining a
/// brace into one grapheme (a combining mark after it, U+0600 before it) moves tag boundaries
/// for Characters but not for the byte-wise check, and a tag the check did not see is one whose
/// name nobody checked.
struct TemplateCompiler {
    typealias Node = CompiledTemplate.Node
    typealias Failure = TemplateScanner.Failure

    private let text: String
    private var position: String.Index
    /// Byte offsets of the `{{` of every tag the check saw.
    private let checkedTags: Set<Int>
    /// Where the `{{` of the tag being read starts.
    private var tagStart: String.Index

    static func compile(_ content: String) throws(Failure) -> [Node] {
        var compiler = TemplateCompiler(text: content, checkedTags: Set(TemplateScanner.scan(content).tags.map(\.offset)))
        return try compiler.block(closing: nil, startsLine: true, inNics: false)
    }

    private init(text: String, checkedTags: Set<Int>) {
        self.text = text
        self.checkedTags = checkedTags
        position = text.startIndex
        tagStart = text.startIndex
    }

    /// The whole content, or a section body up to and including its closing tag.
    private mutating func block(closing: String?, startsLine atStart: Bool, inNics: Bool) throws(Failure) -> [Node] {
        var out = NodeList(source: text)
        var startsLine = atStart
        var indent: Substring = ""
        while position < text.endIndex {
            if startsLine { indent = take { $0 == " " || $0 == "\t" } }
            let run = try textBeforeTag()
            if let newline = current, newline.isNewline {
                out.append(indent)
                out.append(run)
                out.append(text[position..<text.index(after: position)])
                advance()
                startsLine = true
                continue
            }
            if !run.isEmpty {
                out.append(indent)
                out.append(run)
                indent = ""
                startsLine = false
            }
            guard let sigil = current else { break }
            guard checkedTags.contains(text.utf8.distance(from: text.startIndex, to: tagStart)) else {
                throw failure(at: tagStart, "this tag is read differently from what the template check saw (a character joins one of its braces into one grapheme, such as a combining mark after a brace or U+0600 before one); remove that character")
            }
            switch sigil {
            case "#", "^":
                advance()
                let name = try tagName()
                let standalone = startsLine && finishesLine()
                if !standalone {
                    out.append(indent)
                    indent = ""
                }
                let section = CompiledTemplate.Section(subject: try subject(name, inNics: inNics, at: tagStart), inverted: sigil == "^")
                let repeatsNICs = section.subject == .nics && !section.inverted
                let body = try block(closing: name, startsLine: standalone, inNics: inNics || repeatsNICs)
                out.append(.section(section, body))
                startsLine = standalone
            case "/":
                advance()
                let name = try tagName()
                guard name == closing else { throw failure(at: tagStart, "`{{/\(name)}}` closes no open section") }
                if !(startsLine && finishesLine()) { out.append(indent) }
                return out.finish()
            case "!":
                advance()
                try skipComment()
                startsLine = startsLine && finishesLine()
            case ">", "<", "$", "=", "%":
                throw failure(at: position, "`{{\(sigil)…}}` tags are not supported")
            default:
                // `{{x}}`, `{{{x}}}` and `{{&x}}` are the same here: values are never HTML-escaped.
                out.append(indent)
                indent = ""
                let triple = sigil == "{"
                if triple || sigil == "&" { advance() }
                let name = try tagName()
                if triple {
                    guard current == "}" else { throw failure(at: position, "`{{{\(name)` is not closed with `}}}`") }
                    advance()
                }
                out.append(.value(try slot(name, inNics: inNics, at: tagStart)))
                startsLine = false
            }
        }
        if let closing { throw failure(at: position, "section `\(closing)` is never closed") }
        return out.finish()
    }

    // MARK: - Reading

    private var current: Character? { position < text.endIndex ? text[position] : nil }

    private mutating func advance() { position = text.index(after: position) }

    private mutating func take(while accepted: (Character) -> Bool) -> Substring {
        let start = position
        while let c = current, accepted(c) { advance() }
        return text[start..<position]
    }

    /// Text up to a `\n` or `\r\n` (left unread), up to `{{` (read, not returned), or to the end.
    private mutating func textBeforeTag() throws(Failure) -> Substring {
        let start = position
        while let c = current {
            if c == "\n" || c == "\r\n" { break }
            let here = position
            advance()
            guard c == "{" else { continue }
            guard let next = current else {
                throw failure(at: here, "a `{` as the last character cannot be read (it is taken for the start of a tag); end the file with a line break")
            }
            if next == "{" {
                advance()
                tagStart = here
                return text[start..<here]
            }
        }
        return text[start..<position]
    }

    /// After a tag: true, with the blanks and line break read, when only they or the end follow.
    private mutating func finishesLine() -> Bool {
        guard position < text.endIndex else { return true }
        var probe = position
        while probe < text.endIndex, text[probe] == " " || text[probe] == "\t" { probe = text.index(after: probe) }
        guard probe < text.endIndex, text[probe].isNewline else { return false }
        position = text.index(after: probe)
        return true
    }

    /// The name of a tag and its closing `}}`, blanks around the name allowed.
    private mutating func tagName() throws(Failure) -> String {
        _ = take(while: \.isWhitespace)
        let name = take { Self.nameCharacters.contains($0) }
        _ = take(while: \.isWhitespace)
        guard try closeBraces() else { throw failure(at: position, "the tag `\(name)` is not closed with `}}` here") }
        return String(name)
    }

    private mutating func skipComment() throws(Failure) {
        let start = position
        while current != nil {
            if try closeBraces() { return }
            advance()
        }
        throw failure(at: start, "comment is never closed with `}}`")
    }

    /// Reads `}}` if it comes next. Fewer than two Characters left is an error, as there.
    private mutating func closeBraces() throws(Failure) -> Bool {
        guard position < text.endIndex, text.index(after: position) < text.endIndex else {
            throw failure(at: position, "a tag is not closed with `}}`")
        }
        let second = text.index(after: position)
        guard text[position] == "}", text[second] == "}" else { return false }
        position = text.index(after: second)
        return true
    }

    /// What swift-mustache reads as a name; `analyse` narrows it to the names that exist.
    private static let nameCharacters = Set<Character>("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-_?()*")

    // MARK: - Names

    private func subject(_ name: String, inNics: Bool, at index: String.Index) throws(Failure) -> CompiledTemplate.Section.Subject {
        switch TemplateEngine.resolve(name, inNics: inNics) {
        case .nics?: return .nics
        case .iso?: return .iso
        case .scalar?, nil: return .slot(try slot(name, inNics: inNics, at: index))
        }
    }

    private func slot(_ name: String, inNics: Bool, at index: String.Index) throws(Failure) -> TemplateSlot {
        guard case .scalar(let reference)? = TemplateEngine.resolve(name, inNics: inNics), let slot = TemplateSlot(reference: reference) else {
            // Once analysis accepted the content, only sections read differently from what it
            // saw (see above) get here.
            throw failure(at: index, "`\(name)` is not a variable here: the tags around it read differently from what the template check saw (a character joins a brace into one grapheme?)")
        }
        return slot
    }

    private func failure(at index: String.Index, _ message: String) -> Failure {
        // Lines as swift-mustache counts them: every Character that is a line break.
        let line = text[..<index].reduce(1) { $1.isNewline ? $0 + 1 : $0 }
        return Failure(line: line, message: "template syntax error: \(message)")
    }
}

/// Nodes of one level, with adjacent text merged into one literal run, and where that run is
/// in the content when it is one piece of it (text left out around standalone tags splits it).
private struct NodeList {
    let source: String
    private var nodes: [CompiledTemplate.Node] = []
    private var pending: [UInt8] = []
    /// UTF-8 offsets of `pending` in `source`; nil once it is not one contiguous piece.
    private var pendingRange: Range<Int>?

    init(source: String) { self.source = source }

    mutating func append(_ text: Substring) {
        guard !text.isEmpty else { return }
        let start = source.utf8.distance(from: source.startIndex, to: text.startIndex)
        let end = start + text.utf8.count
        if pending.isEmpty {
            pendingRange = start..<end
        } else if let range = pendingRange, range.upperBound == start {
            pendingRange = range.lowerBound..<end
        } else {
            pendingRange = nil
        }
        pending.append(contentsOf: text.utf8)
    }

    mutating func append(_ node: CompiledTemplate.Node) {
        flush()
        nodes.append(node)
    }

    mutating func finish() -> [CompiledTemplate.Node] {
        flush()
        return nodes
    }

    private mutating func flush() {
        guard !pending.isEmpty else { return }
        nodes.append(.literal(pending, source: pendingRange))
        pending = []
        pendingRange = nil
    }
}
