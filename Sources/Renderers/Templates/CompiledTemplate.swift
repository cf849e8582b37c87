/// A boot config template compiled once into literal byte runs, value slots and sections, so a
/// request renders by appending bytes: no name lookups, no dynamic casts, no Characters.
///
/// `TemplateCompiler` gives it the output swift-mustache 2.1.1 gives (bootgate's reference
/// rendering, kept in the tests), including its whitespace rules for standalone tags.
struct CompiledTemplate: Sendable {
    enum Node: Sendable {
        /// Text as written, and where it is in the content when it is one piece of it.
        case literal([UInt8], source: Range<Int>?)
        case value(TemplateSlot)
        case section(Section, [Node])
    }

    struct Section: Sendable {
        enum Subject: Sendable, Equatable {
            /// `{{#host.nics}}` repeats per interface; `{{^host.nics}}` renders when there is none.
            case nics
            /// True when the host boots an ISO.
            case iso
            /// True when the slot has a value, even an empty one (a present empty label).
            case slot(TemplateSlot)
        }
        var subject: Subject
        var inverted: Bool
    }

    /// A template without sections (most Ignition configs) is kept flat, laid out for copying.
    private enum Layout: Sendable {
        case flat(Flat)
        case tree([Node])
    }

    private let layout: Layout
    /// Literal bytes of one pass over the tree: what a rendering needs at least.
    private let literalByteCount: Int

    /// The literal text cut by the values between them. Each value is looked up and escaped
    /// once per rendering, however often the template uses it.
    private struct Flat: Sendable {
        struct Run: Sendable {
            /// The literal before the value, in `literals`.
            var literal: Range<Int>
            /// Index in `slots`; -1 after the last literal.
            var slot: Int
        }
        /// The template's own text when every literal is a piece of it (it is the text the index
        /// holds, so it costs nothing), else the literals copied one after the other.
        enum Literals: Sendable {
            case source(String)
            case copied([UInt8])
        }
        var literals: Literals
        var runs: [Run] = []
        var slots: [TemplateSlot] = []

        init?(_ nodes: [Node], content: String) {
            let inContent = content.utf8.withContiguousStorageIfAvailable { _ in true } == true
                && nodes.allSatisfy { if case .literal(_, nil) = $0 { false } else { true } }
            var copied: [UInt8] = []
            if !inContent { copied.reserveCapacity(CompiledTemplate.literalBytes(in: nodes)) }
            var literal = 0..<0
            for node in nodes {
                switch node {
                case .literal(let bytes, let source):
                    if let source, inContent {
                        literal = source
                    } else {
                        literal = copied.count..<(copied.count + bytes.count)
                        copied.append(contentsOf: bytes)
                    }
                case .value(let slot):
                    let index = slots.firstIndex(of: slot) ?? slots.count
                    if index == slots.count { slots.append(slot) }
                    runs.append(Run(literal: literal, slot: index))
                    literal = literal.upperBound..<literal.upperBound
                case .section: return nil
                }
            }
            runs.append(Run(literal: literal, slot: -1))
            runs = runs.trimmed
            literals = inContent ? .source(content) : .copied(copied)
        }

        private func withLiterals(_ body: (UnsafeBufferPointer<UInt8>) -> Void) {
            switch literals {
            case .source(let text): _ = text.utf8.withContiguousStorageIfAvailable(body)
            case .copied(let bytes): bytes.withUnsafeBufferPointer(body)
            }
        }

        func write(_ context: RenderContext, escaping: TemplateEscaping, into out: inout [UInt8]) {
            var values: [[UInt8]] = []
            values.reserveCapacity(slots.count)
            for slot in slots {
                var bytes: [UInt8] = []
                if let value = slot.value(in: context, nic: nil) { escaping.append(value, to: &bytes) }
                values.append(bytes)
            }
            withLiterals { literals in
                for run in runs {
                    out.append(contentsOf: UnsafeBufferPointer(rebasing: literals[run.literal]))
                    if run.slot >= 0 { out.append(contentsOf: values[run.slot]) }
                }
            }
        }
    }

    /// Throws for content swift-mustache cannot parse; run `TemplateEngine.analyse` first, which
    /// explains nearly every such case better.
    init(_ content: String) throws(TemplateScanner.Failure) {
        let nodes = try TemplateCompiler.compile(content)
        literalByteCount = Self.literalBytes(in: nodes)
        layout = Flat(nodes, content: content).map(Layout.flat) ?? .tree(nodes)
    }

    /// Whether the literals are kept apart from the content (sections, or text split around a
    /// standalone tag), rather than read from the content itself.
    var copiesLiterals: Bool {
        if case .flat(let flat) = layout, case .source = flat.literals { return false }
        return true
    }

    func render(_ context: RenderContext, escaping: TemplateEscaping) -> [UInt8] {
        var out: [UInt8] = []
        // Room for the values and a repeated section or two, so most renderings allocate once.
        out.reserveCapacity(literalByteCount + literalByteCount / 4 + 256)
        switch layout {
        case .flat(let flat): flat.write(context, escaping: escaping, into: &out)
        case .tree(let nodes): Self.write(nodes, context: context, nic: nil, escaping: escaping, into: &out)
        }
        return out
    }

    private static func write(_ nodes: [Node], context: RenderContext, nic: RenderContext.NIC?,
                              escaping: TemplateEscaping, into out: inout [UInt8]) {
        for node in nodes {
            switch node {
            case .literal(let bytes, _):
                out.append(contentsOf: bytes)
            case .value(let slot):
                if let value = slot.value(in: context, nic: nic) { escaping.append(value, to: &out) }
            case .section(let section, let body):
                switch section.subject {
                case .nics where !section.inverted:
                    for each in context.host.nics {
                        write(body, context: context, nic: each, escaping: escaping, into: &out)
                    }
                case .nics:
                    if context.host.nics.isEmpty { write(body, context: context, nic: nic, escaping: escaping, into: &out) }
                case .iso:
                    if (context.iso != nil) != section.inverted {
                        write(body, context: context, nic: nic, escaping: escaping, into: &out)
                    }
                case .slot(let slot):
                    if (slot.value(in: context, nic: nic) != nil) != section.inverted {
                        write(body, context: context, nic: nic, escaping: escaping, into: &out)
                    }
                }
            }
        }
    }

    private static func literalBytes(in nodes: [Node]) -> Int {
        nodes.reduce(0) { total, node in
            switch node {
            case .literal(let bytes, _): total + bytes.count
            case .value: total
            case .section(_, let body): total + literalBytes(in: body)
            }
        }
    }
}
