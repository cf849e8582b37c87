/// What one kickstart command (or section header) accepts: its options, its positional
/// arguments and the rules between them. `KickstartSyntax` holds the table for the supported
/// Fedora release; `KickstartArguments` reads a line against one of these.
struct KickstartCommandSpec: Sendable {
    /// How the words after the command are read.
    enum Reading: Sendable {
        /// Options and positional arguments, the way pykickstart's option parser reads them.
        case options
        /// Anything at all (pykickstart hands the raw line on: `authselect`).
        case anything
        /// `realm join …`, read with getopt rules (`KickstartRealm`).
        case realm
    }

    /// What pykickstart does with an option it does not know.
    enum UnknownOptions: Sendable {
        /// An error (almost every command).
        case refused
        /// Taken as one more positional argument (`volgroup` takes it for a member name);
        /// bootgate still refuses it, as a deliberate stricter rule.
        case takenAsArgument
    }

    var name: String
    var reading: Reading = .options
    var options: [KickstartOption] = []
    var positionals = KickstartPositionals.none
    var unknownOptions = UnknownOptions.refused
    var rules: [KickstartRule] = []
    /// May appear on many lines (pykickstart keeps a list of them).
    var repeatable = false
    /// For repeatable commands: the identity pykickstart compares to refuse a second definition
    /// of the same thing (same user name, same mount point, …), and how to name it.
    var identity: (@Sendable (KickstartInvocation) -> String?)?
    var identityNoun = ""

    /// The option a written name stands for: exact, or nil.
    func option(named name: String) -> KickstartOption? {
        options.first { $0.names.contains(name) }
    }

    /// Every option name that starts with `prefix` (argparse's abbreviations), with its option.
    func options(startingWith prefix: String) -> [(name: String, option: KickstartOption)] {
        options.flatMap { option in option.names.filter { $0.hasPrefix(prefix) }.map { ($0, option) } }
    }
}

/// One `--option` of a command, with its aliases.
struct KickstartOption: Sendable {
    /// How the option takes a value.
    enum Kind: Sendable, Equatable {
        /// No value; `--flag=value` is an error.
        case flag
        /// One value, any text.
        case text
        /// One value, a comma-separated list (empty items are dropped).
        case list
        /// One value, a whole number as Python's `int()` reads it.
        case integer
        /// One value: on/off, yes/no, true/false, 1/0 (any case).
        case boolean
        /// One value from a fixed set.
        case choice([String], caseInsensitive: Bool)
        /// An optional value: `--reformat` or `--reformat=xfs` (the next word is taken when it is
        /// not an option).
        case optionalValue
    }

    /// The canonical name first, then aliases, each with its leading `--`.
    var names: [String]
    var kind: Kind
    var required = false
    /// Set when the option is deprecated: what to write instead. ksvalidator fails on it.
    var deprecated: String?

    var name: String { names[0] }

    func isRequired() -> KickstartOption { var o = self; o.required = true; return o }
    func deprecated(_ advice: String) -> KickstartOption { var o = self; o.deprecated = advice; return o }
}

/// How many positional arguments a command takes, and what they are (for messages).
struct KickstartPositionals: Sendable {
    var min: Int
    /// nil: no upper bound.
    var max: Int?
    var what: String
    /// The arguments must come as one run of words, not split by options: pykickstart reads
    /// the first run only and refuses the rest (`sshpw`'s password).
    var oneRun = false

    static let none = KickstartPositionals(min: 0, max: 0, what: "")
}

/// A rule between a command's arguments; returns what is wrong, or nil.
struct KickstartRule: Sendable {
    let check: @Sendable (KickstartInvocation) -> String?

    init(_ check: @escaping @Sendable (KickstartInvocation) -> String?) { self.check = check }

    /// At most one of these may be given (Python truthiness, as pykickstart tests them).
    static func atMostOne(_ names: String...) -> KickstartRule {
        KickstartRule { invocation in
            let given = names.filter { invocation.given($0) }
            return given.count > 1 ? "\(given.joined(separator: " and ")) cannot be used together" : nil
        }
    }

    /// Exactly one of these must be given.
    static func exactlyOne(_ names: String...) -> KickstartRule {
        KickstartRule { invocation in
            let given = names.filter { invocation.given($0) }
            if given.isEmpty { return "one of \(names.joined(separator: ", ")) is required" }
            return given.count > 1 ? "only one of \(given.joined(separator: ", ")) may be given" : nil
        }
    }

    /// When `name` is given, `other` must be too.
    static func requires(_ name: String, _ other: String) -> KickstartRule {
        KickstartRule { invocation in
            invocation.given(name) && !invocation.given(other) ? "\(name) requires \(other)" : nil
        }
    }

    /// `name` and `other` cannot both be given.
    static func excludes(_ name: String, _ other: String) -> KickstartRule {
        atMostOne(name, other)
    }
}
