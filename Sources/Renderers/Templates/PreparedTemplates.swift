import Synchronization

/// Compiled templates by content, so a boot storm compiles each config once, not once per machine.
final class PreparedTemplates: Sendable {
    struct Prepared: Sendable {
        var template: CompiledTemplate
        /// Every value the template uses, with its line, for the check of `.none` escaping.
        var uses: [SlotUse]
    }

    struct SlotUse: Sendable {
        var slot: TemplateSlot
        /// The name as diagnostics spell it (`host.nics[].mac`).
        var reference: String
        var line: Int
    }

    static let shared = PreparedTemplates(capacity: 1024)

    private let cache = Mutex<[ContentKey: Prepared]>([:])
    private let capacity: Int

    init(capacity: Int) { self.capacity = capacity }

    /// Analysis comes first: content it refuses is never compiled, and its diagnostics name the
    /// problem better than the compiler could.
    func prepared(file: String, content: String) throws(RenderFailure) -> Prepared {
        let key = ContentKey(content)
        if let hit = cache.withLock({ $0[key] }) { return hit }
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
        let uses = analysis.uses.compactMap { use in
            TemplateSlot(reference: use.reference).map { SlotUse(slot: $0, reference: use.reference, line: use.line) }
        }
        let prepared = Prepared(template: template, uses: uses)
        cache.withLock { c in
            // Full: one arbitrary entry goes, so more configs than the cache holds never empty it at once.
            if c.count >= capacity, c[key] == nil { c.remove(at: c.startIndex) }
            c[key] = prepared
        }
        return prepared
    }
}

/// The content as a cache key: equal means byte-equal (content that differs in any byte renders
/// differently, and `String` equality would also merge canonically equivalent text). Every
/// byte is hashed: the configs of one fleet often differ in a few bytes only, and a hash that
/// skipped them would put them all in one bucket.
struct ContentKey: Hashable, Sendable {
    let content: String

    init(_ content: String) { self.content = content }

    static func == (a: ContentKey, b: ContentKey) -> Bool {
        guard a.content.utf8.count == b.content.utf8.count else { return false }
        return a.withBytes { x in
            b.withBytes { y in x.baseAddress == y.baseAddress || x.elementsEqual(y) }
        }
    }

    func hash(into hasher: inout Hasher) {
        withBytes { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
    }

    private func withBytes<R>(_ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        if let result = content.utf8.withContiguousStorageIfAvailable(body) { return result }
        return Array(content.utf8).withUnsafeBufferPointer(body)
    }
}
