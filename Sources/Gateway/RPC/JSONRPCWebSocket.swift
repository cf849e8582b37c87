import Foundation
import HummingbirdWebSocket
import NIOCore
import Synchronization

/// JSON-RPC over a WebSocket (`/rpc/ws`): the same requests as `POST /rpc`, and watches. A list
/// method with `"watch": true` answers `{"subscription": "<id>"}` and then sends each event as
/// a `watch.event` notification; `rpc.unsubscribe` with that id stops it.
struct JSONRPCWebSocketSession: Sendable {
    let server: JSONRPCServer
    /// The upgrade request's address and `Authorization`: every message runs as that caller.
    let caller: JSONRPCServer.Caller
    /// Watches one connection may hold open: each holds a subscriber and its buffer.
    static let maxSubscriptions = 64

    func run(inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter) async throws {
        let subscriptions = Subscriptions()
        let writer = OutboundSerializer(outbound)
        defer { subscriptions.cancelAll() }
        for try await message in inbound.messages(maxSize: 16 * 1024 * 1024) {
            guard case .text(let text) = message else {
                try await writer.send(JSONRPCServer.response(id: .null, error: JSONRPCServer.error(JSONRPCServer.invalidRequest, "Invalid Request: send text frames")))
                continue
            }
            if let unsubscribed = unsubscribe(text, subscriptions) {
                try await writer.send(unsubscribed)
                continue
            }
            // Events flow only once the reply naming the subscription is on the wire.
            let started = PendingWatches()
            let reply = await server.handle(parsing: Array(text.utf8), caller: caller) { op, req in
                guard subscriptions.count + started.count < Self.maxSubscriptions else {
                    return .failure(JSONRPCServer.error(429, "Too many watches: a connection may hold \(Self.maxSubscriptions); unsubscribe one first"))
                }
                // Stopped when the session's token is revoked (the stream then ends: watch.end).
                var req = req
                req.watchControl = WatchControl()
                do throws(APIError) {
                    guard case .watch(_, let stream) = try await server.runner.run(op, req) else {
                        return .failure(JSONRPCServer.error(JSONRPCServer.invalidParams, "Invalid params: \(op.id) cannot watch"))
                    }
                    let id = subscriptions.nextID()
                    started.add(id, stream)
                    return .result(["subscription": .string(id)])
                } catch {
                    return .failure(JSONRPCServer.error(error))
                }
            }
            if let reply { try await writer.send(reply) }
            for (id, stream) in started.take() {
                subscriptions.add(id, Task {
                    for await item in stream {
                        guard case .event(let type, let object) = item else { continue }
                        let note: JSONValue = .object(JSONObject([("jsonrpc", "2.0"), ("method", "watch.event"), ("params", .object(JSONObject([
                            ("subscription", .string(id)), ("type", .string(type)), ("object", object.json)])))]))
                        do { try await writer.send(note) } catch { return }
                    }
                    try? await writer.send(.object(JSONObject([("jsonrpc", "2.0"), ("method", "watch.end"), ("params", ["subscription": .string(id)])])))
                    subscriptions.ended(id)
                })
            }
        }
    }

    /// `rpc.unsubscribe` is answered here, since only the session knows its subscriptions.
    private func unsubscribe(_ text: String, _ subscriptions: Subscriptions) -> JSONValue? {
        guard let request = try? JSONParser.parse(text), request["method"] == .string("rpc.unsubscribe") else { return nil }
        let id = request["id"]
        guard let sub = request["params"]?["subscription"]?.stringValue else {
            return id.map { JSONRPCServer.response(id: $0, error: JSONRPCServer.error(JSONRPCServer.invalidParams, "Invalid params: \"subscription\" is required")) }
        }
        let stopped = subscriptions.cancel(sub)
        return id.map { JSONRPCServer.response(id: $0, result: .bool(stopped)) }
    }
}

/// One writer at a time on the socket: replies and notifications from several watches interleave
/// whole.
actor OutboundSerializer {
    let outbound: WebSocketOutboundWriter
    init(_ outbound: WebSocketOutboundWriter) { self.outbound = outbound }
    func send(_ value: JSONValue) async throws {
        try await outbound.write(.text(JSONWriter.string(value)))
    }
}

/// A session's running watches.
final class Subscriptions: Sendable {
    private let state = Mutex<(tasks: [String: Task<Void, Never>], counter: Int)>(([:], 0))

    func nextID() -> String {
        state.withLock { s in
            s.counter += 1
            return "w\(s.counter)"
        }
    }

    func add(_ id: String, _ task: Task<Void, Never>) { state.withLock { $0.tasks[id] = task } }

    var count: Int { state.withLock { $0.tasks.count } }

    /// A watch that ended by itself no longer counts against the cap.
    func ended(_ id: String) { state.withLock { _ = $0.tasks.removeValue(forKey: id) } }

    func cancel(_ id: String) -> Bool {
        let task = state.withLock { $0.tasks.removeValue(forKey: id) }
        task?.cancel()
        return task != nil
    }

    func cancelAll() {
        let tasks = state.withLock { s in
            defer { s.tasks.removeAll() }
            return Array(s.tasks.values)
        }
        for t in tasks { t.cancel() }
    }
}

/// Watches a message opened, waiting for its reply to be sent.
final class PendingWatches: Sendable {
    private let items = Mutex<[(String, AsyncStream<WatchItem>)]>([])
    func add(_ id: String, _ stream: AsyncStream<WatchItem>) { items.withLock { $0.append((id, stream)) } }
    func take() -> [(String, AsyncStream<WatchItem>)] { items.withLock { i in defer { i.removeAll() }; return i } }
    var count: Int { items.withLock { $0.count } }
}
