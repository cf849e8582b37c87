/// One finding about a boot config file, with where it is: a line for text formats,
/// a JSON pointer (RFC 6901) for JSON formats.
public struct Diagnostic: Sendable, Hashable, Codable {
    public enum Severity: String, Sendable, Codable { case error, warning }

    public var severity: Severity
    /// The file's key in `spec.data` (e.g. `config.ign`).
    public var file: String
    /// 1-based line, for text formats.
    public var line: Int?
    /// JSON pointer into the file, for JSON formats ("" is the whole document).
    public var pointer: String?
    public var message: String

    public init(_ severity: Severity = .error, file: String, line: Int? = nil, pointer: String? = nil, message: String) {
        self.severity = severity
        self.file = file
        self.line = line
        self.pointer = pointer
        self.message = message
    }

    /// `file:line: message` or `file#/json/pointer: message`, as `bootgate validate` prints it.
    public var located: String {
        if let line { return "\(file):\(line): \(message)" }
        if let pointer { return "\(file)#\(pointer): \(message)" }
        return "\(file): \(message)"
    }
}

extension Array where Element == Diagnostic {
    public var hasErrors: Bool { contains { $0.severity == .error } }
}
