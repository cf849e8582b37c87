/// Serves kickstart files to Anaconda (Fedora netinstall booted with `inst.ks=…/api/v1/bootconfig`).
///
/// The main file (and any `*.ks` / `*.cfg`) is validated as kickstart, after templates are filled
/// with sample values; other files are template-checked and served as plain text.
public struct KickstartRenderer: Renderer {
    public let format = "kickstart"
    public let contentType = "text/plain"
    public let mainFileNames = ["ks.cfg", "kickstart.cfg", "anaconda-ks.cfg"]

    public init() {}

    public func validate(files: [String: String]) async -> [Diagnostic] {
        validateNow(files: files)
    }

    /// `validate` without the suspension point.
    public func validateNow(files: [String: String]) -> [Diagnostic] {
        if let problem = MainFile.problem(in: files, names: mainFileNames, format: format) { return [problem] }
        return TemplatedFiles.validate(files, escaping: .none, isFormatFile: { isKickstartFile($0, files: files) }) { KickstartValidator.validate(file: $0, text: $1) }
    }

    public func render(file: String, files: [String: String], context: RenderContext, options: RenderOptions) async throws(RenderFailure) -> RenderedFile {
        try renderNow(file: file, files: files, context: context, options: options)
    }

    /// `render` without the suspension point.
    public func renderNow(file: String, files: [String: String], context: RenderContext, options: RenderOptions) throws(RenderFailure) -> RenderedFile {
        guard let content = files[file] else {
            throw RenderFailure(.invalid, [Diagnostic(file: file, message: "no such file in the config")])
        }
        let body = try TemplateEngine.renderBytes(file: file, content: content, context: context, escaping: .none)
        if isKickstartFile(file, files: files) {
            let errors = KickstartValidator.validate(file: file, text: String(decoding: body, as: UTF8.self)).filter { $0.severity == .error }
            if !errors.isEmpty { throw RenderFailure(.invalid, errors) }
        }
        return RenderedFile(body: body, contentType: contentType)
    }

    /// Whether a file of this config is a kickstart (validated as one).
    public func isKickstartFile(_ name: String, files: [String: String]) -> Bool {
        name == MainFile.select(in: files, names: mainFileNames) || name.hasSuffix(".ks") || name.hasSuffix(".cfg")
    }
}
