import Renderers

/// What `GET /api/v1/renderers` lists for one format.
public struct RendererInfo: Sendable, Hashable, Codable {
    /// Where a renderer comes from.
    public enum Source: String, Sendable, Hashable, Codable {
        /// Compiled into bootgate's Renderers library (ignition, kickstart) or the passthrough `custom`.
        case builtin
        /// An in-tree plugin of the Plugins library (cloud-init).
        case plugin
        /// An out-of-process plugin found in the plugin directory.
        case external
    }

    public var format: String
    public var contentType: String
    public var mainFileNames: [String]
    public var source: Source
    /// Absolute path of the plugin executable, for `external` renderers only.
    public var executable: String?
    /// The `{{…}}` names usable in this format's files.
    public var variables: [TemplateVariable]

    public init(format: String, contentType: String, mainFileNames: [String], source: Source,
                executable: String? = nil, variables: [TemplateVariable]) {
        self.format = format
        self.contentType = contentType
        self.mainFileNames = mainFileNames
        self.source = source
        self.executable = executable
        self.variables = variables
    }
}
