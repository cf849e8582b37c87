/// One command line as read against its `KickstartCommandSpec`: the options given (last value
/// wins, as in pykickstart) and the positional arguments, for the rules to test.
struct KickstartInvocation: Sendable {
    let spec: KickstartCommandSpec
    /// Canonical option name → its last value ("" for a flag, or an optional value left out).
    var values: [String: String] = [:]
    /// Canonical option names in the order given (a name again each time it is repeated).
    var order: [String] = []
    var positionals: [String] = []

    init(spec: KickstartCommandSpec) { self.spec = spec }

    /// Written at all (pykickstart's `is not None`).
    func present(_ name: String) -> Bool { values[name] != nil }

    func text(_ name: String) -> String? { values[name] }

    func integer(_ name: String) -> Int? { values[name].flatMap(PythonInt.parse) }

    /// Given with a value Python counts as true, the way pykickstart's checks test options:
    /// an empty text, an empty list or a zero is as good as not given.
    func given(_ name: String) -> Bool {
        guard let value = values[name], let option = spec.option(named: name) else { return false }
        switch option.kind {
        case .flag, .optionalValue: return true
        case .integer: return (PythonInt.parse(value) ?? 0) != 0
        case .list: return !Self.items(value).isEmpty
        case .boolean: return KickstartArguments.boolean(value) == true
        case .text, .choice: return !value.isEmpty
        }
    }

    /// The items of a comma-separated list value, trimmed, empty ones dropped.
    static func items(_ value: String) -> [String] {
        value.split(separator: ",", omittingEmptySubsequences: false)
            .map { String($0).trimmingWhitespace() }
            .filter { !$0.isEmpty }
    }
}

/// Python's `int()` on a string, for options pykickstart declares `type=int`.
enum PythonInt {
    /// Blanks around, an optional sign, ASCII digits with single underscores between them.
    static func parse(_ text: String) -> Int? {
        let trimmed = text.trimmingWhitespace()
        var digits = Substring(trimmed)
        var negative = false
        if let sign = digits.first, sign == "+" || sign == "-" {
            negative = sign == "-"
            digits = digits.dropFirst()
        }
        guard let first = digits.first, first.isASCII, first.isNumber, digits.last?.isNumber == true, !digits.contains("__") else { return nil }
        guard digits.allSatisfy({ ($0.isASCII && $0.isNumber) || $0 == "_" }) else { return nil }
        guard let value = Int(digits.filter { $0 != "_" }) else { return nil }
        return negative ? -value : value
    }
}

extension String {
    /// Without leading and trailing blanks (space, tab, line breaks), as Python's `strip()`.
    func trimmingWhitespace() -> String {
        var s = Substring(self)
        while let c = s.first, c.isWhitespace { s = s.dropFirst() }
        while let c = s.last, c.isWhitespace { s = s.dropLast() }
        return String(s)
    }
}
