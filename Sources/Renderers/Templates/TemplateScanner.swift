/// Reads the `{{…}}` tags of a boot config with their line numbers.
///
/// `TemplateCompiler` reads templates for rendering, but stops at the first error without
/// knowing which names exist. This scanner sees every tag, so `check` can report each unknown
/// name and each misuse on its own line.
struct TemplateScanner {
    struct Tag: Sendable, Hashable {
        enum Kind: Sendable, Hashable {
            case variable, sectionOpen, invertedOpen, sectionClose, comment, unsupported(String)
        }
        var kind: Kind
        /// The name between the braces, trimmed (empty for comments).
        var name: String
        var line: Int
        /// Byte offset of its `{{` in the content.
        var offset: Int
    }

    struct Failure: Error, Sendable {
        var line: Int
        var message: String
    }

    /// Every tag in order, and the syntax errors that prevented reading some of them.
    static func scan(_ content: String) -> (tags: [Tag], errors: [Failure]) {
        var tags: [Tag] = []
        var errors: [Failure] = []
        let bytes = Array(content.utf8)
        var index = 0
        var line = 1
        let open = UInt8(ascii: "{"), close = UInt8(ascii: "}"), newline = UInt8(ascii: "\n")

        func starts(_ seq: [UInt8], at i: Int) -> Bool {
            guard i + seq.count <= bytes.count else { return false }
            for k in 0..<seq.count where bytes[i + k] != seq[k] { return false }
            return true
        }

        while index < bytes.count {
            let byte = bytes[index]
            if byte == newline {
                line += 1
                index += 1
                continue
            }
            guard byte == open, starts([open, open], at: index) else {
                index += 1
                continue
            }
            let tagLine = line, tagStart = index
            // Triple braces are mustache's unescaped form: same meaning here, since we never HTML-escape.
            let triple = starts([open, open, open], at: index)
            let bodyStart = index + (triple ? 3 : 2)
            let terminator: [UInt8] = triple ? [close, close, close] : [close, close]
            var end = bodyStart
            var bodyLines = 0
            while end < bytes.count, !starts(terminator, at: end) {
                if bytes[end] == newline { bodyLines += 1 }
                end += 1
            }
            guard end < bytes.count else {
                errors.append(Failure(line: tagLine, message: "`\(triple ? "{{{" : "{{")` is never closed with `\(triple ? "}}}" : "}}")`"))
                return (tags, errors)
            }
            let body = String(decoding: bytes[bodyStart..<end], as: UTF8.self)
            line += bodyLines
            index = end + terminator.count
            if triple {
                tags.append(Tag(kind: .variable, name: trim(body), line: tagLine, offset: tagStart))
                continue
            }
            guard let sigil = body.first else {
                errors.append(Failure(line: tagLine, message: "empty tag `{{}}`"))
                continue
            }
            let rest = trim(String(body.dropFirst()))
            switch sigil {
            case "#": tags.append(Tag(kind: .sectionOpen, name: rest, line: tagLine, offset: tagStart))
            case "^": tags.append(Tag(kind: .invertedOpen, name: rest, line: tagLine, offset: tagStart))
            case "/": tags.append(Tag(kind: .sectionClose, name: rest, line: tagLine, offset: tagStart))
            case "!": tags.append(Tag(kind: .comment, name: "", line: tagLine, offset: tagStart))
            case "&": tags.append(Tag(kind: .variable, name: rest, line: tagLine, offset: tagStart))
            case ">", "<", "$":
                tags.append(Tag(kind: .unsupported("partials and template inheritance (`{{\(sigil)…}}`) are not supported"), name: rest, line: tagLine, offset: tagStart))
            case "=":
                tags.append(Tag(kind: .unsupported("changing delimiters (`{{=…=}}`) is not supported"), name: rest, line: tagLine, offset: tagStart))
            case "%":
                tags.append(Tag(kind: .unsupported("pragmas (`{{%…}}`) are not supported"), name: rest, line: tagLine, offset: tagStart))
            default:
                tags.append(Tag(kind: .variable, name: trim(body), line: tagLine, offset: tagStart))
            }
        }
        // The compiler (like swift-mustache) takes a last `{` for the start of a tag and refuses
        // it: said here, so a config is refused when written rather than when a machine boots.
        if content.last == "{" {
            errors.append(Failure(line: line, message: "a `{` as the last character cannot be read (it is taken for the start of a tag); end the file with a line break"))
        }
        return (tags, errors)
    }

    static func trim(_ s: String) -> String {
        var sub = Substring(s)
        while let first = sub.first, first.isWhitespace { sub = sub.dropFirst() }
        while let last = sub.last, last.isWhitespace { sub = sub.dropLast() }
        return String(sub)
    }
}
