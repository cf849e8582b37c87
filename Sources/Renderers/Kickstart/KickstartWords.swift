/// Splits a kickstart line into words like Python's `shlex.split(line, comments=True)`, which
/// pykickstart (and so the installer) uses.
///
/// POSIX rules: blanks separate words; `'…'` keeps everything; in `"…"` a backslash escapes only
/// `"` and `\`; outside quotes a backslash escapes any character; and a `#` outside quotes starts
/// a comment even inside a word (`--url=http://x/#a` is read as `--url=http://x/`).
enum KickstartWords {
    struct Failure: Error, Sendable { var message: String }

    struct Split: Sendable, Equatable {
        var words: [String]
        /// Set when a `#` inside a word cut the line short: what was cut off.
        var cutAtHash: String?
    }

    static func split(_ line: Substring) -> Result<Split, Failure> {
        var words: [String] = []
        var current = ""
        var inWord = false
        var iterator = line.makeIterator()
        var consumed = line.startIndex
        func advance(_ c: Character) { consumed = line.index(consumed, offsetBy: 1, limitedBy: line.endIndex) ?? line.endIndex }
        while let c = iterator.next() {
            advance(c)
            switch c {
            case " ", "\t", "\r", "\n", "\r\n":
                if inWord { words.append(current); current = ""; inWord = false }
            case "#":
                let cut = inWord ? String(line[line.index(before: consumed)...]) : nil
                if inWord { words.append(current) }
                return .success(Split(words: words, cutAtHash: cut))
            case "'":
                inWord = true
                var closed = false
                while let q = iterator.next() {
                    advance(q)
                    if q == "'" { closed = true; break }
                    current.append(q)
                }
                if !closed { return .failure(Failure(message: "no closing quotation (')")) }
            case "\"":
                inWord = true
                var closed = false
                while let q = iterator.next() {
                    advance(q)
                    if q == "\"" { closed = true; break }
                    if q == "\\" {
                        guard let next = iterator.next() else { break }
                        advance(next)
                        if next != "\"" && next != "\\" { current.append("\\") }
                        current.append(next)
                        continue
                    }
                    current.append(q)
                }
                if !closed { return .failure(Failure(message: "no closing quotation (\")")) }
            case "\\":
                guard let next = iterator.next() else { return .failure(Failure(message: "a line cannot end with a backslash")) }
                advance(next)
                inWord = true
                current.append(next)
            default:
                inWord = true
                current.append(c)
            }
        }
        if inWord { words.append(current) }
        return .success(Split(words: words, cutAtHash: nil))
    }
}
