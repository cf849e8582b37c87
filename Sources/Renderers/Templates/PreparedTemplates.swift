import Mustache
import Synchronization

/// Parsed templates by content, so a boot storm parses each config once, not once per machine.
final class PreparedTemplates: Sendable {
    struct Prepared: Sendable {
        var analysis: TemplateEngine.Analysis
        var template: MustacheTemplate
    }

    static let shared = PreparedTemplates(capacity: 1024)

    private let cache = Mutex<[String: Prepared]>([:])
    private let capacity: Int

    init(capacity: Int) { self.capacity = capacity }

    func prepared(file: String, content: String) throws(RenderFailure) -> Prepared {
        if let hit = cache.withLock({ $0[content] }) { return hit }
        let analysis = TemplateEngine.analyse(content)
        if !analysis.failures.isEmpty {
            throw RenderFailure(.invalid, analysis.failures.map { Diagnostic(file: file, line: $0.line, message: $0.message) })
        }
        // The pragma on its own line switches swift-mustache from HTML to plain text; being a
        // standalone tag, the line it sits on is dropped from the output.
        let template: MustacheTemplate
        do {
            template = try MustacheTemplate(string: "{{% CONTENT_TYPE: TEXT }}\n" + content)
        } catch {
            throw RenderFailure(.invalid, [Diagnostic(file: file, line: TemplateEngine.parserLine(error).map { max(1, $0 - 1) }, message: "template syntax error: \(error)")])
        }
        let prepared = Prepared(analysis: analysis, template: template)
        cache.withLock { c in
            if c.count >= capacity { c.removeAll(keepingCapacity: true) }
            c[content] = prepared
        }
        return prepared
    }
}
