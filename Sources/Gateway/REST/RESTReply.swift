import HTTPTypes
import Hummingbird
import NIOCore

/// A finished REST answer: status, headers and body, encoded as mkube does (JSON + newline).
/// The async responder and the inline boot lane both send these, so they cannot drift. (mkube
/// also said `Access-Control-Allow-Origin: *` on every answer; bootgate does not: `CORSPolicy`.)
struct RESTReply: Sendable {
    var status: Int
    var headers: HTTPFields
    var body: [UInt8]

    init(status: Int, headers: HTTPFields, body: [UInt8]) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// Every result but a watch stream, which only the async responder can send. Lists are
    /// assembled from `lists`, each object's cached encoding.
    init?(_ result: OperationResult, accept: String?, lists: EncodedObjects) {
        switch result {
        case .resource(let object, let status, let warnings):
            let body = TableView.wanted(accept) ? TableView.table(object.kind, [object], revision: nil) : object.json
            self = .json(body, status: status)
            for w in warnings { headers.append(HTTPField(name: HTTPField.Name("Warning")!, value: "299 - \(JSONWriter.string(.string(w)))")) }
        case .list(let kind, let items, let revision):
            if TableView.wanted(accept) {
                self = .json(TableView.table(kind, items, revision: revision), status: 200)
            } else {
                self.init(status: 200, headers: Self.jsonHeaders, body: lists.list(kind, items, revision: revision))
            }
        case .json(let value, let status):
            self = .json(value, status: status)
        case .bytes(let bytes, let contentType, let status, let extra):
            self.init(status: status, headers: [.contentType: contentType], body: bytes)
            for (n, v) in extra { if let name = HTTPField.Name(n) { headers[name] = v } }
        case .watch, .file:
            return nil
        }
    }

    static func json(_ value: JSONValue, status: Int) -> RESTReply {
        RESTReply(status: status, headers: jsonHeaders, body: JSONWriter.bytes(value, trailingNewline: true))
    }

    /// A JSON answer's headers.
    static let jsonHeaders: HTTPFields = [.contentType: "application/json"]

    static func error(_ error: APIError) -> RESTReply {
        var reply = json(error.status, status: error.code)
        if error.code == 401 { reply.headers[.wwwAuthenticate] = "Bearer realm=\"bootgate\"" }
        if let seconds = error.retryAfter { reply.headers[.retryAfter] = String(seconds) }
        return reply
    }

    /// As a Hummingbird response; a HEAD request gets the headers and an empty body.
    func response(head: Bool = false) -> Response {
        Response(status: HTTPResponse.Status(code: status), headers: headers,
                 body: head || body.isEmpty ? ResponseBody() : ResponseBody(byteBuffer: ByteBuffer(bytes: body)))
    }
}
