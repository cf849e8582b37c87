/// How substituted values are written into a boot config.
public enum TemplateEscaping: Sendable {
    /// Values are inserted as they are (kickstart, plain text). Values holding a line break or
    /// another control character are refused, so a label cannot smuggle in a kickstart command.
    case none
    /// Values are escaped for use inside a JSON string literal (Ignition): `"`, `\` and control
    /// characters become JSON escapes. The surrounding quotes are the template author's.
    case jsonString
}

/// One name usable inside `{{…}}` in a boot config.
public struct TemplateVariable: Sendable, Hashable, Codable {
    public var name: String
    public var description: String
    public init(name: String, description: String) {
        self.name = name
        self.description = description
    }
}
