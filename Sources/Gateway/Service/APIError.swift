import Foundation

/// An error as clients receive it: a Kubernetes `Status` object whose message names the field
/// or object at fault. The same value is the JSON-RPC error's `data`.
public struct APIError: Error, Sendable, Equatable {
    public struct Cause: Sendable, Equatable {
        public var field: String
        public var message: String
        public var reason: String
        public init(field: String, message: String, reason: String = "FieldValueInvalid") {
            self.field = field
            self.message = message
            self.reason = reason
        }
    }

    public var code: Int
    public var reason: String
    public var message: String
    public var kind: ResourceKind?
    public var name: String?
    public var causes: [Cause]
    /// Extra headers (e.g. `Allow` on 405).
    public var retryAfter: Int?
    /// Set when the store moved past what the write was checked against: the Service checks it
    /// once more when its index has reached this revision (`Service.serialized`).
    var retryAfterRevision: Int64?
    /// A 410 on a paged list: the token that reads the rest from the current state (the
    /// Status's `metadata.continue`, as Kubernetes gives it).
    public var listContinue: String?

    public init(code: Int, reason: String, message: String, kind: ResourceKind? = nil, name: String? = nil, causes: [Cause] = []) {
        self.code = code
        self.reason = reason
        self.message = message
        self.kind = kind
        self.name = name
        self.causes = causes
        self.retryAfter = nil
    }

    public static func badRequest(_ message: String, causes: [Cause] = []) -> APIError {
        APIError(code: 400, reason: "BadRequest", message: message, causes: causes)
    }
    /// A write that breaks a rule: 400, reason `Invalid`, one cause per field at fault.
    public static func invalid(_ kind: ResourceKind, _ name: String, _ causes: [Cause]) -> APIError {
        let detail = causes.map { "\($0.field): \($0.message)" }.joined(separator: "; ")
        return APIError(code: 400, reason: "Invalid", message: "\(kind.rawValue) \"\(name)\" is invalid: \(detail)",
                        kind: kind, name: name, causes: causes)
    }
    public static func notFound(_ key: ObjectKey) -> APIError {
        APIError(code: 404, reason: "NotFound", message: "\(key.kind.rawValue) \"\(key)\" not found", kind: key.kind, name: key.name)
    }
    public static func alreadyExists(_ key: ObjectKey) -> APIError {
        APIError(code: 409, reason: "AlreadyExists", message: "\(key.kind.rawValue) \"\(key)\" already exists", kind: key.kind, name: key.name)
    }
    public static func conflict(_ key: ObjectKey, _ message: String) -> APIError {
        APIError(code: 409, reason: "Conflict", message: "\(key.kind.rawValue) \"\(key)\": \(message)", kind: key.kind, name: key.name)
    }
    public static func gone(_ message: String) -> APIError {
        APIError(code: 410, reason: "Expired", message: message)
    }
    public static func methodNotAllowed(_ message: String) -> APIError {
        APIError(code: 405, reason: "MethodNotAllowed", message: message)
    }
    /// The request was fine; the server's disk has no room to keep it (store or ISO folder).
    static func insufficientStorage(_ message: String) -> APIError {
        var e = APIError(code: 507, reason: "InsufficientStorage", message: message)
        e.retryAfter = 30
        return e
    }

    public static func internalError(_ message: String) -> APIError {
        APIError(code: 500, reason: "InternalError", message: message)
    }
    public static func unsupportedMediaType(_ message: String) -> APIError {
        APIError(code: 415, reason: "UnsupportedMediaType", message: message)
    }
    public static func notAcceptable(_ message: String) -> APIError {
        APIError(code: 406, reason: "NotAcceptable", message: message)
    }

    /// The Kubernetes `reason` for a status another server answered with.
    static func reason(for status: Int) -> String {
        switch status {
        case 400: "BadRequest"
        case 401: "Unauthorized"
        case 403: "Forbidden"
        case 404: "NotFound"
        case 405: "MethodNotAllowed"
        case 409: "Conflict"
        case 422: "Invalid"
        case 503: "ServiceUnavailable"
        case 500...: "InternalError"
        default: "BadRequest"
        }
    }

    /// The `Status` object.
    public var status: JSONValue {
        var obj: JSONObject = JSONObject([
            ("kind", "Status"), ("apiVersion", "v1"), ("metadata", .object(listContinue.map { JSONObject([("continue", .string($0))]) } ?? JSONObject())),
            ("status", "Failure"), ("message", .string(message)), ("reason", .string(reason)),
        ])
        var details = JSONObject()
        if let name { details["name"] = .string(name) }
        if let kind { details["kind"] = .string(kind.plural) }
        if !causes.isEmpty {
            details["causes"] = .array(causes.map {
                .object(JSONObject([("reason", .string($0.reason)), ("message", .string($0.message)), ("field", .string($0.field))]))
            })
        }
        if !details.isEmpty { obj["details"] = .object(details) }
        obj["code"] = .int(Int64(code))
        return .object(obj)
    }
}

extension APIError {
    /// The error with every occurrence of `secrets` in its texts replaced.
    func redacting(_ secrets: [String]) -> APIError {
        let secrets = secrets.filter { !$0.isEmpty }
        guard !secrets.isEmpty else { return self }
        func clean(_ text: String) -> String { secrets.reduce(text) { $0.replacingOccurrences(of: $1, with: "<redacted>") } }
        var e = self
        e.message = clean(e.message)
        e.causes = e.causes.map { Cause(field: $0.field, message: clean($0.message), reason: $0.reason) }
        return e
    }
}

extension Service {
    /// A 5xx answer is bootgate's own failure, so it is logged, whichever transport gave it.
    func noteFailure(of operationID: String, _ error: APIError) {
        if error.code >= 500 { logger.error("\(operationID) failed: \(error.message)") }
    }
}
