/// The write-time check every text format shares: each file's templates are checked; the
/// files of the format are then validated as written, or, when templated, as rendered with
/// `RenderContext.sample` (findings then say so, since lines refer to that rendering).
///
/// Every stage reports in the same round: when the template itself has errors, the format is
/// still checked on a stand-in rendering (`PlaceholderRendering`), leaving out what it finds on
/// the lines the template errors are on (the stand-in text there is a guess).
public enum TemplatedFiles {
    public static func validate(_ files: [String: String], escaping: TemplateEscaping, isFormatFile: (String) -> Bool,
                                validator: (_ file: String, _ text: String) -> [Diagnostic]) -> [Diagnostic] {
        var diagnostics: [Diagnostic] = []
        for name in files.keys.sorted() {
            let content = files[name] ?? ""
            let templateFindings = TemplateEngine.check(file: name, content: content)
            diagnostics += templateFindings
            guard isFormatFile(name) else { continue }
            if templateFindings.hasErrors {
                diagnostics += placeholderFindings(name, content, templateErrors: templateFindings, escaping: escaping, validator: validator)
                continue
            }
            guard TemplateEngine.isTemplate(content) else {
                diagnostics += validator(name, content)
                continue
            }
            do {
                let sample = try TemplateEngine.render(file: name, content: content, context: .sample, escaping: escaping)
                diagnostics += validator(name, sample).map { finding in
                    var finding = finding
                    finding.message += " (after filling templates with sample values)"
                    return finding
                }
            } catch {
                diagnostics += error.diagnostics
            }
        }
        return diagnostics
    }

    private static func placeholderFindings(_ name: String, _ content: String, templateErrors: [Diagnostic], escaping: TemplateEscaping,
                                            validator: (_ file: String, _ text: String) -> [Diagnostic]) -> [Diagnostic] {
        guard let standIn = PlaceholderRendering.render(content, escaping: escaping) else { return [] }
        let brokenLines = Set(templateErrors.compactMap(\.line))
        return validator(name, standIn).compactMap { finding in
            if let line = finding.line, brokenLines.contains(line) { return nil }
            var finding = finding
            finding.message += " (checked with sample values in place of the template's tags)"
            return finding
        }
    }
}
