/// Compiled templates by content, so a boot storm compiles each config once, not once per machine.
final class PreparedTemplates: Sendable {
    struct Prepared: Sendable {
        var template: CompiledTemplate
        /// Every value the template uses, with its line, for the check of `.none` escaping; nil
        /// when first prepared for escaped output (an Ignition file), which never reads it.
        var uses: [SlotUse]?
    }

    struct SlotUse: Sendable {
        var slot: TemplateSlot
        /// The name as diagnostics spell it (`host.nics[].mac`).
        var reference: String
        var line: Int
    }

    static let shared = PreparedTemplates(capacity: 1024)

    private let cache: ContentCache<Prepared>

    init(capacity: Int) { cache = ContentCache(capacity: capacity) }

    /// Analysis comes first: content it refuses is never compiled, and its diagnostics name the
    /// problem better than the compiler could.
    /// `needsUses` when rendering with `.none` escaping: the uses then come with the template.
    func prepared(file: String, content: String, needsUses: Bool) throws(RenderFailure) -> Prepared {
        var prepared = try prepare(file: file, content: content, keepingUses: needsUses)
        // Content kept for escaped output once and now rendered unescaped (rare): found again.
        if needsUses, prepared.uses == nil { prepared.uses = Self.uses(in: TemplateEngine.analyse(content)) }
        return prepared
    }

    private func prepare(file: String, content: String, keepingUses: Bool) throws(RenderFailure) -> Prepared {
        try cache.value(for: content) { () throws(RenderFailure) -> Prepared in
            let analysis = TemplateEngine.analyse(content)
            if !analysis.failures.isEmpty {
                throw RenderFailure(.invalid, analysis.failures.map { Diagnostic(file: file, line: $0.line, message: $0.message) })
            }
            let template: CompiledTemplate
            do throws(TemplateScanner.Failure) {
                template = try CompiledTemplate(content)
            } catch {
                throw RenderFailure(.invalid, [Diagnostic(file: file, line: error.line, message: error.message)])
            }
            return Prepared(template: template, uses: keepingUses ? Self.uses(in: analysis) : nil)
        }
    }

    private static func uses(in analysis: TemplateEngine.Analysis) -> [SlotUse] {
        analysis.uses.compactMap { use in
            TemplateSlot(reference: use.reference).map { SlotUse(slot: $0, reference: use.reference, line: use.line) }
        }.trimmed
    }
}
