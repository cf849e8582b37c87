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
            object by object with each one's spec.format. Diagnostics print as file:line or file#/json/pointer; \
            the exit status is 1 when any error was found.
            """)

    @Option(help: "Format of every file (ignition, kickstart, cloud-init, custom, or a plugin's).") var format: String?
    @Option(help: "Folder of out-of-process renderer plugins.") var pluginDir: String?
    @Option(help: "Instead of files, list the objects on this running server that break the seed's rules (e.g. imported from mkube).") var server: String?
    @Argument(help: "Files to check.") var files: [String] = []

    func run() async throws {
        if let server { return try await checkServer(server) }
        let registry = await RendererRegistry(pluginDirectory: pluginDir, logger: quietLogger())
        var errors = 0
        for path in files {
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                print("\(path): cannot read the file as UTF-8 text")
                errors += 1
                continue
            }
            for (label, fmt, data) in try units(path: path, text: text) {
                guard let renderer = registry.renderer(for: fmt) else {
                    print("\(label): unknown format \"\(fmt)\"; known: \(registry.formatNames.joined(separator: ", "))")
                    errors += 1
                    continue
                }
                for d in await renderer.validate(files: data) {
                    print("\(label == d.file ? d.located : label + "/" + d.located) [\(d.severity.rawValue)]")
                    if d.severity == .error { errors += 1 }
                }
            }
        }
        if errors > 0 {
            print("\(errors) error\(errors == 1 ? "" : "s")")
            throw ExitCode(1)
        }
    }

    /// What to check in one file: the file itself, or each BootConfig of a manifest.
    func units(path: String, text: String) throws -> [(label: String, format: String, data: [String: String])] {
        let name = (path as NSString).lastPathComponent
        if format == nil, path.hasSuffix(".yaml") || path.hasSuffix(".yml"), !text.hasPrefix("#cloud-config"),
           let docs = try? YAMLDocuments.parse(text), docs.contains(where: { $0["kind"]?.stringValue == "BootConfig" }) {
            return docs.filter { $0["kind"]?.stringValue == "BootConfig" }.map { doc in
                let object = ResourceObject(kind: .bootConfig, json: doc)
                let fmt = object.format.isEmpty ? "custom" : object.format
                return ("\(path)[\(object.name)]", fmt, object.data)
            }
        }
        return [(name, format ?? Self.guessFormat(path: path, text: text), [name: text])]
    }

    static func guessFormat(path: String, text: String) -> String {
        let lower = path.lowercased()
        if lower.hasSuffix(".ign") || lower.hasSuffix(".ign.json") || lower.hasSuffix(".ignition") { return "ignition" }
        if lower.hasSuffix(".ks") || lower.hasSuffix(".cfg") { return "kickstart" }
        if text.hasPrefix("#cloud-config") || lower.hasSuffix("user-data") { return "cloud-init" }
        if lower.hasSuffix(".json"), text.contains("\"ignition\"") { return "ignition" }
        return "custom"
    }
}

/// `bootgate render --host NS/NAME`: what that host would receive, from a data folder or a server.
struct Render: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print what a host would receive if it booted now (its rendered config, or --ipxe its script); or check every host's config.")

    @Option(help: "The host, as namespace/name (or name in default).") var host: String?
    @Flag(help: "Render every host's config from a data folder (--data) and list the hosts that would be refused, with the time it took.") var everyHost = false
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
            guard data != nil else { throw ValidationError("--every-host reads a data folder: give --data") }
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
            preview = try await openStore().preview(key, config: config)
        } else {
            var path = "/api/v1/namespaces/\(key.namespace)/baremetalhosts/\(key.name)/preview"
            if let config { path += "?config=" + (config.addingPercentEncoding(withAllowedCharacters: .urlQueryAllowed) ?? config) }
            let (status, body) = try await HTTPClient(server: server).request("GET", path)
            guard status == 200 else { throw ValidationError(body["message"]?.stringValue ?? "HTTP \(status) from \(server)") }
            preview = body
        }
        for problem in preview["problems"]?.arrayValue ?? [] { FileHandle.standardError.write(Data("problem: \(problem.stringValue ?? "")\n".utf8)) }
        let text = ipxe ? preview["ipxe"]?.stringValue : preview["config"]?["body"]?.stringValue
        guard let text else {
            throw ValidationError(ipxe ? "no iPXE script for \(key)" : "host \(key) gets no config")
        }
        print(text, terminator: text.hasSuffix("\n") ? "" : "\n")
        if !(preview["problems"]?.arrayValue ?? []).isEmpty { throw ExitCode(1) }
    }

    /// Offline, against the folder a stopped server left (the store lock refuses a live one).
    private func openStore() async throws -> Service {
        guard let data, FileManager.default.fileExists(atPath: data + "/bootgate.sqlite") else { throw ValidationError("no bootgate store in \(data ?? "")") }
        var settings = ServiceSettings()
        settings.publicURL = publicURL
        settings.iscsiPortal = iscsiPortal
        settings.precheckConfigs = false
        return try await Service.open(store: try SQLiteStore(directory: data), settings: settings,
                                      renderers: await RendererRegistry(pluginDirectory: pluginDir, logger: quietLogger()), logger: quietLogger())
    }

    private func renderEveryHost() async throws {
        let service = try await openStore()
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
            print("error: no bootgate answers at \(server): \(error.localizedDescription)")
            throw ExitCode(1)
        }
        guard status == 200, let items = body["items"]?.arrayValue else {
            print("error: \(server) answered \(status): \(body["message"]?.stringValue ?? "not a violation list")")
            throw ExitCode(1)
        }
        for item in items {
            let ns = item["namespace"]?.stringValue ?? ""
            let name = (ns.isEmpty ? "" : ns + "/") + (item["name"]?.stringValue ?? "")
            for p in item["problems"]?.arrayValue ?? [] { print("\(item["kind"]?.stringValue ?? "") \(name): \(p.stringValue ?? "")") }
        }
        print(items.isEmpty ? "no object breaks a rule" : "\(items.count) object\(items.count == 1 ? "" : "s") break\(items.count == 1 ? "s" : "") a rule")
        if !items.isEmpty { throw ExitCode(1) }
    }
}
