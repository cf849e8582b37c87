import ArgumentParser
import Foundation
import Gateway
import Logging
import Plugins
import Renderers

@main
struct Bootgate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bootgate",
        abstract: "Decides and serves how bare-metal servers boot.",
        version: GatewayVersion.string,
        subcommands: [Serve.self, Apply.self, Validate.self, Render.self, Migrate.self, OpenAPI.self],
        defaultSubcommand: Serve.self)
}


struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the server.")

    @Option(help: "Address and port to listen on.") var listen = "0.0.0.0:8082"
    @Option(help: "Data folder (SQLite store).") var data = "./data"
    @Option(help: "Front an mkube at this URL (http://HOST:8082) instead of using the embedded store.") var upstream: String?
    @Option(help: "Keep objects in etcd instead of the embedded store: etcd://HOST:PORT,HOST:PORT,… (several replicas may share it).") var store: String?
    @Option(help: "CA certificate (PEM) of the etcd cluster; switches to TLS.") var etcdCa: String?
    @Option(help: "Client certificate (PEM) for etcd.") var etcdCert: String?
    @Option(help: "Client key (PEM) for etcd.") var etcdKey: String?
    @Option(help: "Folder of example YAML loaded into an empty store; 'none' to start empty.") var examples = "./examples"
    @Option(help: "Base URL booting machines use to reach this server.") var publicURL = "http://192.168.200.2:8082"
    @Option(help: "iSCSI portal used when an ISO's status names none.") var iscsiPortal = "192.168.10.1"
    @Option(help: "Default local-boot method: exit, exit1 or sanboot-disk.") var localBoot = "exit"
    @Option(help: "Folder of out-of-process renderer plugins (bootgate-render-<format>).") var pluginDir: String?
    @Option(help: "Seconds between watch keep-alives.") var watchKeepalive = 30
    @Option(help: "Seconds after which an idle boot-path connection is closed.") var bootIdleTimeout = 60
    @Option(help: "A proxy (CIDR) whose X-Forwarded-For is believed on the boot path; repeatable.") var trustedProxy: [String] = []
    @Option(help: "Log level: trace, debug, info, notice, warning, error.") var logLevel = "info"
    @Option(help: "Drive hosts' BMCs (IPMI, Redfish) from spec.online and restart requests; false: only write spec.online.") var powerControl = true
    @Option(help: "Seconds between rounds of BMC power reads.") var powerPollInterval = 30
    @Option(help: "BMCs read at once.") var powerConcurrency = 16
    @Option(help: "Seconds one BMC call may take.") var powerTimeout = 10
    @Option(help: "The ipmitool executable.") var ipmitool = "ipmitool"

    func run() async throws {
        var logger = Logger(label: "bootgate")
        logger.logLevel = Logger.Level(rawValue: logLevel) ?? .info
        var config = ServerConfiguration()
        let parts = listen.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count >= 2, let port = Int(parts.last!) else { throw ValidationError("--listen must be host:port, got \(listen)") }
        config.host = parts.dropLast().joined(separator: ":")
        config.port = port
        config.dataDirectory = data
        if let store {
            guard upstream == nil else { throw ValidationError("--store and --upstream exclude each other: bootgate either keeps objects or fronts mkube") }
            let tls = etcdCa != nil || etcdCert != nil
            config.etcdEndpoints = try Self.etcdEndpoints(store, tls: tls)
            if tls { config.etcdTLS = EtcdClient.TLS(ca: etcdCa, cert: etcdCert, key: etcdKey) }
        }
        if let upstream {
            guard let url = URL(string: upstream), url.scheme == "http" || url.scheme == "https", url.host != nil else {
                throw ValidationError("--upstream must be an http:// URL such as http://mkube:8082, got \(upstream)")
            }
            config.upstream = upstream
        }
        config.examplesDirectory = examples == "none" ? nil : Self.findExamples(examples)
        config.settings.publicURL = publicURL.hasSuffix("/") ? String(publicURL.dropLast()) : publicURL
        config.settings.iscsiPortal = iscsiPortal
        guard let method = LocalBootMethod(rawValue: localBoot) else { throw ValidationError("--local-boot must be exit, exit1 or sanboot-disk") }
        config.settings.localBoot = method
        config.settings.watchKeepAlive = .seconds(watchKeepalive)
        guard bootIdleTimeout > 0 else { throw ValidationError("--boot-idle-timeout must be at least 1 second") }
        config.settings.bootIdleTimeout = .seconds(bootIdleTimeout)
        config.settings.trustedProxies = try trustedProxy.map { text in
            guard let cidr = CIDR(text) else { throw ValidationError("--trusted-proxy \(text) is not a CIDR such as 10.0.0.0/8 or 127.0.0.1") }
            return cidr
        }
        guard powerPollInterval > 0, powerConcurrency > 0, powerTimeout > 0 else {
            throw ValidationError("--power-poll-interval, --power-concurrency and --power-timeout must be at least 1")
        }
        config.power.enabled = powerControl
        config.power.pollInterval = .seconds(powerPollInterval)
        config.power.concurrency = powerConcurrency
        config.power.timeout = .seconds(powerTimeout)
        config.power.ipmitool = ipmitool
        let registry = await RendererRegistry(pluginDirectory: pluginDir, logger: logger)
        do {
            try await BootgateServer.run(config, renderers: registry, logger: logger)
        } catch {
            fail(CommandLineError.describe(error))
        }
    }

    /// `etcd://h1:2379,h2:2379` as the member URLs the client calls.
    static func etcdEndpoints(_ url: String, tls: Bool) throws -> [String] {
        guard url.hasPrefix("etcd://") else { throw ValidationError("--store must be etcd://HOST:PORT[,HOST:PORT…], got \(url)") }
        let members = url.dropFirst("etcd://".count).split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        guard !members.isEmpty, members.allSatisfy({ m in m.split(separator: ":").count == 2 && Int(m.split(separator: ":")[1]) != nil }) else {
            throw ValidationError("--store must list members as HOST:PORT separated by commas, got \(url)")
        }
        return members.map { (tls ? "https://" : "http://") + $0 }
    }

    /// The examples folder as given, else next to the binary's checkout (`.build/debug/..`).
    static func findExamples(_ path: String) -> String? {
        if FileManager.default.fileExists(atPath: path) { return path }
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = dir.appendingPathComponent("examples").path
            if FileManager.default.fileExists(atPath: candidate) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        return nil
    }
}

struct OpenAPI: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "openapi", abstract: "Print the OpenAPI description (openapi/openapi.yaml is this output).")
    @Flag(help: "JSON instead of YAML.") var json = false
    @Flag(help: "The OpenRPC description of the JSON-RPC transport instead (openapi/openrpc.json).") var openrpc = false
    func run() async throws {
        if openrpc {
            FileHandle.standardOutput.write(Data(JSONWriter.bytes(OpenRPCDocument.json, trailingNewline: true)))
        } else if json {
            FileHandle.standardOutput.write(Data(JSONWriter.bytes(OpenAPIDocument.json, trailingNewline: true)))
        } else {
            FileHandle.standardOutput.write(Data(OpenAPIDocument.yaml.utf8))
        }
    }
}
