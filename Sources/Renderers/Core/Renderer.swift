/// Turns a BootConfig's files into the bytes a booting machine receives.
///
/// Renderers are pure: they know nothing of HTTP or storage. `validate` runs when a config is
/// written (so a broken config is refused before any machine sees it); `render` runs at boot.
public protocol Renderer: Sendable {
    /// The `spec.format` value this renderer handles (`ignition`, `kickstart`, …).
    var format: String { get }
    /// Content type of a rendered file.
    var contentType: String { get }
    /// File names served when a config has several files and the client names none, in order.
    var mainFileNames: [String] { get }

    /// Every problem in the config's files (templates included), empty when valid.
    func validate(files: [String: String]) async -> [Diagnostic]

    /// One file rendered for one host.
    func render(file: String, files: [String: String], context: RenderContext, options: RenderOptions) async throws(RenderFailure) -> RenderedFile
}

/// What the client said about itself when it asked for the config.
public struct RenderOptions: Sendable {
    /// The request's `Accept` header (Ignition advertises its spec version there).
    public var accept: String?
    public init(accept: String? = nil) { self.accept = accept }
}

public struct RenderedFile: Sendable {
    public var body: [UInt8]
    public var contentType: String
    public init(body: [UInt8], contentType: String) {
        self.body = body
        self.contentType = contentType
    }
}

/// Why a config could not be rendered for a host. The boot path turns it into an error status
/// with the reason, never an empty body.
public struct RenderFailure: Error, Sendable {
    public enum Kind: Sendable {
        /// The config (or a template expansion) is invalid.
        case invalid
        /// The client cannot take what the config is (e.g. an older Ignition spec version): HTTP 406.
        case notAcceptable
        /// The renderer itself failed (plugin crashed, timed out, produced too much).
        case rendererFailed
    }
    public var kind: Kind
    public var diagnostics: [Diagnostic]
    public init(_ kind: Kind, _ diagnostics: [Diagnostic]) {
        self.kind = kind
        self.diagnostics = diagnostics
    }
    public var message: String { diagnostics.map(\.located).joined(separator: "; ") }
}

/// A renderer that never waits (the built-in formats): the boot path runs it where the request
/// arrived instead of handing the request to the concurrency pool. Plugins that run as
/// processes are plain `Renderer`s.
public protocol InlineRenderer: Renderer {
    func renderNow(file: String, files: [String: String], context: RenderContext, options: RenderOptions) throws(RenderFailure) -> RenderedFile
}

extension IgnitionRenderer: InlineRenderer {}
extension KickstartRenderer: InlineRenderer {}
