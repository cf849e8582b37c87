import ArgumentParser
import Foundation
import Gateway
import Logging
import Plugins
import Renderers

/// `bootgate validate FILE…`: the checks the server runs on write, for config repositories' CI.
struct Validate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check boot config files (or BootConfig manifests) the way the server does on write.",
        discussion: """
            The format comes from --format, else the extension: .ign/.ign.json → ignition, .ks/.cfg → kickstart, \
            a YAML file starting with #cloud-config → cloud-init. A YAML manifest of BootConfig objects is checked \
            object by object with each one's spec.format, and its findings point at lines of the YAML file. \
            Diagnostics print as file:line or file#/json/pointer; a clean run prints one summary line; \
            the exit status is 1 when any error was found. --json prints one JSON object per file instead.
            """)

    @Option(help: "Format of every file (ignition, kickstart, cloud-init, custom, or a plugin's).") var format: String?
    @Option(help: "Folder of out-of-process renderer plugins.") var pluginDir: String?
    @Flag(help: "Print one JSON object per file (file, errors, warnings, diagnostics) instead of text, for tools checking many files.") var json = false
    @Option(help: "Instead of files, list the objects on this running server that break the seed's rules (e.g. imported from mkube).") var server: String?
    @Argument(help: "Files to check.") var files: [String] = []

    func run() async throws {
        if let server { return try await checkServer(server) }
        let registry = await RendererRegistry(pluginDirectory: pluginDir, logger: quietLogger())
        if let format, registry.renderer(for: format) == nil {
            fail("unknown format \"\(format)\" for --format; known: \(registry.formatNames.joined(separator: ", "))")
        }
        var totals = (files: 0, errors: 0, warnings: 0)
        for path in files {
            let findings = await check(path: path, registry: registry)
            totals.files += 1
            totals.errors += findings.filter { $0.severity == .error }.count
            totals.warnings += findings.filter { $0.severity == .warning }.count
            if json {
                print(ValidateReport(file: path, findings: findings).line)
            } else {
                for finding in findings { print("\(finding.text) [\(finding.severity.rawValue)]") }
            }
        }
        if !json { print(Self.summary(files: totals.files, errors: totals.errors, warnings: totals.warnings)) }
        if totals.errors > 0 { throw ExitCode(1) }
    }

    static func summary(files: Int, errors: Int, warnings: Int) -> String {
        let checked = "\(files) file\(files == 1 ? "" : "s") checked"
        let warned = warnings == 0 ? "" : ", \(warnings) warning\(warnings == 1 ? "" : "s")"
        return errors == 0 ? "\(checked): valid\(warned)" : "\(checked): \(errors) error\(errors == 1 ? "" : "s")\(warned)"
    }

    /// Every finding of one file: it cannot be read, its format cannot be told, or what its
    /// renderer says (per BootConfig for a manifest).
    private func check(path: String, registry: RendererRegistry) async -> [ValidateFinding] {
        let text: String
        switch ValidateInput.read(path) {
        case .success(let t): text = t
        case .failure(let problem): return [ValidateFinding(severity: .error, text: "\(path): \(problem.message)")]
        }
        let units: [ValidateUnit]
        do {
            units = try ValidateUnit.units(path: path, text: text, format: format)
        } catch {
            // A YAML problem starts with its line and column (`3:1: …`): keep file:line:col form.
            let separator = error.message.first?.isNumber == true ? ":" : ": "
            return [ValidateFinding(severity: .error, text: "\(path)\(separator)\(error.message)")]
        }
        var findings: [ValidateFinding] = []
        for unit in units {
            guard let renderer = registry.renderer(for: unit.format) else {
                findings.append(ValidateFinding(severity: .error, text: "\(unit.label): unknown format \"\(unit.format)\"; known: \(registry.formatNames.joined(separator: ", "))"))
                continue
            }
            for d in await renderer.validate(files: unit.data) {
                findings.append(ValidateFinding(severity: d.severity, text: unit.locate(d), diagnostic: d))
            }
        }
        return findings
    }
}

/// A runtime error of a command: one human line on stderr, exit status 1 (no usage text).
func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("bootgate: \(message)\n".utf8))
    exit(1)
}

/// Errors from the layers below, said in one line a person reads (not a Foundation or enum dump).
enum CommandLineError {
    static func describe(_ error: any Error, server: String? = nil) -> String {
        if let failure = error as? CommandFailure { return failure.description }
        if let invalid = error as? ValidationError { return invalid.message }
        if let api = error as? APIError { return api.message }
        if let store = error as? StoreError {
            switch store {
            case .io(let message), .full(let message), .unavailable(let message), .rejected(_, let message): return message
            case .conflict(let key, _, _): return "\(key) changed meanwhile; try again"
            case .moved(_, let reason): return reason + "; try again"
            case .compacted: return "the store's change log was compacted; try again"
            }
        }
        if let yaml = error as? YAMLDocuments.Failure { return yamlProblem(yaml.message) }
        let ns = error as NSError
        if ns.domain == NSURLErrorDomain, let server { return HTTPClient.unreachable(server, error) }
        if ns.domain == NSCocoaErrorDomain, let path = ns.userInfo[NSFilePathErrorKey] as? String {
            switch ns.code {
            case NSFileReadNoSuchFileError, NSFileNoSuchFileError: return "\(path): no such file"
            case NSFileReadNoPermissionError, NSFileWriteNoPermissionError: return "\(path): permission denied"
            case NSFileReadInapplicableStringEncodingError, NSFileReadCorruptFileError: return "\(path): not UTF-8 text"
            default: break
            }
        }
        if ns.domain == NSURLErrorDomain || ns.domain == NSCocoaErrorDomain || ns.domain == NSPOSIXErrorDomain {
            let reason = (ns.userInfo[NSLocalizedDescriptionKey] as? String) ?? "error \(ns.code)"
            return server.map { "cannot reach \($0): \(reason)" } ?? reason
        }
        let text = "\(error)"
        return text.contains("\n") ? text.split(separator: "\n").joined(separator: "; ") : text
    }

    /// A Yams message (`2:1: error: parser: while parsing … in line 1, column 4\ndid not find …:\n<snippet>\n^`)
    /// as `2:1: did not find … (while parsing … in line 1, column 4)`.
    static func yamlProblem(_ message: String) -> String {
        let lines = message.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
        guard let first = lines.first, let range = first.range(of: ": error: ") else {
            return "not valid YAML: " + lines.joined(separator: "; ")
        }
        let position = first[..<range.lowerBound]
        var context = String(first[range.upperBound...])
        if let colon = context.firstIndex(of: ":"), context[..<colon].allSatisfy(\.isLetter) {
            context = context[context.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        guard lines.count > 1 else { return "\(position): not valid YAML: \(context)" }
        var problem = lines[1].trimmingCharacters(in: .whitespaces)
        if problem.hasSuffix(":") { problem.removeLast() }
        return "\(position): not valid YAML: \(problem) (\(context))"
    }
}

/// One printed finding of `bootgate validate`.
struct ValidateFinding {
    var severity: Diagnostic.Severity
    /// `file:line: message` (or `file#/pointer: message`), as printed.
    var text: String
    var diagnostic: Diagnostic?
}

/// The `--json` line of one file.
struct ValidateReport: Encodable {
    var file: String
    var errors: Int
    var warnings: Int
    var diagnostics: [Entry]

    struct Entry: Encodable {
        var severity: String
        var text: String
        var line: Int?
        var pointer: String?
        var message: String?
    }

    init(file: String, findings: [ValidateFinding]) {
        self.file = file
        errors = findings.filter { $0.severity == .error }.count
        warnings = findings.filter { $0.severity == .warning }.count
        diagnostics = findings.map { Entry(severity: $0.severity.rawValue, text: $0.text, line: $0.diagnostic?.line, pointer: $0.diagnostic?.pointer, message: $0.diagnostic?.message) }
    }

    var line: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(self)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }
}

/// Reading a file to check, with the reasons it can fail said plainly.
enum ValidateInput {
    struct Problem: Error { var message: String }

    static func read(_ path: String) -> Result<String, Problem> {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            return .failure(Problem(message: "no such file"))
        }
        if isDirectory.boolValue { return .failure(Problem(message: "is a folder, not a file")) }
        guard let data = FileManager.default.contents(atPath: path) else {
            return .failure(Problem(message: "cannot be read (permission denied?)"))
        }
        guard let text = String(data: data, encoding: .utf8) else {
            return .failure(Problem(message: "is not UTF-8 text"))
        }
        return .success(text)
    }
}

/// What to check in one file: the file itself, or each BootConfig of a manifest, and how to
/// print where a finding is.
struct ValidateUnit {
    struct Problem: Error { var message: String }

    var label: String
    var format: String
    var data: [String: String]
    /// For a manifest: the YAML file and where each data entry sits in it.
    var manifest: (path: String, entries: [String: BootConfigYAMLLocator.Entry])?

    static func units(path: String, text: String, format: String?) throws(Problem) -> [ValidateUnit] {
        let name = (path as NSString).lastPathComponent
        let lower = path.lowercased()
        if format == nil, lower.hasSuffix(".yaml") || lower.hasSuffix(".yml"), !text.hasPrefix("#cloud-config") {
            let docs: [JSONValue]
            do { docs = try YAMLDocuments.parse(text) } catch { throw Problem(message: CommandLineError.yamlProblem(error.message)) }
            if docs.contains(where: { $0["kind"]?.stringValue == "BootConfig" }) {
                let locator = BootConfigYAMLLocator(text: text)
                return docs.enumerated().filter { $0.element["kind"]?.stringValue == "BootConfig" }.map { index, doc in
                    let object = ResourceObject(kind: .bootConfig, json: doc)
                    let fmt = object.format.isEmpty ? "custom" : object.format
                    return ValidateUnit(label: "\(path)[\(object.name)]", format: fmt, data: object.data,
                                        manifest: (path, locator.entries(document: index, name: object.name)))
                }
            }
        }
        guard let fmt = format ?? guessFormat(path: path, text: text) else {
            throw Problem(message: "cannot tell the format from the file name; name it with --format (e.g. --format kickstart, --format ignition), or use .ks/.cfg, .ign or a BootConfig manifest (.yaml)")
        }
        return [ValidateUnit(label: name, format: fmt, data: [name: text])]
    }

    /// `file:line: message` for a plain file; for a manifest, the YAML file's line of the entry
    /// (the finding's own line inside a block scalar), then which object and file it is about.
    func locate(_ d: Diagnostic) -> String {
        guard let manifest else { return label == d.file ? d.located : label + "/" + d.located }
        let objectName = label[label.index(after: label.firstIndex(of: "[") ?? label.startIndex)...].dropLast()
        let inner = d.line.map { "\(d.file):\($0)" } ?? d.pointer.map { "\(d.file)#\($0)" } ?? d.file
        let prefix = "BootConfig \(objectName), \(inner.isEmpty ? "(config)" : inner)"
        guard let entry = manifest.entries[d.file] else { return "\(manifest.path): \(prefix): \(d.message)" }
        return "\(manifest.path):\(entry.yamlLine(forInnerLine: d.line)): \(prefix): \(d.message)"
    }

    static func guessFormat(path: String, text: String) -> String? {
        let lower = path.lowercased()
        if lower.hasSuffix(".ign") || lower.hasSuffix(".ign.json") || lower.hasSuffix(".ignition") { return "ignition" }
        if lower.hasSuffix(".ks") || lower.hasSuffix(".cfg") { return "kickstart" }
        if text.hasPrefix("#cloud-config") || lower.hasSuffix("user-data") { return "cloud-init" }
        if lower.hasSuffix(".json"), text.contains("\"ignition\"") { return "ignition" }
        return nil
    }
}

/// Finds where a BootConfig's `spec.data` entries sit in the manifest's text, so findings can
/// name a line an editor jumps to. Yams parses the manifest; this only locates, by the layout
/// manifests use (`data:` then one `key:` per entry, a literal block `|` for multi-line files),
/// since the parsed values carry no positions. When it cannot find an entry, the finding keeps
/// the object's name instead of a line.
struct BootConfigYAMLLocator {
    struct Entry {
        /// 1-based line of the `key:` line.
        var keyLine: Int
        /// For a literal block scalar (`|`, `|-`, `|+`): the content's first line is the next one.
        var isLiteralBlock: Bool

        /// The YAML line of a line inside the entry's content (its key line when unknown).
        func yamlLine(forInnerLine line: Int?) -> Int {
            guard isLiteralBlock, let line, line >= 1 else { return keyLine }
            return keyLine + line
        }
    }

    let lines: [Substring]
    /// (first line index, line count) of each non-empty document, in order.
    let documents: [Range<Int>]

    init(text: String) {
        let all = text.split(separator: "\n", omittingEmptySubsequences: false)
        lines = all
        var docs: [Range<Int>] = []
        var start = 0
        func close(_ end: Int) {
            let body = all[start..<end]
            if body.contains(where: { let t = $0.trimmingCharacters(in: .whitespaces); return !t.isEmpty && !t.hasPrefix("#") && t != "..." }) {
                docs.append(start..<end)
            }
        }
        for (index, line) in all.enumerated() where line.hasPrefix("---") && (line.count == 3 || line.dropFirst(3).first?.isWhitespace == true) {
            close(index)
            start = index + 1
        }
        close(all.count)
        documents = docs
    }

    /// The entries of the `document`-th non-empty document (checked to be the BootConfig `name`).
    func entries(document: Int, name: String) -> [String: Entry] {
        guard document < documents.count else { return [:] }
        let range = documents[document]
        guard lines[range].contains(where: { $0.trimmingCharacters(in: .whitespaces) == "name: \(name)" || $0.contains("name: \(name)") }) else { return [:] }
        guard let dataLine = range.first(where: { lines[$0].trimmingCharacters(in: .whitespaces) == "data:" }) else { return [:] }
        let dataIndent = indent(lines[dataLine])
        var found: [String: Entry] = [:]
        var entryIndent: Int?
        for index in (dataLine + 1)..<range.upperBound {
            let line = lines[index]
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            let depth = indent(line)
            if depth <= dataIndent { break }
            if entryIndent == nil { entryIndent = depth }
            guard depth == entryIndent, let (key, rest) = Self.key(trimmed) else { continue }
            found[key] = Entry(keyLine: index + 1, isLiteralBlock: rest.hasPrefix("|"))
        }
        return found
    }

    private func indent(_ line: Substring) -> Int { line.prefix { $0 == " " }.count }

    /// `key: rest`, the key unquoted.
    private static func key(_ trimmed: String) -> (String, String)? {
        var key: String
        var rest: Substring
        if let quote = trimmed.first, quote == "\"" || quote == "'" {
            let body = trimmed.dropFirst()
            guard let close = body.firstIndex(of: quote) else { return nil }
            key = String(body[..<close])
            rest = body[body.index(after: close)...]
            guard rest.hasPrefix(":") else { return nil }
            rest = rest.dropFirst()
        } else {
            guard let colon = trimmed.range(of: ": ") ?? (trimmed.hasSuffix(":") ? trimmed.range(of: ":", options: .backwards) : nil) else { return nil }
            key = String(trimmed[..<colon.lowerBound])
            rest = trimmed[colon.upperBound...]
        }
        return (key, rest.trimmingCharacters(in: .whitespaces))
    }
}

/// `bootgate render --host NS/NAME`: what that host would receive, from a data folder or a server.
struct Render: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print what a host would receive if it booted now (its rendered config, or --ipxe its script); or check every host's config.")

    @Option(help: "The host, as namespace/name (or name in default).") var host: String?
    @Flag(help: "Render every host's config (on the server, or offline from --data) and list the hosts that would be refused, with the time it took.") var everyHost = false
    @Option(help: "With --every-host: passes over all hosts (the time of each is printed).") var rounds = 1
    @Option(help: "Render this BootConfig instead of the host's own.") var config: String?
    @Flag(help: "Print the iPXE script instead of the config.") var ipxe = false
    @Option(help: "Read a data folder directly (offline).") var data: String?
    @Option(help: "Ask a running server instead.") var server = "http://127.0.0.1:8082"
    @Option(help: "Public URL the templates see (offline mode).") var publicURL = "http://192.168.200.2:8082"
    @Option(help: "Default iSCSI portal (offline mode).") var iscsiPortal = "192.168.10.1"
    @Option(help: "Folder of out-of-process renderer plugins (offline mode).") var pluginDir: String?

    func validate() throws {
        if everyHost {
            guard host == nil, config == nil, !ipxe else { throw ValidationError("--every-host takes no --host, --config or --ipxe") }
            guard rounds >= 1 else { throw ValidationError("--rounds must be at least 1") }
        } else if host == nil {
            throw ValidationError("give --host, or --every-host")
        }
    }

    func run() async throws {
        if everyHost { return try await renderEveryHost() }
        let parts = (host ?? "").split(separator: "/", maxSplits: 1).map(String.init)
        let key = ObjectKey(.bareMetalHost, namespace: parts.count == 2 ? parts[0] : "default", name: parts.last ?? "")
        let preview: JSONValue
        if data != nil {
            do { preview = try await openStore().preview(key, config: config) } catch { fail(CommandLineError.describe(error)) }
        } else {
            var path = "/api/v1/namespaces/\(key.namespace)/baremetalhosts/\(key.name)/preview"
            if let config { path += "?config=" + (config.addingPercentEncoding(withAllowedCharacters: .urlQueryAllowed) ?? config) }
            let status: Int, body: JSONValue
            do { (status, body) = try await HTTPClient(server: server).request("GET", path) } catch { fail(CommandLineError.describe(error, server: server)) }
            guard status == 200 else { fail(body["message"]?.stringValue ?? "HTTP \(status) from \(server)") }
            preview = body
        }
        for problem in preview["problems"]?.arrayValue ?? [] { FileHandle.standardError.write(Data("problem: \(problem.stringValue ?? "")\n".utf8)) }
        let text = ipxe ? preview["ipxe"]?.stringValue : preview["config"]?["body"]?.stringValue
        guard let text else {
            fail(ipxe ? "no iPXE script for \(key)" : "host \(key) gets no config")
        }
        print(text, terminator: text.hasSuffix("\n") ? "" : "\n")
        if !(preview["problems"]?.arrayValue ?? []).isEmpty { throw ExitCode(1) }
    }

    /// Offline, against the folder a stopped server left (the store lock refuses a live one).
    private func openStore() async throws -> Service {
        guard let data, FileManager.default.fileExists(atPath: data + "/bootgate.sqlite") else { fail("no bootgate store in \(data ?? "") (a folder a server ran with --data)") }
        var settings = ServiceSettings()
        settings.publicURL = publicURL
        settings.iscsiPortal = iscsiPortal
        settings.precheckConfigs = false
        settings.recoverISOUploads = false
        return try await Service.open(store: try SQLiteStore(directory: data), settings: settings,
                                      renderers: await RendererRegistry(pluginDirectory: pluginDir, logger: quietLogger()), logger: quietLogger())
    }

    private func renderEveryHost() async throws {
        guard data != nil else { return try await renderEveryHostOnServer() }
        let service: Service
        do { service = try await openStore() } catch { fail(CommandLineError.describe(error)) }
        var refused: [(host: String, message: String)] = []
        for round in 1...rounds {
            let start = ContinuousClock.now
            let result = await service.renderEveryConfig()
            let elapsed = ContinuousClock.now - start
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            let each = result.rendered + result.refused.count == 0 ? 0 : seconds / Double(result.rendered + result.refused.count) * 1e6
            print("round \(round): \(result.rendered) configs rendered, \(result.refused.count) refused, in \(String(format: "%.3f", seconds)) s (\(String(format: "%.1f", each)) µs per host)")
            refused = result.refused
        }
        for r in refused.prefix(20) { FileHandle.standardError.write(Data("refused: \(r.host): \(r.message)\n".utf8)) }
        if refused.count > 20 { FileHandle.standardError.write(Data("… and \(refused.count - 20) more\n".utf8)) }
        await service.store.close()
        if !refused.isEmpty { throw ExitCode(1) }
    }
}

extension Render {
    /// `--every-host` against a running server (`GET /api/v1/configchecks`), printed as offline.
    func renderEveryHostOnServer() async throws {
        let client = HTTPClient(server: server)
        var refused: [JSONValue] = []
        for round in 1...rounds {
            let reply = try await client.send("GET", "/api/v1/configchecks")
            guard reply.status == 200 else { throw client.failure(reply, doing: "GET /api/v1/configchecks") }
            refused = reply.body["refused"]?.arrayValue ?? []
            let rendered = Int(reply.body["rendered"]?.intValue ?? 0)
            let seconds: Double
            if case .double(let d)? = reply.body["seconds"] { seconds = d } else { seconds = Double(reply.body["seconds"]?.intValue ?? 0) }
            let total = rendered + refused.count
            let each = total == 0 ? 0 : seconds / Double(total) * 1e6
            print("round \(round): \(rendered) configs rendered, \(refused.count) refused, in \(String(format: "%.3f", seconds)) s (\(String(format: "%.1f", each)) µs per host) on \(server)")
        }
        for r in refused.prefix(20) { warn("refused: \(r["host"]?.stringValue ?? ""): \(r["message"]?.stringValue ?? "")") }
        if refused.count > 20 { warn("… and \(refused.count - 20) more") }
        if !refused.isEmpty { throw ExitCode(1) }
    }
}

/// Command-line tools print results on stdout; only errors are logged (to stderr).
func quietLogger() -> Logger {
    var logger = Logger(label: "bootgate") { StreamLogHandler.standardError(label: $0) }
    logger.logLevel = .error
    return logger
}

extension Validate {
    /// The objects a running server flags, one line per problem; exit 1 when there are any.
    func checkServer(_ server: String) async throws {
        let (status, body): (Int, JSONValue)
        do {
            (status, body) = try await HTTPClient(server: server).request("GET", "/api/v1/violations")
        } catch {
            fail(CommandLineError.describe(error, server: server))
        }
        guard status == 200, let items = body["items"]?.arrayValue else {
            fail("\(server) answered \(status): \(body["message"]?.stringValue ?? "not a violation list")")
        }
        for item in items {
            let ns = item["namespace"]?.stringValue ?? ""
            let name = (ns.isEmpty ? "" : ns + "/") + (item["name"]?.stringValue ?? "")
            for p in item["problems"]?.arrayValue ?? [] { print("\(item["kind"]?.stringValue ?? "") \(name): \(p.stringValue ?? "")") }
        }
        // Warnings (a host that cannot boot as meant yet) are printed, but only broken rules fail.
        for item in body["warnings"]?.arrayValue ?? [] {
            let ns = item["namespace"]?.stringValue ?? ""
            let name = (ns.isEmpty ? "" : ns + "/") + (item["name"]?.stringValue ?? "")
            for w in item["warnings"]?.arrayValue ?? [] { print("\(item["kind"]?.stringValue ?? "") \(name): warning: \(w.stringValue ?? "")") }
        }
        print(items.isEmpty ? "no object breaks a rule" : "\(items.count) object\(items.count == 1 ? "" : "s") break\(items.count == 1 ? "s" : "") a rule")
        if !items.isEmpty { throw ExitCode(1) }
    }
}
