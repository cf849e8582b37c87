import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// mkube's HTTP API as the upstream store uses it: lists, watch streams and writes of the three
/// kinds, on the paths and with the bodies mkube takes (reference: mkube-boot-api.md §2–3).
/// Knows nothing of revisions or caches.
struct MkubeClient: Sendable {
    let base: String
    let http: HTTPClient
    /// The `Authorization` header of every request, if the upstream wants one; never logged.
    let authorization: String?
    /// A plain request (list, write) that takes longer than this counts as a failure.
    let requestTimeout: TimeAmount

    struct Failure: Error, Sendable {
        /// The HTTP status mkube answered with; nil when it could not be reached or its answer
        /// could not be read.
        var status: Int?
        var message: String
    }

    /// mkube returns BMC credentials anyway and ignores every query parameter but `watch`; an
    /// upstream bootgate returns them only when asked. The cache needs them: BMC agents read them
    /// from it, and a write must never put a redacted password back.
    static let credentials = "?includeSecrets=true"

    static let maxBody = 64 << 20
    /// A watch line longer than this is not one mkube would write; the stream is dropped.
    static let maxLine = 16 << 20

    func collectionPath(_ kind: ResourceKind, namespace: String?) -> String {
        if kind.namespaced, let namespace { return "/api/v1/namespaces/\(namespace)/\(kind.plural)" }
        return "/api/v1/\(kind.plural)"
    }

    func objectPath(_ key: ObjectKey) -> String {
        collectionPath(key.kind, namespace: key.kind.namespaced ? key.namespace : nil) + "/" + key.name
    }

    /// Every object of a kind (all namespaces), in whatever order mkube has them.
    func list(_ kind: ResourceKind) async throws(Failure) -> [JSONValue] {
        let (status, body) = try await send(.GET, collectionPath(kind, namespace: nil) + Self.credentials)
        guard status == 200 else { throw Failure(status: status, message: "listing \(kind.plural): " + refusal(status, body)) }
        guard let doc = try? JSONParser.parse(body), let items = doc["items"] else {
            throw Failure(status: nil, message: "the \(kind.plural) list is not JSON with items: \(Self.text(body.prefix(200)))")
        }
        // An empty Go slice may come as null.
        return items.arrayValue ?? []
    }

    /// Sends a write; the object mkube answers with.
    func write(_ method: HTTPMethod, _ path: String, _ body: JSONValue?) async throws(Failure) -> JSONValue? {
        // The answer is compared with what the watch brings later: it must hold credentials too.
        let (status, bytes) = try await send(method, path + Self.credentials, body: body.map { JSONWriter.bytes($0) })
        guard (200..<300).contains(status) else { throw Failure(status: status, message: Self.text(bytes)) }
        return try? JSONParser.parse(bytes)
    }

    private func send(_ method: HTTPMethod, _ path: String, body: [UInt8]? = nil) async throws(Failure) -> (Int, [UInt8]) {
        var request = HTTPClientRequest(url: base + path)
        request.method = method
        authorize(&request)
        if let body {
            // As pxemanager sends it; mkube never looks at the Content-Type.
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        do {
            let response = try await http.execute(request, timeout: requestTimeout)
            let buffer = try await response.body.collect(upTo: Self.maxBody)
            return (Int(response.status.code), Array(buffer.readableBytesView))
        } catch {
            throw Failure(status: nil, message: "\(method.rawValue) \(base)\(path): \(error)")
        }
    }

    /// One watch connection: events as mkube writes them, one JSON object a line. Ends when mkube
    /// closes the stream; throws on a broken connection or a line that is not an event.
    func watch(_ kind: ResourceKind, connected: @Sendable () -> Void) async throws(Failure) -> AsyncThrowingStream<(type: String, object: JSONValue), any Error> {
        var request = HTTPClientRequest(url: base + collectionPath(kind, namespace: nil) + Self.credentials + "&watch=true")
        request.method = .GET
        authorize(&request)
        let response: HTTPClientResponse
        do {
            // No deadline: an idle mkube stream is silent for as long as nothing changes. A dead
            // upstream is noticed by the health probe, which ends the session.
            response = try await http.execute(request, deadline: .distantFuture)
        } catch {
            throw Failure(status: nil, message: "watching \(kind.plural): \(error)")
        }
        guard response.status.code == 200 else {
            let body = (try? await response.body.collect(upTo: 4096)).map { Array($0.readableBytesView) } ?? []
            throw Failure(status: Int(response.status.code), message: "watching \(kind.plural): " + refusal(Int(response.status.code), body))
        }
        connected()
        let documents = JSONLines.documents(of: response.body, maxLine: Self.maxLine)
        let (stream, continuation) = AsyncThrowingStream<(type: String, object: JSONValue), any Error>.makeStream()
        let task = Task {
            do {
                for try await doc in documents {
                    guard let type = doc["type"]?.stringValue, let object = doc["object"] else {
                        throw Failure(status: nil, message: "watching \(kind.plural): a line that is not a watch event")
                    }
                    continuation.yield((type, object))
                }
                continuation.finish()
            } catch let failure as JSONLines.Failure {
                continuation.finish(throwing: Failure(status: nil, message: "watching \(kind.plural): \(failure.message)"))
            } catch {
                continuation.finish(throwing: error)
            }
        }
        continuation.onTermination = { _ in task.cancel() }
        return stream
    }

    private func authorize(_ request: inout HTTPClientRequest) {
        if let authorization { request.headers.add(name: "Authorization", value: authorization) }
    }

    /// A refusal in words: the status, a hint when it is about the token, the upstream's text.
    func refusal(_ status: Int, _ body: [UInt8]) -> String {
        let hint = switch status {
        case 401: authorization == nil ? " (it wants a token: --upstream-token-file)" : " (it does not take the token of --upstream-token-file)"
        case 403: " (the token of --upstream-token-file lacks a role: it needs admin)"
        default: ""
        }
        return "HTTP \(status)\(hint): \(Self.text(body))"
    }

    /// mkube's errors are text/plain; anything else is shown as text too, cut short.
    static func text<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
        let s = String(decoding: bytes.prefix(1000), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return s.isEmpty ? "(empty answer)" : s
    }
}
