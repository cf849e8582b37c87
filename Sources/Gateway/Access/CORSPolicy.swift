import Foundation
import HTTPTypes

/// Which web pages may call the API from another origin. Empty (the default) means none: a page
/// an admin happens to open must not be able to drive bootgate (a form POST to `/rpc` once
/// deleted an ISO). Origins named with `--cors-origin` get proper CORS answers; a request whose
/// `Origin` is neither one of them nor bootgate's own is refused before anything runs.
public struct CORSPolicy: Sendable {
    public let origins: Set<String>

    public init(origins: [String] = []) {
        self.origins = Set(origins.map(Self.normalize))
    }

    static func normalize(_ origin: String) -> String {
        var o = origin.trimmingCharacters(in: .whitespaces).lowercased()
        while o.hasSuffix("/") { o.removeLast() }
        return o
    }

    public func isListed(_ origin: String) -> Bool { origins.contains(Self.normalize(origin)) }

    /// Whether a request may proceed. No `Origin`: not a browser's cross-site request (curl,
    /// kubectl, firmware, a same-origin navigation). Same origin: the page bootgate serves.
    public func permits(origin: String?, host: String?) -> Bool {
        guard let origin else { return true }
        return isListed(origin) || Self.isSameOrigin(origin, host: host)
    }

    /// `http://h:p` against the request's `Host: h:p`.
    static func isSameOrigin(_ origin: String, host: String?) -> Bool {
        guard let host, !host.isEmpty else { return false }
        let o = normalize(origin)
        for scheme in ["http://", "https://"] where o.hasPrefix(scheme) {
            return o.dropFirst(scheme.count) == host.lowercased()
        }
        return false
    }

    /// The headers an allowed cross-origin answer carries (none for other requests).
    func addHeaders(to headers: inout HTTPFields, origin: String?) {
        guard let origin, isListed(origin) else { return }
        headers[.accessControlAllowOrigin] = origin
        headers[.accessControlExposeHeaders] = "Warning"
        headers.append(HTTPField(name: .vary, value: "Origin"))
    }

    /// An `OPTIONS` preflight: allowed origins learn the methods and headers, others get 403.
    func preflight(origin: String?) -> (status: Int, headers: HTTPFields) {
        guard let origin, isListed(origin) else { return (origin == nil ? 204 : 403, [:]) }
        var h: HTTPFields = [:]
        addHeaders(to: &h, origin: origin)
        h[.accessControlAllowMethods] = "GET, POST, PUT, PATCH, DELETE, OPTIONS"
        h[.accessControlAllowHeaders] = "Content-Type, Authorization, Accept"
        h[.accessControlMaxAge] = "600"
        return (204, h)
    }
}
