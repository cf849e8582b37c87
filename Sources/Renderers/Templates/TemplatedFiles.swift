/// The write-time check every text format shares: each file's templates are checked; the
/// files of the format are then validated as written, or, when templated, as rendered with
/// `RenderContext.sample` (findings then say so, since lines refer to that rendering).
public enum TemplatedFiles {
    public static func validate(_ files: [String: String], escaping: TemplateEscaping, isFormatFile: (String) -> Bool,
                                validator: (_ file: String, _ text: String) -> [Diagnostic]) -> [Diagnostic] {
        var diagnostics: [Diagnostic] = []
        for name in files.keys.sorted() {
            let content = files[name] ?? ""
            let templateFindings = TemplateEngine.check(file: name, content: content)
            diagnostics += templateFindings
            // Broken templates make a sample rendering meaningless: report them alone.
            guard isFormatFile(name), !templateFindings.hasErrors else { continue }
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
}
