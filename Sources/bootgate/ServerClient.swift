import ArgumentParser
import Foundation
import Gateway
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A command's failure, said in one line (`bootgate: …` on stderr, exit 1; no usage text).
struct CommandFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Just enough HTTP for the command line's talks with a running server. A server with a token
/// file wants a token: it is taken from `BOOTGATE_TOKEN` (an environment variable, not an
/// argument, so other users' `ps` does not show it).
struct HTTPClient: Sendable {
    struct Reply: Sendable {
        var status: Int
        var body: JSONValue
        /// `Warning` headers, their text only.
        var warnings: [String]
    }

    var server: String
    var token: String? = ProcessInfo.processInfo.environment["BOOTGATE_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }

    init(server: String) {
        self.server = server.hasSuffix("/") ? String(server.dropLast()) : server
    }

    func request(_ method: String, _ path: String, body: JSONValue? = nil, contentType: String = "application/json") async throws -> (Int, JSONValue) {
        let reply = try await send(method, path, body: body, contentType: contentType)
        return (reply.status, reply.body)
    }

    /// Throws `CommandFailure` when the server cannot be reached, saying so with its URL.
    func send(_ method: String, _ path: String, body: JSONValue? = nil, contentType: String = "application/json",
              accept: String? = nil) async throws(CommandFailure) -> Reply {
        guard let url = URL(string: server + path), url.scheme == "http" || url.scheme == "https", url.host != nil else {
            throw CommandFailure("--server \(server) is not an http:// or https:// URL")
        }
        var req = URLRequest(url: url)
        req.httpMethod = method
        req.timeoutInterval = 60
        if let token { req.setValue("Bearer " + token, forHTTPHeaderField: "Authorization") }
        if let accept { req.setValue(accept, forHTTPHeaderField: "Accept") }
        if let body {
            req.httpBody = Data(JSONWriter.bytes(body))
            req.setValue(contentType, forHTTPHeaderField: "Content-Type")
        }
        let data: Data, response: URLResponse
        do {
            (data, response) = try await URLSession.shared.data(for: req)
        } catch {
            throw CommandFailure(Self.unreachable(server, error))
        }
        let http = response as? HTTPURLResponse
        let warnings = (http?.value(forHTTPHeaderField: "Warning")).map(Self.warningTexts) ?? []
        return Reply(status: http?.statusCode ?? 0, body: (try? JSONParser.parse(Array(data))) ?? .null, warnings: warnings)
    }

    /// The message when nothing (or not bootgate) answers.
    static func unreachable(_ server: String, _ error: any Error) -> String {
        let ns = error as NSError
        if ns.domain == NSURLErrorDomain, [NSURLErrorCannotConnectToHost, NSURLErrorNetworkConnectionLost].contains(ns.code) {
            return "no bootgate server is running at \(server) (connection refused); start one with `bootgate serve` or pass --server"
        }
        if ns.domain == NSURLErrorDomain, ns.code == NSURLErrorTimedOut {
            return "the server at \(server) did not answer in time"
        }
        if ns.domain == NSURLErrorDomain, [NSURLErrorCannotFindHost, NSURLErrorDNSLookupFailed].contains(ns.code) {
            return "cannot find the host of \(server)"
        }
        let reason = (ns.userInfo[NSLocalizedDescriptionKey] as? String) ?? "error \(ns.code)"
        return "cannot reach \(server): \(reason)"
    }

    /// `299 - "text"` (several may be joined by commas) as the texts.
    static func warningTexts(_ header: String) -> [String] {
        var out: [String] = []
        var rest = Substring(header)
        while let open = rest.firstIndex(of: "\"") {
            var text = ""
            var i = rest.index(after: open)
            while i < rest.endIndex, rest[i] != "\"" {
                if rest[i] == "\\", rest.index(after: i) < rest.endIndex { i = rest.index(after: i) }
                text.append(rest[i])
                i = rest.index(after: i)
            }
            out.append(text)
            rest = i < rest.endIndex ? rest[rest.index(after: i)...] : ""
        }
        return out
    }

    /// A failed answer's one line: the Status message, and what to do about a missing token.
    func failure(_ reply: Reply, doing what: String) -> CommandFailure {
        var message = reply.body["message"]?.stringValue ?? "\(server) answered HTTP \(reply.status) to \(what)"
        if reply.status == 401, token == nil { message += " (set BOOTGATE_TOKEN to a token from `bootgate token create`)" }
        return CommandFailure(message)
    }
}
