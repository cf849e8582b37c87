/// Serves Ignition configs (spec 3.0.0 … 3.6.0) to CoreOS installers and first boots.
///
/// The stored text is served as written (after template expansion), never re-serialised, so
/// what the operator validated is what the machine gets. Every file named like an Ignition
/// config (the main file and any `*.ign`) is validated; other files are only template-checked.
public struct IgnitionRenderer: Renderer {
    public let format = "ignition"
    public let contentType = "application/vnd.coreos.ignition+json"
    public let mainFileNames = ["config.ign", "config.json", "ignition.json"]

    public init() {}

    public func validate(files: [String: String]) async -> [Diagnostic] {
        validateNow(files: files)
    }

    /// `validate` without the suspension point, for callers that are not async.
    public func validateNow(files: [String: String]) -> [Diagnostic] {
        if let problem = MainFile.problem(in: files, names: mainFileNames, format: format) { return [problem] }
        return TemplatedFiles.validate(files, escaping: .jsonString, isFormatFile: { isIgnitionFile($0, files: files) }) { IgnitionValidator.validate(file: $0, text: $1).diagnostics }
    }

    public func render(file: String, files: [String: String], context: RenderContext, options: RenderOptions) async throws(RenderFailure) -> RenderedFile {
        try renderNow(file: file, files: files, context: context, options: options)
    }

    /// `render` without the suspension point.
    public func renderNow(file: String, files: [String: String], context: RenderContext, options: RenderOptions) throws(RenderFailure) -> RenderedFile {
        guard let content = files[file] else {
            throw RenderFailure(.invalid, [Diagnostic(file: file, message: "no such file in the config")])
        }
        guard isIgnitionFile(file, files: files) else {
            let body = try TemplateEngine.renderBytes(file: file, content: content, context: context, escaping: .none)
            return RenderedFile(body: body, contentType: "text/plain; charset=utf-8")
        }
        let body = try TemplateEngine.renderBytes(file: file, content: content, context: context, escaping: .jsonString)
        // Checked again for this host: from the template's plan when it has one (no re-parse),
        // else from the rendered bytes.
        let (diagnostics, version) = IgnitionRenderPlans.shared.plan(file: file, content: content)?.validate(file: file, context: context)
            ?? IgnitionValidator.validate(file: file, bytes: body)
        guard !diagnostics.hasErrors, let version else {
            throw RenderFailure(.invalid, diagnostics.filter { $0.severity == .error })
        }
        if let accepted = IgnitionAccept.maxVersion(options.accept), version > accepted {
            throw RenderFailure(.notAcceptable, [Diagnostic(file: file, pointer: "/ignition/version",
                message: "the config is Ignition spec \(version) but the client accepts at most \(accepted.major).\(accepted.minor).\(accepted.patch == Int.max ? "x" : String(accepted.patch)) (Accept: \(options.accept ?? "")); lower the config's version or boot a newer image")])
        }
        return RenderedFile(body: body, contentType: contentType)
    }

    /// Whether a file of this config is an Ignition document (validated and served as one).
    public func isIgnitionFile(_ name: String, files: [String: String]) -> Bool {
        name == MainFile.select(in: files, names: mainFileNames) || name.hasSuffix(".ign")
    }
}
