import Plugins

extension RendererRegistry: RendererLookup {
    public var summaries: [RendererSummary] {
        // The iPXE script renderer is not a BootConfig format: it writes `/ipxe`'s answers.
        (formats.map { RendererSummary(format: $0.format, contentType: $0.contentType, mainFileNames: $0.mainFileNames, source: $0.source.rawValue) }
            + [RendererSummary(format: "ipxe", contentType: "text/plain", mainFileNames: [], source: "builtin", bootMethods: bootMethods.names)])
            .sorted { $0.format < $1.format }
    }
}
