/// Checks an iPXE script before any machine gets it, whichever boot method (built in or a
/// plugin's) wrote it: it starts with `#!ipxe`, every line runs a command from a fixed list (never
/// `shell`, which would leave an unattended console open, nor commands that change the script's
/// flow in ways bootgate cannot follow), and every URI is http, https, tftp or iscsi with nothing
/// iPXE would expand or cut (`${`, `#`).
public enum IPXEScriptChecker {
    /// The commands a boot script may run (iPXE's names).
    public static let commands: Set<String> = [
        "echo", "sanboot", "sanhook", "sanunhook", "exit", "kernel", "initrd", "imgfetch", "module", "chain",
        "imgargs", "imgexec", "boot", "dhcp", "ifconf", "ifopen", "sleep", "prompt", "set", "isset", "iseq",
    ]
    static let schemes = ["http://", "https://", "tftp://", "iscsi:"]

    /// Every problem, with its line number; empty when the script may be served.
    public static func problems(_ script: String) -> [String] {
        var problems: [String] = []
        let lines = script.split(separator: "\n", omittingEmptySubsequences: false)
        if lines.first != "#!ipxe" { problems.append("line 1: a script must start with #!ipxe") }
        for (n, line) in lines.enumerated().dropFirst() {
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard let command = words.first, !command.hasPrefix("#") else { continue }
            if line.contains("\r") || line.unicodeScalars.contains(where: { $0.value < 0x20 && $0 != "\t" }) {
                problems.append("line \(n + 1): control character")
                continue
            }
            if command == "shell" { problems.append("line \(n + 1): shell is never served (it leaves an unattended console open)"); continue }
            // `goto`/labels are left out: a script that jumps cannot be checked line by line.
            guard commands.contains(String(command)) else {
                problems.append("line \(n + 1): command \"\(IPXEValue.sanitise(String(command), maxLength: 40))\" is not allowed in a boot script")
                continue
            }
            if command == "echo" { continue }
            for word in words.dropFirst() {
                let w = String(word)
                if w.contains("${") && command != "chain" { problems.append("line \(n + 1): \"${\" in \(command) arguments"); continue }
                guard let uri = uri(in: w) else { continue }
                if !schemes.contains(where: { uri.hasPrefix($0) }) {
                    problems.append("line \(n + 1): URI \"\(IPXEValue.sanitise(w, maxLength: 80))\" is not http, https, tftp or iscsi")
                } else if w.contains("#") {
                    problems.append("line \(n + 1): URI contains \"#\", which cuts it")
                }
            }
        }
        return problems
    }

    /// The URI in a word: the word itself, or what follows `key=` (a kernel argument such as
    /// `inst.ks=http://…`); nil when there is none.
    static func uri(in word: String) -> Substring? {
        if word.hasPrefix("iscsi:") { return Substring(word) }
        guard let sep = word.range(of: "://") else { return nil }
        var start = sep.lowerBound
        while start > word.startIndex, word[word.index(before: start)].isLetter { start = word.index(before: start) }
        return word[start...]
    }
}

/// The boot methods scripts are written with: the built-in ones and any a plugin adds. Fixed once
/// built, so lookups need no locking.
public struct IPXEBootMethods: Sendable {
    private let methods: [String: any BootMethod]
    public static let builtins: [any BootMethod] = [SanbootMethod(), KernelBootMethod(), LocalBootScript()]
    public static let defaultISOMethod = "sanboot"
    public static let localMethod = "local"

    /// Built-ins first; an extra method cannot replace one of them.
    public init(extra: [any BootMethod] = []) {
        var m: [String: any BootMethod] = [:]
        for b in Self.builtins { m[b.name] = b }
        for e in extra where m[e.name] == nil { m[e.name] = e }
        methods = m
    }

    public var names: [String] { methods.keys.sorted() }
    public func method(_ name: String) -> (any BootMethod)? { methods[name] }
    public func isBuiltin(_ name: String) -> Bool { Self.builtins.contains { $0.name == name } }

    /// The script of `name` for `request`, checked; throws with every problem otherwise.
    public func script(_ name: String, for request: BootRequest) throws(IPXEScript.Invalid) -> String {
        guard let method = methods[name] else {
            throw IPXEScript.Invalid(problems: ["no boot method \"\(IPXEValue.sanitise(name, maxLength: 40))\"; known: \(names.joined(separator: ", "))"])
        }
        let script = try method.script(for: request)
        let problems = IPXEScriptChecker.problems(script)
        if !problems.isEmpty { throw IPXEScript.Invalid(problems: ["boot method \(name) wrote a script that cannot be served: " + problems.joined(separator: "; ")]) }
        return script
    }
}
