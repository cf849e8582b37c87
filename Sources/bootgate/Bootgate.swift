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
        subcommands: [Serve.self, Apply.self, Get.self, Describe.self, Delete.self, Validate.self, Render.self, Migrate.self, OpenAPI.self, Token.self, Dnsmasq.self, Key.self],
        defaultSubcommand: Serve.self)

    /// Parsing errors get ArgumentParser's message and usage; an error once a command runs is
    /// one line saying what went wrong (no usage, no Foundation or enum dump) and exit status 1.
    static func main() async {
        var command: any ParsableCommand
        do {
            command = try parseAsRoot(ProcessArguments.all.dropFirst().map { $0 })
        } catch {
            exit(withError: error)
        }
        do {
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch let error as ExitCode {
            exit(withError: error)
        } catch let error as CleanExit {
            exit(withError: error)
        } catch let error as ValidationError {
            fail(error.message)
        } catch where String(reflecting: type(of: error)).hasPrefix("ArgumentParser.") {
            // `--help` and the like: parsing hands back a command whose run throws them.
            exit(withError: error)
        } catch {
            fail(CommandLineError.describe(error))
        }
    }
}


struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the server.")

    @Option(help: "Address and port to listen on. Any address but loopback needs --token-file (or --insecure).") var listen = "127.0.0.1:8082"
    @Option(help: "Data folder (SQLite store).") var data = "./data"
    @Option(help: "ISO folder: the file of ISO NAME is <iso-dir>/<spec.isoFile>; uploads land there. Default <data>/iso.") var isoDir: String?
    @Option(help: "Largest ISO an upload may send, in MiB.") var maxIsoSize = 65536
    @Option(help: "Every this many seconds, give each *.iso in the ISO folder that no ISCSICdrom names one of its own, named after the file (mkube's scanner). 0: never.") var isoScanInterval = 0
    @Option(help: "Front an mkube at this URL (http://HOST:8082) instead of using the embedded store.") var upstream: String?
    @Option(help: "File holding the bearer token bootgate sends to --upstream (an mkube behind an auth proxy, or a bootgate with a token file: an admin token). A file, so the token is not in the process list.") var upstreamTokenFile: String?
    @Option(help: "Keep objects in etcd instead of the embedded store: etcd://HOST:PORT,HOST:PORT,… (several replicas may share it).") var store: String?
    @Option(help: "CA certificate (PEM) of the etcd cluster; switches to TLS.") var etcdCa: String?
    @Option(help: "Client certificate (PEM) for etcd.") var etcdCert: String?
    @Option(help: "Client key (PEM) for etcd.") var etcdKey: String?
    @Option(help: "Folder of example YAML loaded into an empty store (make run passes ./examples). None by default: a production store is never seeded.") var examples: String?
    @Option(help: "Base URL booting machines use to reach this server (default \(Serve.defaultPublicURL); warned about at start when that is not this machine).") var publicURL: String?
    @Option(help: "iSCSI portal used when an ISO's status names none (default \(Serve.defaultISCSIPortal); warned about at start when that is not this machine).") var iscsiPortal: String?

    static let defaultPublicURL = "http://192.168.200.2:8082"
    static let defaultISCSIPortal = "192.168.10.1"
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
    @Option(help: "Export ISOs as iSCSI CD-ROMs: none, or tgt (a running Linux tgtd, driven with tgtadm; needs root). Never in front of mkube.") var export = "none"
    @Option(help: "tgtd's control port (tgtd -C N, tgtadm -C N); the default tgtd when not given.") var tgtControlPort: Int?
    @Option(help: "The tgtadm executable.") var tgtadm = "tgtadm"
    @Option(help: "iSCSI portal address machines reach the exported targets at (status.portalIP).") var exportPortal: String?
    @Option(help: "iSCSI portal port of the exported targets (status.portalPort).") var exportPort = 3260
    @Option(help: "Exported targets are named <prefix>:<ISO name>.") var exportIqnPrefix = "iqn.2026-01.io.bootgate"
    @Option(help: "Seconds between reads of the target software (a restarted tgtd gets its targets back within this).") var exportPollInterval = 5
    @Option(help: "Bearer tokens (made with `bootgate token create`); without one the API is open to whoever reaches it.") var tokenFile: String?
    @Flag(help: "Listen on a non-loopback address without a token file: anyone who reaches the port may change what servers install.") var insecure = false
    @Option(help: "An origin (https://ui.example:8443) whose web pages may call the API; repeatable. None by default.") var corsOrigin: [String] = []
    @Option(help: "A network (CIDR) allowed to use the boot endpoints (/boot.ipxe, /ipxe, /api/v1/bootconfig, boot-complete); repeatable. Any by default.") var bootNetwork: [String] = []
    @Option(help: "PEM certificate (chain): serve HTTPS. kubectl sends tokens only over HTTPS.") var tlsCert: String?
    @Option(help: "PEM private key for --tls-cert.") var tlsKey: String?
    @Option(help: "Seconds a client has to send a whole request head.") var headerTimeout = 10
    @Option(help: "Seconds after which an API connection without requests is closed (watches are not cut).") var idleTimeout = 120
    @Option(help: "Seconds a client has to send a request body once its head is in (watches are not cut).") var bodyTimeout = 60
    @Option(help: "Watches one client address may hold open.") var maxWatchesPerClient = 200
    @Option(help: "Connections held at once; by default the descriptor limit less 64. Past it, the longest-idle one is closed.") var maxConnections: Int?
    @Option(help: "Boot events (BootEvent objects) the store keeps; the oldest go first.") var bootEventRetention = EventRetention.bootDefault.maxCount
    @Option(help: "Age past which boot events are deleted: 90s, 30m, 12h, 7d.") var bootEventMaxAge = "7d"
    @Option(help: "Audit events (AuditEvent objects, one per API write) the store keeps; the oldest go first.") var auditRetention = EventRetention.auditDefault.maxCount
    @Option(help: "Age past which audit events are deleted: 90s, 30m, 12h, 7d.") var auditMaxAge = "90d"
    @Option(help: "Log lines as text or json (one object per line: time, level, logger, message, metadata).") var logFormat = "text"
    @Option(help: "Boot-step log lines (one per iPXE, config, boot-complete or refusal) a second at most; the rest are counted and the count logged.") var bootLogRate = 50

    func run() async throws {
        switch logFormat {
        case "text": break
        case "json": LoggingSystem.bootstrap { JSONLogHandler(label: $0) }
        default: throw ValidationError("--log-format must be text or json, not \"\(logFormat)\"")
        }
        var logger = Logger(label: "bootgate")
        logger.logLevel = Logger.Level(rawValue: logLevel) ?? .info
        var config = ServerConfiguration()
        let parts = listen.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count >= 2, let port = Int(parts.last!) else { throw ValidationError("--listen must be host:port, got \(listen)") }
        config.host = parts.dropLast().joined(separator: ":")
        if config.host.hasPrefix("["), config.host.hasSuffix("]") { config.host = String(config.host.dropFirst().dropLast()) }
        config.port = port
        if tokenFile == nil, !insecure, !Self.isLoopback(config.host) {
            FileHandle.standardError.write(Data("bootgate: refusing to listen on \(listen) without --token-file: anyone reaching it could change what servers install (make tokens with `bootgate token create`, or pass --insecure)\n".utf8))
            throw ExitCode(2)
        }
        if let tokenFile {
            do {
                config.access = AccessPolicy(tokens: try TokenStore(path: tokenFile), bootNetworks: try bootNetworks())
            } catch let error as TokenStore.Failure {
                throw ValidationError("--token-file: \(error)")
            }
        } else {
            config.access = AccessPolicy(tokens: nil, bootNetworks: try bootNetworks())
        }
        config.cors = CORSPolicy(origins: corsOrigin)
        guard (tlsCert == nil) == (tlsKey == nil) else { throw ValidationError("--tls-cert and --tls-key go together") }
        config.tlsCertificate = tlsCert
        config.tlsKey = tlsKey
        guard headerTimeout > 0, idleTimeout > 0 else { throw ValidationError("--header-timeout and --idle-timeout must be at least 1 second") }
        config.limits.headerTimeout = .seconds(headerTimeout)
        config.limits.idleTimeout = .seconds(idleTimeout)
        guard bodyTimeout > 0, maxWatchesPerClient > 0 else { throw ValidationError("--body-timeout and --max-watches-per-client must be at least 1") }
        config.limits.bodyTimeout = .seconds(bodyTimeout)
        config.settings.maxWatchesPerClient = maxWatchesPerClient
        config.settings.bootLogPerSecond = max(1, bootLogRate)
        guard bootEventRetention > 0, auditRetention > 0 else { throw ValidationError("--boot-event-retention and --audit-retention must be at least 1") }
        config.settings.bootEventRetention = EventRetention(maxCount: bootEventRetention, maxAge: try DurationText.parse(bootEventMaxAge, option: "--boot-event-max-age"))
        config.settings.auditRetention = EventRetention(maxCount: auditRetention, maxAge: try DurationText.parse(auditMaxAge, option: "--audit-max-age"))
        config.maxConnections = maxConnections
        config.dataDirectory = data
        config.settings.isoDirectory = isoDir ?? (data.hasSuffix("/") ? data + "iso" : data + "/iso")
        config.settings.maxISOSize = UInt64(max(1, maxIsoSize)) << 20
        guard isoScanInterval >= 0 else { throw ValidationError("--iso-scan-interval must be 0 (never) or a number of seconds") }
        if isoScanInterval > 0 {
            guard upstream == nil else { throw ValidationError("--iso-scan-interval cannot be used with --upstream: mkube scans its own folder") }
            config.settings.isoScanInterval = .seconds(isoScanInterval)
        }
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
            if let upstreamTokenFile { config.upstreamOptions.token = try Self.readToken(upstreamTokenFile) }
        } else if upstreamTokenFile != nil {
            throw ValidationError("--upstream-token-file goes with --upstream")
        }
        if let examples, examples != "none" {
            guard let dir = Self.findExamples(examples) else { throw ValidationError("--examples \(examples): no such folder") }
            config.examplesDirectory = dir
        }
        for warning in DefaultAddressCheck.warnings(publicURL: publicURL, iscsiPortal: iscsiPortal, defaultPublicURL: Self.defaultPublicURL,
                                                     defaultISCSIPortal: Self.defaultISCSIPortal, localAddresses: DefaultAddressCheck.localAddresses()) {
            logger.warning("\(warning)")
        }
        let publicURL = publicURL ?? Self.defaultPublicURL
        config.settings.publicURL = publicURL.hasSuffix("/") ? String(publicURL.dropLast()) : publicURL
        config.settings.iscsiPortal = iscsiPortal ?? Self.defaultISCSIPortal
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
        switch export {
        case "none": break
        case "tgt":
            guard upstream == nil else { throw ValidationError("--export tgt cannot be used with --upstream: mkube exports ISOs itself") }
            config.export.enabled = true
        default: throw ValidationError("--export must be none or tgt, got \(export)")
        }
        guard exportPollInterval > 0, (1...65535).contains(exportPort) else { throw ValidationError("--export-poll-interval must be at least 1 and --export-port 1-65535") }
        config.export.tgtadm = tgtadm
        config.export.controlPort = tgtControlPort
        config.export.portal = exportPortal ?? config.settings.iscsiPortal
        config.export.port = exportPort
        if let problem = IPXEValue.checkPortal(config.export.portal) { throw ValidationError("--export-portal: \(problem)") }
        if let problem = IPXEValue.checkIQN(exportIqnPrefix + ":x") { throw ValidationError("--export-iqn-prefix: \(problem)") }
        config.export.iqnPrefix = exportIqnPrefix
        config.export.pollInterval = .seconds(exportPollInterval)
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

    func bootNetworks() throws -> [CIDR] {
        try bootNetwork.map { text in
            guard let cidr = CIDR(text) else { throw ValidationError("--boot-network \(text) is not a CIDR such as 192.168.10.0/24") }
            return cidr
        }
    }

    static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }

    /// The examples folder as given, else next to the binary's checkout (`.build/debug/..`).
    /// The token in a file: its first line, trimmed. Says what is wrong without quoting it.
    static func readToken(_ path: String) throws -> String {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ValidationError("--upstream-token-file \(path): cannot be read")
        }
        let first = String(decoding: data, as: UTF8.self).split(whereSeparator: \.isNewline).first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
        guard !first.isEmpty else { throw ValidationError("--upstream-token-file \(path): the file is empty; it holds the token on its first line") }
        guard first.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7f }) else {
            throw ValidationError("--upstream-token-file \(path): the token has spaces or characters a header cannot carry")
        }
        return first
    }

    static func findExamples(_ path: String) -> String? {
        if FileManager.default.fileExists(atPath: path) { return path }
        var dir = URL(fileURLWithPath: ProcessArguments.all.first ?? "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
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

struct Token: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Manage API bearer tokens (the file holds only their SHA-256; a running server picks changes up within a second).",
        subcommands: [Create.self, List.self, Revoke.self])

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Make a token and print it (once: only its digest is kept).")
        @Option(help: "viewer, operator, bmc-agent or admin.") var role: String
        @Option(help: "A name for the token (who or what uses it).") var name: String
        @Option(help: "The token file (serve --token-file).") var file: String
        func run() throws {
            guard let role = Role(rawValue: role) else { throw ValidationError("--role must be one of \(Role.allCases.map(\.rawValue).joined(separator: ", "))") }
            do {
                print(try TokenStore.create(name: name, role: role, in: file))
            } catch {
                throw ValidationError("\(error)")
            }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Names and roles of the tokens.")
        @Option(help: "The token file.") var file: String
        func run() throws {
            do {
                for e in try TokenStore.read(file) { print("\(e.name)\t\(e.role.rawValue)") }
            } catch {
                throw ValidationError("\(error)")
            }
        }
    }

    struct Revoke: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove a token by name.")
        @Argument(help: "The token's name.") var name: String
        @Option(help: "The token file.") var file: String
        func run() throws {
            do {
                try TokenStore.revoke(name: name, in: file)
            } catch {
                throw ValidationError("\(error)")
            }
        }
    }
}

/// `90s`, `30m`, `12h`, `7d` (or plain seconds), for the retention flags.
enum DurationText {
    static func parse(_ text: String, option: String) throws -> Duration {
        let units: [Character: Int64] = ["s": 1, "m": 60, "h": 3600, "d": 86400]
        let t = text.trimmingCharacters(in: .whitespaces).lowercased()
        var unit: Int64 = 1
        var digits = Substring(t)
        if let last = t.last, let u = units[last] {
            unit = u
            digits = t.dropLast()
        }
        guard let n = Int64(digits), n > 0, n <= Int64.max / unit / 1000 else {
            throw ValidationError("\(option) \"\(text)\" must be a positive number of seconds, or one with a unit: 90s, 30m, 12h, 7d")
        }
        return .seconds(n * unit)
    }
}
