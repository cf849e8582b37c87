import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import HummingbirdWebSocket
import Logging
import ServiceLifecycle

/// Everything `bootgate serve` needs to know.
public struct ServerConfiguration: Sendable {
    /// Loopback by default: anything wider needs a token file or `--insecure` (see `bootgate serve`).
    public var host = "127.0.0.1"
    public var port = 8082
    /// Tokens and boot networks; open without a token file.
    public var access = AccessPolicy()
    /// Origins whose pages may call the API; none by default.
    public var cors = CORSPolicy()
    public var limits = ConnectionLimits()
    /// nil: the descriptor limit less a reserve (`ConnectionGuard`).
    public var maxConnections: Int?
    /// PEM files: the listener speaks HTTPS (the boot path too; iPXE must then trust the CA).
    public var tlsCertificate: String?
    public var tlsKey: String?
    public var dataDirectory = "./data"
    /// Seed objects loaded into an empty store; nil to start empty.
    public var examplesDirectory: String?
    /// mkube to front (`http://HOST:8082`): its objects are the store, kept in a cache by list
    /// and watch. Nil for the embedded store in `dataDirectory`.
    public var upstream: String?
    /// How bootgate reaches the upstream (its token, timeouts).
    public var upstreamOptions = MkubeUpstream.Options()
    /// etcd members (`http://HOST:PORT`, or https with `etcdTLS`): objects live there, and
    /// several bootgate replicas can share them. Nil for the embedded store.
    public var etcdEndpoints: [String]?
    public var etcdTLS: EtcdClient.TLS?
    public var settings = ServiceSettings()
    /// BMC power control (`--power-control`, docs/power.md).
    public var power = PowerSettings()
    /// ISOs exported as iSCSI CD-ROMs through tgt (`--export tgt`); never in front of mkube.
    public var export = ExportSettings()
    public init() {}
}

public enum BootgateServer {
    static let serverName = "bootgate"

    /// Opens the store, seeds the examples into an empty one, and builds the HTTP application.
    public static func makeApplication(_ config: ServerConfiguration, renderers: any RendererLookup, logger: Logger) async throws -> (some ApplicationProtocol, Service) {
        let store: any ObjectStore
        if let upstream = config.upstream {
            store = MkubeUpstream(url: upstream, options: config.upstreamOptions, logger: logger)
        } else if let endpoints = config.etcdEndpoints {
            // Replicas share the key that seals BMC passwords: copy <data>/secret.key to each.
            try FileManager.default.createDirectory(atPath: config.dataDirectory, withIntermediateDirectories: true)
            store = try EtcdStore(endpoints: endpoints, tls: config.etcdTLS, sealer: SecretSealer.keyFile(config.dataDirectory + "/secret.key"), logger: logger)
        } else {
            store = try SQLiteStore(directory: config.dataDirectory)
        }
        let service: Service
        do {
            service = try await Service.open(store: store, settings: config.settings, renderers: renderers, logger: logger)
        } catch {
            await store.close() // an HTTP client must be shut down before it goes away
            throw error
        }
        // Into a new store only: SQLite's revision 0; etcd's revision counts other keys too.
        let fresh = config.etcdEndpoints == nil ? service.index.revision == 0 : service.index.read { s in s.objects.values.allSatisfy(\.isEmpty) }
        if let dir = config.examplesDirectory, config.upstream == nil, fresh {
            try await ExampleSeeder.seed(service, directory: dir, logger: logger)
        }
        // In front of mkube, mkube's controller drives the BMCs from spec.online, as its clients expect.
        if config.power.enabled, config.upstream == nil {
            let leadership = (store as? EtcdStore)?.leadership("power", what: "power") ?? SoleLeadership()
            service.power.set(PowerController(service: service, settings: config.power, logger: logger, leadership: leadership))
        }
        // In front of mkube, mkube exports ISOs (RouterOS); two exporters would fight over status.
        if config.export.enabled, config.upstream == nil {
            service.exports.set(ISOExportController(service: service, settings: config.export, logger: logger))
        }
        let assets = StaticAssets()
        let runner = OperationRunner(service: service, policy: config.access)
        let cors = config.cors, policy = config.access
        let responder = RESTResponder(runner: runner, cors: cors, maxURILength: config.limits.maxURILength) { request, _ in assets.response(for: request) }
        let rpc = responder.rpcServer
        let lane = InlineLane(runner: runner, operations: OperationTable.all, serverName: serverName)
        let limits = config.limits
        let guardian = ConnectionGuard(maxConnections: config.maxConnections, logger: logger)
        let tls = try config.tlsCertificate.map { cert in
            TLSConfiguration.makeServerConfiguration(certificateChain: try NIOSSLCertificate.fromPEMFile(cert).map { .certificate($0) },
                                                     privateKey: .privateKey(try NIOSSLPrivateKey(file: config.tlsKey ?? cert, format: .pem)))
        }
        let server = HTTPServerBuilder { responder -> any ServerChildChannel in
            let plain = InlineLaneChannel(inner: HTTP1WebSocketUpgradeChannel(responder: responder, configuration: .init(http1: limits.http1)) { head, channel, _ in
                guard head.path?.split(separator: "?").first == "/rpc/ws" else { return .dontUpgrade }
                // A page on another site must not open it (browsers send Origin, and CORS does
                // not cover WebSockets); the token is checked here and per method after.
                // Refused upgrades go on as plain requests and get their 403 or 401 there.
                guard cors.permits(origin: head.headerFields[.origin], host: head.authority) else { return .dontUpgrade }
                let authorization = head.headerFields[.authorization]
                guard (try? policy.authenticate(authorization)) != nil || policy.tokens == nil else { return .dontUpgrade }
                // Frames are not requests: no head deadline on a WebSocket.
                (try? channel.pipeline.syncOperations.handler(type: RequestDeadline.RawSide.self))?.deadline.switchOff()
                let session = JSONRPCWebSocketSession(server: rpc, caller: .init(remoteIP: channel.remoteAddress?.ipAddress ?? "", authorization: authorization))
                return .upgrade([:]) { inbound, outbound, _ in try await session.run(inbound: inbound, outbound: outbound) }
            }, lane: lane, idleTimeout: config.settings.bootIdleTimeout, limits: limits, guardian: guardian)
            guard let tls else { return plain }
            return try TLSChannel(plain, tlsConfiguration: tls)
        }
        let app = Application(responder: responder, server: server,
                              configuration: .init(address: .hostname(config.host, port: config.port), serverName: serverName),
                              onServerRunning: { channel in
                                  // First: NIO's own backoff handler swallows these errors.
                                  try? await channel.pipeline.addHandler(ConnectionGuard.AcceptErrors(guardian), position: .first)
                              },
                              logger: logger)
        return (app, service)
    }
}

extension BootgateServer {
    /// Serves until SIGTERM or SIGINT. Open watch streams are ended first, so a graceful
    /// shutdown does not wait forever on clients that never hang up.
    public static func run(_ config: ServerConfiguration, renderers: any RendererLookup, logger: Logger) async throws {
        MemoryTrimmer.limitArenas()
        let (app, service) = try await makeApplication(config, renderers: renderers, logger: logger)
        // ServiceGroup shuts services down last-first: the watch closer goes before the server.
        var services: [any ServiceLifecycle.Service] = [app, MemoryTrimmer(), WatchCloser(service: service)]
        if let power = service.power.controller { services.append(PowerService(controller: power)) }
        if let exports = service.exports.controller { services.append(ExportService(controller: exports)) }
        if let store = service.store as? SQLiteStore { services.append(KeyRotationService(store: store, logger: logger)) }
        let group = ServiceGroup(configuration: .init(services: services,
                                                      gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
        await service.flushBootRecords()
        await service.store.close()
    }
}

/// Ends every watch stream when shutdown begins.
struct WatchCloser: ServiceLifecycle.Service {
    let service: Gateway.Service

    func run() async throws {
        try? await gracefulShutdown()
        service.hub.finishAll()
    }
}

/// Runs the power controller until shutdown begins.
struct PowerService: ServiceLifecycle.Service {
    let controller: PowerController

    func run() async throws {
        await cancelWhenGracefulShutdown { await controller.run() }
    }
}

/// Runs the ISO export controller until shutdown begins.
struct ExportService: ServiceLifecycle.Service {
    let controller: ISOExportController

    func run() async throws {
        await cancelWhenGracefulShutdown { await controller.run() }
    }
}

/// Carries out `bootgate key rotate` while the server runs: the command writes
/// `secret.key.next` into the data folder (it cannot open the store the server holds), and this
/// notices it within a second and re-seals the store under it. A rotation stopped by a crash is
/// found the same way at the next start and finished. Asking needs write access to the data
/// folder, which holds the key itself: no new way in.
struct KeyRotationService: ServiceLifecycle.Service {
    let store: SQLiteStore
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown {
            var pause = Duration.seconds(1)
            while !Task.isCancelled {
                if store.keyRotationPending {
                    logger.notice("secret key rotation: re-sealing BMC passwords under a new key")
                    do {
                        let report = try await store.rotateSecretKey()
                        logger.notice("secret key rotation: \(report)")
                        pause = .seconds(1)
                    } catch {
                        // Both keys stay; the next attempt goes on from where this one stopped.
                        logger.error("secret key rotation failed, trying again in a minute: \(error)")
                        pause = .seconds(60)
                    }
                }
                try? await Task.sleep(for: pause)
                if pause > .seconds(1), !store.keyRotationPending { pause = .seconds(1) }
            }
        }
    }
}

/// Loads the seed's example objects (`examples/*.yaml`) into an empty store.
public enum ExampleSeeder {
    public static func documents(in directory: String) throws -> [JSONValue] {
        let files = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }.sorted()
        var docs: [JSONValue] = []
        for f in files {
            let text = try String(contentsOfFile: directory + "/" + f, encoding: .utf8)
            docs += try YAMLDocuments.parse(text)
        }
        return docs
    }

    public static func seed(_ service: Service, directory: String, logger: Logger) async throws {
        for doc in Service.applyOrder(try documents(in: directory)) {
            let (object, action) = try await service.apply(doc, options: Service.writeOptions(Actor(name: "bootgate", transport: "examples")))
            logger.info("example \(object.kind.rawValue) \(object.key) \(action.rawValue)")
        }
    }
}

extension YAMLDocuments.Failure: LocalizedError {
    public var errorDescription: String? { message }
}
extension APIError: LocalizedError {
    public var errorDescription: String? { message }
}
