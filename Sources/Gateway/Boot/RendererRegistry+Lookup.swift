import Plugins

extension RendererRegistry: RendererLookup {
    public var summaries: [RendererSummary] {
        formats.map { RendererSummary(format: $0.format, contentType: $0.contentType, mainFileNames: $0.mainFileNames, source: $0.source.rawValue) }
    }
}
