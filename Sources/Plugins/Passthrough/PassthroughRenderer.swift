import Renderers

/// The `custom` format, mkube's default: files are served as they are, after `{{…}}`
/// substitution. There is no format to check, so only the templates are validated.
public struct PassthroughRenderer: Renderer {
    public let format = "custom"
    /// mkube serves every format it does not know as octet-stream; kept for its clients.
    public let contentType = "application/octet-stream"
    /// No conventional name: a config with one file serves it, otherwise the client must name one.
    public let mainFileNames: [String] = []

    public init() {}

    public func validate(files: [String: String]) async -> [Diagnostic] {
        files.keys.sorted().flatMap { name in
            TemplateEngine.check(file: name, content: files[name] ?? "")
        }
    }

    public func render(file: String, files: [String: String], context: RenderContext,
                       options: RenderOptions) async throws(RenderFailure) -> RenderedFile {
        guard let content = files[file] else {
            throw RenderFailure(.invalid, [Diagnostic(file: file, message: "no such file in the config")])
        }
        let body = try TemplateEngine.renderBytes(file: file, content: content, context: context, escaping: .none)
        return RenderedFile(body: body, contentType: contentType)
    }
}
