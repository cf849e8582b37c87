import Foundation
import Renderers
import Yams

/// Checks one rendered cloud-init file: the user-data part type named by its first line, and
/// the YAML of cloud-config documents, with the line of each problem.
///
/// Line numbers refer to the rendered text. bootgate's template values hold no line breaks, so
/// they match the stored file's lines.
enum CloudInitContentChecker {
    /// Part types cloud-init recognises by their first line, besides `#cloud-config`.
    /// Their bodies are not checked: scripts and boothooks are opaque to bootgate.
    static let opaqueHeaders = ["#cloud-boothook", "#part-handler", "#upstart-job"]

    /// A user-data file (`user-data`, `vendor-data`, or a config's only file).
    static func checkUserData(file: String, text: String) -> [Diagnostic] {
        let firstLine = text.split(maxSplits: 1, omittingEmptySubsequences: false, whereSeparator: \.isNewline).first
            .map { String($0).trimmingTrailingWhitespace() } ?? ""
        if text.allSatisfy(\.isWhitespace) {
            return [Diagnostic(file: file, line: 1, message: "user-data is empty; it must start with '#cloud-config'")]
        }
        if firstLine == "#cloud-config" {
            return checkCloudConfig(file: file, text: text)
        }
        if firstLine == "#cloud-config-archive" {
            return checkYAML(file: file, text: text, expect: .sequence)
        }
        if firstLine.hasPrefix("#!") || opaqueHeaders.contains(firstLine) {
            return []
        }
        if firstLine == "#include" || firstLine == "#include-once" {
            return checkIncludeList(file: file, text: text)
        }
        if firstLine.lowercased().hasPrefix("content-type: multipart/") {
            return []
        }
        let shown = firstLine.count > 40 ? String(firstLine.prefix(40)) + "…" : firstLine
        let hint = firstLine.lowercased().hasPrefix("#cloud-config")
            ? " (the header line must be exactly '#cloud-config')"
            : ""
        return [Diagnostic(file: file, line: 1, message:
            "user-data must start with a '#cloud-config' line\(hint); found '\(shown)'. "
            + "Other accepted part types: '#!' scripts, '#include', '#cloud-boothook', '#part-handler', "
            + "'#cloud-config-archive', or a MIME multipart message")]
    }

    /// A file that cloud-init reads as a plain YAML mapping (`meta-data`, `network-config`, `*.yaml`).
    static func checkYAMLMapping(file: String, text: String) -> [Diagnostic] {
        checkYAML(file: file, text: text, expect: .mapping)
    }

    // MARK: - cloud-config

    /// Top-level keys whose values cloud-init requires to be lists; a scalar there is a
    /// common mistake that cloud-init only reports on the booting machine's console.
    static let listKeys: Set<String> = ["runcmd", "bootcmd", "packages", "write_files", "ssh_authorized_keys", "mounts"]
    /// Top-level keys that must be plain values.
    static let scalarKeys: Set<String> = ["hostname", "fqdn", "timezone", "locale"]

    static func checkCloudConfig(file: String, text: String) -> [Diagnostic] {
        let root: Node?
        switch compose(file: file, text: text) {
        case .success(let node): root = node
        case .failure(let problem): return [problem.diagnostic]
        }
        // A header with nothing after it is a valid, empty cloud-config.
        guard let root else { return [] }
        guard case .mapping(let mapping) = root else {
            return [Diagnostic(file: file, line: root.mark?.line,
                               message: "a cloud-config must be a YAML mapping of directives, found \(kindName(root))")]
        }
        var diagnostics: [Diagnostic] = []
        for (key, value) in mapping {
            guard let name = key.string else {
                diagnostics.append(Diagnostic(file: file, line: key.mark?.line, message: "cloud-config keys must be strings"))
                continue
            }
            let line = value.mark?.line ?? key.mark?.line
            if listKeys.contains(name), value.sequence == nil, !isNull(value) {
                diagnostics.append(Diagnostic(file: file, line: line,
                                              message: "'\(name)' must be a list, found \(kindName(value))"))
            }
            if scalarKeys.contains(name), value.scalar == nil {
                diagnostics.append(Diagnostic(file: file, line: line,
                                              message: "'\(name)' must be a single value, found \(kindName(value))"))
            }
            if name == "write_files", let entries = value.sequence {
                diagnostics += checkWriteFiles(file: file, entries: entries)
            }
        }
        return diagnostics
    }

    static func checkWriteFiles(file: String, entries: Node.Sequence) -> [Diagnostic] {
        entries.compactMap { entry in
            guard let fields = entry.mapping else {
                return Diagnostic(file: file, line: entry.mark?.line,
                                  message: "each 'write_files' entry must be a mapping with a 'path'")
            }
            guard let path = fields["path"]?.string, !path.isEmpty else {
                return Diagnostic(file: file, line: entry.mark?.line, message: "'write_files' entry has no 'path'")
            }
            return nil
        }
    }

    // MARK: - other part types

    /// `#include` lists one URL a line; cloud-init ignores blank and `#` lines.
    static func checkIncludeList(file: String, text: String) -> [Diagnostic] {
        var diagnostics: [Diagnostic] = []
        for (index, raw) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated().dropFirst() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            if !(line.hasPrefix("http://") || line.hasPrefix("https://")) {
                diagnostics.append(Diagnostic(file: file, line: index + 1,
                                              message: "'#include' lines must be http:// or https:// URLs"))
            }
        }
        return diagnostics
    }

    // MARK: - YAML

    struct YAMLProblem: Error { var diagnostic: Diagnostic }

    /// The document's root node (nil when empty), or the parse error at its line.
    static func compose(file: String, text: String) -> Result<Node?, YAMLProblem> {
        do {
            return .success(try Yams.compose(yaml: text))
        } catch {
            return .failure(YAMLProblem(diagnostic: diagnostic(file: file, text: text, error: error)))
        }
    }

    enum Expectation { case mapping, sequence }

    static func checkYAML(file: String, text: String, expect: Expectation) -> [Diagnostic] {
        let root: Node?
        switch compose(file: file, text: text) {
        case .success(let node): root = node
        case .failure(let problem): return [problem.diagnostic]
        }
        guard let root else { return [] }
        switch (expect, root) {
        case (.mapping, .mapping), (.sequence, .sequence):
            return []
        case (.mapping, _):
            return [Diagnostic(file: file, line: root.mark?.line, message: "must be a YAML mapping, found \(kindName(root))")]
        case (.sequence, _):
            return [Diagnostic(file: file, line: root.mark?.line, message: "must be a YAML list, found \(kindName(root))")]
        }
    }

    /// A YAML parse error as a diagnostic at the line libyaml reported.
    static func diagnostic(file: String, text: String, error: any Error) -> Diagnostic {
        guard let yamlError = error as? YamlError else {
            return Diagnostic(file: file, message: "YAML: \(error)")
        }
        switch yamlError {
        case .scanner(let context, let problem, let mark, _),
             .parser(let context, let problem, let mark, _),
             .composer(let context, let problem, let mark, _):
            let contextNote = context.map { " (\($0.text), from line \($0.mark.line))" } ?? ""
            // At the end of the text the problem's own line says nothing; where the unclosed
            // construct started does.
            if problem.contains("end of stream"), let context {
                return Diagnostic(file: file, line: context.mark.line, message: "YAML: \(problem)\(contextNote)")
            }
            return Diagnostic(file: file, line: mark.line, message: "YAML: \(problem)\(contextNote) at column \(mark.column)")
        case .reader(let problem, let offset, _, _):
            let line = offset.map { lineNumber(ofCharacterOffset: $0, in: text) }
            return Diagnostic(file: file, line: line, message: "YAML: \(problem)")
        case .duplicatedKeysInMapping(let duplicates, let context):
            let keys = duplicates.map { "'\($0)'" }.joined(separator: ", ")
            return Diagnostic(file: file, line: context.mark.line > 0 ? context.mark.line : nil,
                              message: "YAML: key \(keys) appears more than once in the same mapping (first here)")
        default:
            return Diagnostic(file: file, message: "YAML: \(yamlError)")
        }
    }

    static func lineNumber(ofCharacterOffset offset: Int, in text: String) -> Int {
        text.prefix(offset).reduce(1) { $1.isNewline ? $0 + 1 : $0 }
    }

    static func isNull(_ node: Node) -> Bool {
        if case .scalar(let scalar) = node { return scalar.string.isEmpty || scalar.string == "null" || scalar.string == "~" }
        return false
    }

    static func kindName(_ node: Node) -> String {
        switch node {
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .scalar(let scalar): return "the value '\(scalar.string.count > 30 ? String(scalar.string.prefix(30)) + "…" : scalar.string)'"
        case .alias: return "an alias"
        }
    }
}

extension String {
    func trimmingTrailingWhitespace() -> String {
        var end = endIndex
        while end > startIndex, let last = self[..<end].last, last == " " || last == "\t" || last == "\r" {
            end = index(before: end)
        }
        return String(self[..<end])
    }
}
