/// A stand-in rendering of a template that has errors, so the format's own checks (kickstart
/// commands, JSON syntax, the Ignition schema) can still report in the same round instead of
/// waiting for the template to be fixed.
///
/// Every tag the scanner read is replaced: a known variable by its sample value, an unknown
/// one by the sample value of the name it is a typo of (else `sample`), so a misspelt URL
/// variable still stands for a URL; section and comment tags by nothing (a section's body is kept once). Line
/// breaks inside a tag are kept, so lines keep their numbers. A `{{` that is never closed makes
/// the rest of the file unreadable as a template: then there is no stand-in (nil).
enum PlaceholderRendering {
    static let placeholder = "sample"

    static func render(_ content: String, escaping: TemplateEscaping) -> String? {
        let (tags, errors) = TemplateScanner.scan(content)
        if errors.contains(where: { $0.message.contains("never closed") }) { return nil }
        let bytes = Array(content.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var position = 0
        for tag in tags {
            guard tag.offset >= position, let end = tagEnd(bytes, from: tag.offset) else { return nil }
            out += bytes[position..<tag.offset]
            if tag.kind == .variable {
                let value = sampleValue(tag.name)
                out += Array((escaping == .jsonString ? TemplateEngine.jsonEscape(value) : value).utf8)
            }
            out += bytes[tag.offset..<end].filter { $0 == UInt8(ascii: "\n") }
            position = end
        }
        out += bytes[position...]
        return String(decoding: out, as: UTF8.self)
    }

    /// The sample value of a variable name (NIC fields allowed anywhere) or of the known name
    /// within a few edits of it, else the placeholder.
    private static func sampleValue(_ name: String) -> String {
        let known = TemplateEngine.resolve(name, inNics: true) != nil ? name
            : TemplateEngine.scalarNames.map { ($0, TemplateEngine.editDistance($0, name)) }.filter { $0.1 <= 3 }.min { $0.1 < $1.1 }?.0
        guard let known, case .scalar(let reference)? = TemplateEngine.resolve(known, inNics: true),
              let value = TemplateEngine.values(of: reference, in: .sample).first, !value.isEmpty else { return placeholder }
        return value
    }

    /// The offset just past the tag starting at `start` (`}}}` for a triple tag, else `}}`).
    private static func tagEnd(_ bytes: [UInt8], from start: Int) -> Int? {
        let brace = UInt8(ascii: "{"), close = UInt8(ascii: "}")
        let triple = start + 2 < bytes.count && bytes[start + 2] == brace
        let width = triple ? 3 : 2
        var index = start + width
        while index + width <= bytes.count {
            if bytes[index..<(index + width)].allSatisfy({ $0 == close }) { return index + width }
            index += 1
        }
        return nil
    }
}
