/// Finds the operation for a method and path. Literal segments beat `{parameters}`, so
/// `/api/v1/baremetalhosts` never matches a `{namespace}` route.
public struct OperationRouter: Sendable {
    struct Route: Sendable {
        var operation: Operation
        var segments: [Substring]
        var literalCount: Int
    }

    public enum Match: Sendable {
        case found(Operation, [String: String])
        case methodNotAllowed(allowed: [String])
        case notFound
    }

    private let routes: [Route]
    /// Routes without parameters by method and path: the boot path's routes are found without a scan.
    private let literal: [String: Operation]

    public init(_ operations: [Operation]) {
        routes = operations.map { op in
            let segs = op.path.split(separator: "/")
            return Route(operation: op, segments: segs, literalCount: segs.filter { !$0.hasPrefix("{") }.count)
        }.sorted { $0.literalCount > $1.literalCount }
        var literal: [String: Operation] = [:]
        for route in routes where route.literalCount == route.segments.count {
            literal[route.operation.method.rawValue + " /" + route.segments.joined(separator: "/")] = route.operation
        }
        self.literal = literal
    }

    public func match(method: String, path: String) -> Match {
        if let op = literal[method + " " + path] { return .found(op, [:]) }
        let parts = path.split(separator: "/", omittingEmptySubsequences: true)
        var allowed: [String] = []
        for route in routes where route.segments.count == parts.count {
            var params: [String: String] = [:]
            var ok = true
            for (seg, part) in zip(route.segments, parts) {
                if seg.hasPrefix("{") {
                    params[String(seg.dropFirst().dropLast())] = QueryString.percentDecode(part, plusIsSpace: false)
                } else if seg != part {
                    ok = false
                    break
                }
            }
            guard ok else { continue }
            let m = route.operation.method.rawValue
            if m == method || (method == "HEAD" && m == "GET") { return .found(route.operation, params) }
            allowed.append(m)
        }
        return allowed.isEmpty ? .notFound : .methodNotAllowed(allowed: Array(Set(allowed)).sorted())
    }
}

/// Query strings as Go's `url.ParseQuery` reads them: `+` is a space, `%XX` decoded; kubectl
/// sends label selectors that way.
public enum QueryString {
    public static func parse(_ query: String?) -> [String: String] {
        var out: [String: String] = [:]
        guard let query, !query.isEmpty else { return out }
        // Split on the bytes: `&` and `=` are ASCII, and this runs for every boot request.
        let bytes = query.utf8
        var start = bytes.startIndex
        while start <= bytes.endIndex {
            let end = bytes[start...].firstIndex(of: UInt8(ascii: "&")) ?? bytes.endIndex
            if start < end {
                let pair = query[start..<end]
                let eq = pair.utf8.firstIndex(of: UInt8(ascii: "="))
                let key = percentDecode(eq.map { pair[..<$0] } ?? pair, plusIsSpace: true)
                if out[key] == nil { out[key] = eq.map { percentDecode(pair[pair.utf8.index(after: $0)...], plusIsSpace: true) } ?? "" }
            }
            guard end < bytes.endIndex else { break }
            start = bytes.index(after: end)
        }
        return out
    }

    public static func percentDecode(_ text: Substring, plusIsSpace: Bool) -> String {
        guard text.utf8.contains(where: { $0 == UInt8(ascii: "%") || (plusIsSpace && $0 == UInt8(ascii: "+")) }) else { return String(text) }
        var bytes: [UInt8] = []
        var it = Array(text.utf8)[...]
        while let b = it.popFirst() {
            if b == UInt8(ascii: "%"), it.count >= 2, let v = UInt8(String(decoding: it.prefix(2), as: UTF8.self), radix: 16) {
                bytes.append(v)
                it = it.dropFirst(2)
            } else if plusIsSpace, b == UInt8(ascii: "+") {
                bytes.append(0x20)
            } else {
                bytes.append(b)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
