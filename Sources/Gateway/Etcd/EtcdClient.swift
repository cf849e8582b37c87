import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL
import Synchronization

/// etcd v3 through its JSON gateway (`/v3/kv/…`, `/v3/watch`), with async-http-client: the
/// gateway is part of every etcd, needs no generated code, and the payloads are a few small
/// calls. Keys and values travel base64-encoded, revisions as decimal strings (proto3 JSON).
/// Requests go to one member of the list and move to the next when it does not answer.
public final class EtcdClient: Sendable {
    struct Failure: Error, Sendable {
        /// False when no member answered (as opposed to etcd refusing the request).
        var reached: Bool
        var message: String
    }

    public struct TLS: Sendable {
        public var ca: String?
        public var cert: String?
        public var key: String?
        public init(ca: String?, cert: String?, key: String?) {
            self.ca = ca
            self.cert = cert
            self.key = key
        }
    }

    let endpoints: [String]
    let http: HTTPClient
    private let current = Atomic<Int>(0)
    static let timeout: TimeAmount = .seconds(5)

    init(endpoints: [String], tls: TLS?) throws {
        self.endpoints = endpoints
        var config = HTTPClient.Configuration()
        if let tls {
            var t = TLSConfiguration.makeClientConfiguration()
            if let ca = tls.ca { t.trustRoots = .file(ca) }
            if let cert = tls.cert, let key = tls.key {
                t.certificateChain = try NIOSSLCertificate.fromPEMFile(cert).map { .certificate($0) }
                t.privateKey = .privateKey(try NIOSSLPrivateKey(file: key, format: .pem))
            }
            config.tlsConfiguration = t
        }
        config.timeout = .init(connect: .seconds(2))
        config.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 32)
        http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: config)
    }

    /// A unary call: the JSON answer of the first member that gives one.
    func call(_ path: String, _ body: JSONValue) async throws(Failure) -> JSONValue {
        let bytes = JSONWriter.bytes(body)
        var last = Failure(reached: false, message: "no etcd endpoint")
        for attempt in 0..<endpoints.count {
            let i = (current.load(ordering: .relaxed) + attempt) % endpoints.count
            var request = HTTPClientRequest(url: endpoints[i] + path)
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: bytes))
            do {
                let response = try await http.execute(request, timeout: Self.timeout)
                let data = Array(try await response.body.collect(upTo: 256 << 20).readableBytesView)
                let json = try? JSONParser.parse(data)
                guard response.status == .ok, let json else {
                    let message = json?["message"]?.stringValue ?? json?["error"]?.stringValue ?? String(decoding: data.prefix(300), as: UTF8.self)
                    // A member without a leader answers; another member may have one.
                    last = Failure(reached: true, message: "etcd \(endpoints[i]): \(response.status.code) \(message)")
                    continue
                }
                if attempt > 0 { current.store(i, ordering: .relaxed) }
                return json
            } catch {
                last = Failure(reached: false, message: "etcd \(endpoints[i]): \(error)")
            }
        }
        throw last
    }

    /// A watch: each `result` etcd streams, until the stream breaks.
    func watch(_ create: JSONValue) async throws(Failure) -> AsyncThrowingStream<JSONValue, any Error> {
        var lastError = Failure(reached: false, message: "no etcd endpoint")
        for attempt in 0..<endpoints.count {
            let i = (current.load(ordering: .relaxed) + attempt) % endpoints.count
            var request = HTTPClientRequest(url: endpoints[i] + "/v3/watch")
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: JSONWriter.bytes(["create_request": create])))
            let response: HTTPClientResponse
            do {
                // A watch of a quiet store is silent: no deadline. A dead member is noticed by
                // the store's probe, which ends the watch.
                response = try await http.execute(request, deadline: .distantFuture)
            } catch {
                lastError = Failure(reached: false, message: "etcd \(endpoints[i]) watch: \(error)")
                continue
            }
            guard response.status == .ok else {
                lastError = Failure(reached: true, message: "etcd \(endpoints[i]) watch: \(response.status.code)")
                continue
            }
            current.store(i, ordering: .relaxed)
            let documents = JSONLines.documents(of: response.body, maxLine: 256 << 20)
            let member = endpoints[i]
            let (stream, continuation) = AsyncThrowingStream<JSONValue, any Error>.makeStream()
            let task = Task {
                do {
                    for try await doc in documents {
                        guard let result = doc["result"] else {
                            throw Failure(reached: true, message: "etcd watch: \(doc["error"]?["message"]?.stringValue ?? "an answer without a result")")
                        }
                        continuation.yield(result)
                    }
                    continuation.finish(throwing: Failure(reached: false, message: "etcd \(member) ended the watch"))
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
            return stream
        }
        throw lastError
    }

    func shutdown() async { try? await http.shutdown() }

    static func b64(_ s: String) -> JSONValue { .string(Data(s.utf8).base64EncodedString()) }
    static func b64(_ bytes: [UInt8]) -> JSONValue { .string(Data(bytes).base64EncodedString()) }
    static func decode(_ v: JSONValue?) -> [UInt8] { v?.stringValue.flatMap { Data(base64Encoded: $0) }.map { Array($0) } ?? [] }
    static func int(_ v: JSONValue?) -> Int64 { v?.stringValue.flatMap { Int64($0) } ?? v?.intValue ?? 0 }
}
