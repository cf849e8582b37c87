import Foundation
import Hummingbird
import NIOCore

/// The web page and its assets, served from the Gateway's bundled `Assets/ui` folder: every
/// file ships with bootgate (air-gapped labs have no CDN), read once at start-up.
public struct StaticAssets: Sendable {
    private let files: [String: (bytes: [UInt8], type: String)]

    /// `directory` defaults to the bundled `Assets/ui`.
    public init(directory: URL? = nil) {
        let directory = directory ?? Bundle.module.url(forResource: "Assets", withExtension: nil)?.appendingPathComponent("ui")
        var files: [String: (bytes: [UInt8], type: String)] = [:]
        if let directory, let walker = FileManager.default.enumerator(at: directory, includingPropertiesForKeys: nil) {
            for case let url as URL in walker where !url.hasDirectoryPath {
                let relative = String(url.path.dropFirst(directory.path.count))
                if let data = try? Data(contentsOf: url) { files[relative] = (Array(data), Self.contentType(url.pathExtension)) }
            }
        }
        self.files = files
    }

    public var isEmpty: Bool { files.isEmpty }

    /// The file for a GET path (`/` is `/index.html`), or nil.
    public func response(for request: Request) -> Response? {
        guard request.method == .get || request.method == .head else { return nil }
        let path = request.uri.path == "/" ? "/index.html" : request.uri.path
        guard let file = files[path] else { return nil }
        return Response(status: .ok, headers: [.contentType: file.type, .cacheControl: "no-cache"],
                        body: request.method == .head ? ResponseBody() : ResponseBody(byteBuffer: ByteBuffer(bytes: file.bytes)))
    }

    static func contentType(_ ext: String) -> String {
        switch ext {
        case "html": return "text/html; charset=utf-8"
        case "js", "mjs": return "text/javascript; charset=utf-8"
        case "css": return "text/css; charset=utf-8"
        case "svg": return "image/svg+xml"
        case "png": return "image/png"
        case "ico": return "image/x-icon"
        case "json": return "application/json"
        default: return "application/octet-stream"
        }
    }
}
