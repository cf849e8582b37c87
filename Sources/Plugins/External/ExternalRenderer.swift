import Foundation
import Renderers

/// A renderer implemented by an executable `bootgate-render-<format>` that speaks the JSON
/// protocol of docs/plugins.md, one request per run.
///
/// Every failure of the plugin itself (cannot start, timeout, crash, too much output, garbage)
/// becomes an error diagnostic on validate and a `.rendererFailed` failure on render, with a
/// message naming the plugin and the cause.
public struct ExternalRenderer: Renderer {
    public let format: String
    public let contentType: String
    public let mainFileNames: [String]
    /// The `{{…}}` names the plugin says it understands (for listings only).
    public let variables: [TemplateVariable]
    /// Absolute path of the executable.
    public let executable: String
    public let limits: PluginLimits

    public init(executable: String, format: String, contentType: String, mainFileNames: [String] = [],
                variables: [TemplateVariable] = [], limits: PluginLimits = PluginLimits()) {
        self.executable = executable
        self.format = format
        self.contentType = contentType
        self.mainFileNames = mainFileNames
        self.variables = variables
        self.limits = limits
    }

    /// The executable's file name, used in messages.
    public var pluginName: String { URL(fileURLWithPath: executable).lastPathComponent }

    /// Asks the executable what it renders. `format` is the name taken from the file name;
    /// a plugin that claims another one is refused.
    public static func describe(executable: String, format: String,
                                limits: PluginLimits = PluginLimits()) async throws(PluginFailure) -> ExternalRenderer {
        let probe = ExternalRenderer(executable: executable, format: format, contentType: "", limits: limits)
        let answer = try await probe.call(.describe(format: format), expecting: PluginDescribeResponse.self)
        if let version = answer.protocol, version != PluginRequest.protocolVersion {
            throw PluginFailure(.badResponse, plugin: probe.pluginName,
                                detail: "speaks protocol \(version); bootgate speaks \(PluginRequest.protocolVersion)")
        }
        if let claimed = answer.format, claimed != format {
            throw PluginFailure(.badResponse, plugin: probe.pluginName,
                                detail: "describes format '\(claimed)' but its file name says '\(format)'")
        }
        let contentType = answer.contentType.trimmingCharacters(in: .whitespaces)
        guard !contentType.isEmpty, !contentType.contains(where: { $0.isNewline }) else {
            throw PluginFailure(.badResponse, plugin: probe.pluginName, detail: "describes an empty or malformed contentType")
        }
        return ExternalRenderer(executable: executable, format: format, contentType: contentType,
                                mainFileNames: answer.mainFileNames ?? [], variables: answer.variables ?? [],
                                limits: limits)
    }

    public func validate(files: [String: String]) async -> [Diagnostic] {
        do {
            return try await call(.validate(format: format, files: files), expecting: PluginValidateResponse.self).diagnostics
        } catch {
            return [Diagnostic(file: blameFile(in: files), message: error.message)]
        }
    }

    public func render(file: String, files: [String: String], context: RenderContext,
                       options: RenderOptions) async throws(RenderFailure) -> RenderedFile {
        let request = PluginRequest.render(format: format, file: file, files: files, context: context, options: options)
        let answer: PluginRenderResponse
        do {
            answer = try await call(request, expecting: PluginRenderResponse.self)
        } catch {
            throw RenderFailure(.rendererFailed, [Diagnostic(file: file, message: error.message)])
        }
        let diagnostics = answer.diagnostics ?? []
        if answer.notAcceptable == true {
            throw RenderFailure(.notAcceptable, diagnostics.isEmpty
                ? [Diagnostic(file: file, message: "the client cannot take this config")] : diagnostics)
        }
        if diagnostics.hasErrors {
            throw RenderFailure(.invalid, diagnostics)
        }
        let body: [UInt8]
        if let encoded = answer.body {
            guard let data = Data(base64Encoded: encoded, options: .ignoreUnknownCharacters) else {
                throw RenderFailure(.rendererFailed, [Diagnostic(file: file, message:
                    "renderer plugin \(pluginName) answered render with a 'body' that is not base64")])
            }
            body = Array(data)
        } else if let text = answer.text {
            body = Array(text.utf8)
        } else {
            throw RenderFailure(.rendererFailed, [Diagnostic(file: file, message:
                "renderer plugin \(pluginName) answered render with neither 'body', 'text' nor error diagnostics")])
        }
        return RenderedFile(body: body, contentType: answer.contentType ?? contentType)
    }

    /// The file a plugin-level failure is reported against: the main file when there is one.
    func blameFile(in files: [String: String]) -> String {
        if let main = mainFileNames.first(where: { files[$0] != nil }) { return main }
        return files.keys.sorted().first ?? ""
    }

    /// One run of the plugin, decoded as `Response`.
    func call<Response: Decodable>(_ request: PluginRequest, expecting: Response.Type) async throws(PluginFailure) -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let input: Data
        do {
            input = try encoder.encode(request)
        } catch {
            throw PluginFailure(.launchFailed, plugin: pluginName, detail: "request could not be encoded: \(error)")
        }
        let result = await PluginGate.shared.run { [executable, limits] in
            await PluginProcess.run(executable: executable, input: Array(input), limits: limits)
        }
        let op = request.op.rawValue
        var stderrText = String(decoding: result.stderr, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        if result.stderrTruncated { stderrText += " …(truncated)" }

        switch result.ending {
        case .launchFailed(let why):
            throw PluginFailure(.launchFailed, plugin: pluginName, detail: "could not be started for '\(op)': \(why)")
        case .timedOut:
            throw PluginFailure(.timedOut, plugin: pluginName,
                                detail: "timed out after \(Self.describe(limits.timeout)) on '\(op)' and was killed",
                                stderr: stderrText)
        case .outputTooLarge:
            throw PluginFailure(.outputTooLarge, plugin: pluginName,
                                detail: "wrote more than \(Self.describe(bytes: limits.maxOutputBytes)) to stdout on '\(op)' and was killed",
                                stderr: stderrText)
        case .signaled(let signal):
            throw PluginFailure(.crashed, plugin: pluginName, detail: "was killed by signal \(signal) on '\(op)'",
                                stderr: stderrText)
        case .exited(let status) where status != 0:
            throw PluginFailure(.crashed, plugin: pluginName, detail: "exited with status \(status) on '\(op)'",
                                stderr: stderrText)
        case .exited:
            break
        }

        let output = Data(result.stdout)
        let decoder = JSONDecoder()
        if let reported = try? decoder.decode(PluginErrorResponse.self, from: output), let message = reported.error {
            throw PluginFailure(.reportedError, plugin: pluginName, detail: "reported an error on '\(op)': \(message)",
                                stderr: stderrText)
        }
        do {
            return try decoder.decode(Response.self, from: output)
        } catch {
            let shown = String(decoding: result.stdout.prefix(120), as: UTF8.self)
                .replacingOccurrences(of: "\n", with: "\\n")
            let what = result.stdout.isEmpty ? "printed nothing" : "printed an invalid response"
            throw PluginFailure(.badResponse, plugin: pluginName,
                                detail: "\(what) on '\(op)' (\(Self.decodingProblem(error)))"
                                    + (result.stdout.isEmpty ? "" : ": \(shown)\(result.stdout.count > 120 ? "…" : "")"),
                                stderr: stderrText)
        }
    }

    static func decodingProblem(_ error: any Error) -> String {
        switch error as? DecodingError {
        case .dataCorrupted: return "not JSON"
        case .keyNotFound(let key, _): return "missing '\(key.stringValue)'"
        case .typeMismatch(_, let context), .valueNotFound(_, let context):
            let path = context.codingPath.map(\.stringValue).joined(separator: ".")
            return "wrong type at '\(path)'"
        default: return "\(error)"
        }
    }

    static func describe(_ duration: Duration) -> String {
        let (seconds, attoseconds) = duration.components
        if attoseconds == 0 { return "\(seconds) s" }
        let milliseconds = seconds * 1000 + attoseconds / 1_000_000_000_000_000
        return "\(milliseconds) ms"
    }

    static func describe(bytes: Int) -> String {
        if bytes >= 1 << 20, bytes % (1 << 20) == 0 { return "\(bytes >> 20) MiB" }
        if bytes >= 1 << 10, bytes % (1 << 10) == 0 { return "\(bytes >> 10) KiB" }
        return "\(bytes) bytes"
    }
}
