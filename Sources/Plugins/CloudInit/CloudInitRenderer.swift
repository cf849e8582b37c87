import Renderers

/// The `cloud-init` format: user-data (usually `#cloud-config` YAML) and its companion files
/// for NoCloud-style installers, with `{{…}}` templates.
///
/// Each file is checked by what cloud-init will do with it: user-data by its first line and,
/// for cloud-config, as a YAML mapping; `meta-data`, `network-config` and other `*.yaml`/`*.yml`
/// files as YAML mappings; anything else only for its templates. A rendered file that fails
/// these checks is refused rather than served.
public struct CloudInitRenderer: Renderer {
    public let format = "cloud-init"
    /// mkube's content type for this format; its clients expect it.
    public let contentType = "text/yaml"
    public let mainFileNames = ["user-data", "cloud-config.yaml", "user-data.yaml"]

    /// Names cloud-init reads as user-data besides the main names.
    static let otherUserDataNames: Set<String> = ["vendor-data"]
    /// Names cloud-init reads as plain YAML mappings.
    static let yamlNames: Set<String> = ["meta-data", "network-config"]

    public init() {}

    enum FileRole { case userData, yamlMapping, opaque }

    func role(of file: String, in files: [String: String]) -> FileRole {
        if files.count == 1 || mainFileNames.contains(file) || Self.otherUserDataNames.contains(file) {
            return .userData
        }
        if Self.yamlNames.contains(file) || file.hasSuffix(".yaml") || file.hasSuffix(".yml") {
            return .yamlMapping
        }
        return .opaque
    }

    public func validate(files: [String: String]) async -> [Diagnostic] {
        var diagnostics: [Diagnostic] = []
        // The boot path must be able to pick the file to serve without being told.
        if files.isEmpty {
            diagnostics.append(Diagnostic(file: "", message: "a cloud-init config needs a file (e.g. user-data)"))
        } else if files.count > 1, !mainFileNames.contains(where: { files[$0] != nil }) {
            diagnostics.append(Diagnostic(file: files.keys.sorted().joined(separator: ", "), message:
                "several files and none is named \(mainFileNames.joined(separator: ", ")): name the user-data file one of these"))
        }
        for name in files.keys.sorted() {
            let content = files[name] ?? ""
            let templateFindings = TemplateEngine.check(file: name, content: content)
            diagnostics += templateFindings
            // Broken templates make the sample render meaningless; report them alone.
            if templateFindings.hasErrors { continue }
            do {
                let sample = try TemplateEngine.render(file: name, content: content, context: .sample, escaping: .none)
                diagnostics += Self.relocated(check(file: name, rendered: sample, files: files), source: content, rendered: sample)
            } catch {
                diagnostics += error.diagnostics
            }
        }
        return diagnostics
    }

    public func render(file: String, files: [String: String], context: RenderContext,
                       options: RenderOptions) async throws(RenderFailure) -> RenderedFile {
        guard let content = files[file] else {
            throw RenderFailure(.invalid, [Diagnostic(file: file, message: "no such file in the config")])
        }
        let text = try TemplateEngine.render(file: file, content: content, context: context, escaping: .none)
        // Values of this host may differ from the sample used at write time: check again.
        let findings = Self.relocated(check(file: file, rendered: text, files: files), source: content, rendered: text)
        if findings.hasErrors {
            throw RenderFailure(.invalid, findings)
        }
        return RenderedFile(body: Array(text.utf8), contentType: contentType)
    }

    /// Section tags (`{{#iso}}` on a line of their own) drop lines when rendered, so a line of
    /// the output may not be the same line of the stored file; say so rather than mislead.
    static func relocated(_ findings: [Diagnostic], source: String, rendered: String) -> [Diagnostic] {
        func lineCount(_ text: String) -> Int { text.reduce(1) { $1.isNewline ? $0 + 1 : $0 } }
        guard lineCount(source) != lineCount(rendered) else { return findings }
        return findings.map { finding in
            guard finding.line != nil else { return finding }
            var moved = finding
            moved.message += " (line of the rendered output; template sections shift lines)"
            return moved
        }
    }

    func check(file: String, rendered: String, files: [String: String]) -> [Diagnostic] {
        switch role(of: file, in: files) {
        case .userData: CloudInitContentChecker.checkUserData(file: file, text: rendered)
        case .yamlMapping: CloudInitContentChecker.checkYAMLMapping(file: file, text: rendered)
        case .opaque: []
        }
    }
}
