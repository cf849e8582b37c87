import Foundation
import Logging
import Renderers
import Synchronization

/// The one place every operation is written. REST and JSON-RPC are thin adapters over it.
/// Writes are checked one at a time through `WriteGate` against the index and handed to the
/// store in that order; the store's change feed then brings them into the index and to
/// watchers, and the write is acknowledged once the index has applied it.
public final class Service: Sendable {
    public let store: any ObjectStore
    public let index: ResourceIndex
    public let hub: WatchHub
    public let settings: ServiceSettings
    public let renderers: any RendererLookup
    public let events: BootEventLog
    let gate = WriteGate()
    let inFlight = InFlightWrites()
    let bootRecorder: BootRecorder
    public let boot: BootResolver
    let encoded = EncodedObjects()
    let prechecks = PrecheckQueue()
    let applied: AppliedRevision
    /// The BMC power controller, when bootgate drives BMCs itself (Power/PowerController).
    public let power = PowerControllerSlot()
    /// The ISO export controller, when bootgate exports ISOs itself (Export/ISOExportController).
    public let exports = ISOExportSlot()
    let logger: Logger
    let watchQuota: WatchQuota
    /// The ISO folder (uploads, files inside ISOs).
    public let isoFiles: ISOLibrary
    /// The states paged lists are read from (`limit`/`continue`).
    let listSnapshots: ListSnapshots
    /// Paces the boot path's log lines (`recordEvent`).
    let bootLog: LogRateLimiter
    /// `GET /metrics`.
    public let metrics: GatewayMetrics
    /// Names audit events written by this process (`EventName`).
    let auditSequence = Atomic<UInt64>(0)
    /// The time of boot and audit events (`EventClock`).
    let eventClock: EventClock

    public static func open(store: any ObjectStore, settings: ServiceSettings, renderers: any RendererLookup, logger: Logger) async throws(StoreError) -> Service {
        let snapshot = try await store.load()
        let index = ResourceIndex()
        index.load(snapshot)
        // Recent history lets watches resume across a restart without touching the store.
        let recent = (try? await store.changes(after: max(0, snapshot.revision - 1000), limit: 1000)) ?? []
        let hub = WatchHub(startRevision: snapshot.revision, history: recent, capacity: settings.watchHistory)
        let service = Service(store: store, index: index, hub: hub, settings: settings, renderers: renderers, logger: logger)
        service.follow(after: snapshot.revision)
        if settings.recoverISOUploads { await service.recoverISOUploads() }
        if let every = settings.isoScanInterval { service.startISOScan(every: every) }
        service.startEventRetention()
        service.precheck(index.read { s in Set(s.bootHosts.keys) })
        return service
    }

    /// The one way into the index and the watch hub: the store's feed of committed changes.
    /// When the store no longer has the revision the index is at (etcd compacted it while this
    /// replica was cut off), the index loads the store again and every watch ends: its client
    /// resumes, gets 410 and lists again.
    private func follow(after revision: Int64) {
        Task { [self] in
            var from = revision
            while true {
                do {
                    for try await batch in store.follow(after: from) {
                        let affected = index.apply(batch)
                        hub.publish(batch)
                        applied.advance(to: batch[0].revision)
                        precheck(affected)
                    }
                    return
                } catch StoreError.compacted(let oldest) {
                    logger.warning("the store's history starts at \(oldest), after this replica's revision \(from): loading it again")
                    do throws(StoreError) {
                        let snapshot = try await store.load()
                        index.load(snapshot)
                        hub.restart(at: snapshot.revision)
                        applied.advance(to: snapshot.revision)
                        precheck(index.read { s in Set(s.bootHosts.keys) })
                        from = snapshot.revision
                    } catch {
                        logger.error("loading the store again failed: \(error); retrying")
                        try? await Task.sleep(for: .seconds(1))
                    }
                } catch {
                    logger.error("the store's change feed failed: \(error)")
                    return
                }
            }
        }
    }

    init(store: any ObjectStore, index: ResourceIndex, hub: WatchHub, settings: ServiceSettings, renderers: any RendererLookup, logger: Logger) {
        self.store = store
        self.index = index
        self.applied = AppliedRevision(index.revision)
        self.watchQuota = WatchQuota(perClient: settings.maxWatchesPerClient)
        self.listSnapshots = ListSnapshots(capacity: settings.listSnapshots, lifetime: settings.listSnapshotLifetime)
        self.boot = BootResolver(index: index, settings: settings, renderers: renderers)
        self.hub = hub
        self.settings = settings
        self.renderers = renderers
        self.logger = logger
        self.events = BootEventLog(capacity: settings.eventCapacity)
        self.isoFiles = ISOLibrary(directory: settings.isoDirectory)
        self.bootLog = LogRateLimiter(perSecond: settings.bootLogPerSecond)
        self.bootRecorder = BootRecorder(minimumDelay: settings.bootBatchDelay)
        self.metrics = GatewayMetrics(formats: renderers.formatNames, backend: Self.backendName(store))
        self.eventClock = EventClock(notBefore: index.read { s in
            [ResourceKind.bootEvent, .auditEvent].compactMap { kind in s.objects[kind]?.keys.compactMap { EventName.milliseconds($0.name) }.max() }.max() ?? 0
        })
    }

    static func backendName(_ store: any ObjectStore) -> String {
        switch store {
        case is SQLiteStore: "sqlite"
        case is EtcdStore: "etcd"
        case is MkubeUpstream: "mkube"
        default: String(describing: type(of: store))
        }
    }

    // MARK: reads

    public struct ListQuery: Sendable {
        public var namespace: String?
        public var labelSelector: LabelSelector?
        public var fieldSelector: FieldSelector?
        public var includeSecrets = false
        /// mkube's namespaced host list also returns hosts on a network of that name; its watch does not.
        public var joinNetworks = false
        public init(namespace: String? = nil, labelSelector: LabelSelector? = nil, fieldSelector: FieldSelector? = nil, includeSecrets: Bool = false) {
            self.namespace = namespace
            self.labelSelector = labelSelector
            self.fieldSelector = fieldSelector
            self.includeSecrets = includeSecrets
        }

        func matches(_ o: ResourceObject) -> Bool {
            (labelSelector?.matches(o.labels) ?? true) && (fieldSelector?.matches(o) ?? true)
        }
    }

    /// Objects of a kind, sorted by namespace and name, and the revision they reflect.
    public func list(_ kind: ResourceKind, _ query: ListQuery) -> (items: [ResourceObject], revision: Int64) {
        let (all, revision) = index.read { s in (s.objects[kind] ?? [:], s.revision) }
        let matching = all.filter { entry in
            let o = entry.value
            guard let ns = query.namespace else { return query.matches(o) }
            return (query.joinNetworks ? Self.inNamespace(o, ns) : o.namespace == ns) && query.matches(o)
        }
        // Sorted on the index's keys alone (deriving a key from an object's JSON costs a parse
        // each time, and moving objects around in the sort costs reference counting).
        return (matching.keys.sorted().map { present(matching[$0]!, includeSecrets: query.includeSecrets) }, revision)
    }

    /// mkube's namespaced host list also returns hosts attached to a network of that name.
    static func inNamespace(_ o: ResourceObject, _ ns: String) -> Bool {
        if o.namespace == ns { return true }
        guard o.kind == .bareMetalHost else { return false }
        let spec = o.json["spec"]
        let network = spec?["network"]?.stringValue ?? ""
        if network == ns || spec?["bmc"]?["network"]?.stringValue == ns { return true }
        for nic in spec?["nics"]?.arrayValue ?? [] where (nic["network"]?.stringValue ?? network) == ns { return true }
        for (_, nic) in o.json["status"]?["networkInterfaces"]?.objectValue ?? JSONObject() where nic["network"]?.stringValue == ns {
            return true
        }
        return false
    }

    public func get(_ key: ObjectKey, includeSecrets: Bool = false) throws(APIError) -> ResourceObject {
        guard let o = index.object(key) else { throw .notFound(key) }
        return present(o, includeSecrets: includeSecrets)
    }

    /// `/healthz`: the revision served, and whether the store answers (writes wait while it
    /// does not; reads and the boot path go on from the index).
    public var healthText: String {
        let health = store.health
        var text = "ok revision=\(index.revision)\n"
        if !health.reachable {
            text += "store unreachable since \(Timestamp.seconds(at: Int(health.since.timeIntervalSince1970))): \(health.reason ?? "no answer"); reads are served from the cache, writes get 503\n"
        }
        for line in exports.controller?.healthLines ?? [] { text += line + "\n" }
        return text
    }

    /// The rules an existing object breaks (data from mkube, which never checked them): a
    /// `Warning` on read, a problem in preview.
    public func ruleViolations(_ key: ObjectKey) -> [String] {
        index.read { s in
            guard let o = s.object(key) else { return [] }
            return ReferenceRules.violations(o, s).map(\.cause.message)
        }
    }

    /// What keeps a host from booting as meant without breaking a rule (`ReferenceRules.advisories`).
    public func advisories(_ key: ObjectKey) -> [String] {
        index.read { s in s.object(key).map { ReferenceRules.advisories($0, s) } ?? [] }
    }

    /// The `Warning`s a read of the object carries: the rules it breaks, then its advisories.
    public func readWarnings(_ key: ObjectKey) -> [String] {
        index.read { s in
            s.object(key).map { o in ReferenceRules.violations(o, s).map(\.cause.message) + ReferenceRules.advisories(o, s) } ?? []
        }
    }

    /// Every object that breaks a rule, in key order (`bootgate validate --server`).
    public func allRuleViolations() -> [(key: ObjectKey, problems: [String])] {
        allRuleFindings().compactMap { $0.problems.isEmpty ? nil : ($0.key, $0.problems) }
    }

    /// Every object that breaks a rule or has an advisory, in key order (`/api/v1/violations`).
    public func allRuleFindings() -> [(key: ObjectKey, problems: [String], warnings: [String])] {
        index.read { s in
            ResourceKind.objectKinds.flatMap { kind in
                (s.objects[kind] ?? [:]).keys.sorted().compactMap { key -> (key: ObjectKey, problems: [String], warnings: [String])? in
                    let object = s.objects[kind]![key]!
                    let found = ReferenceRules.violations(object, s).map(\.cause.message)
                    let advised = ReferenceRules.advisories(object, s)
                    return found.isEmpty && advised.isEmpty ? nil : (key, found, advised)
                }
            }
        }
    }

    /// The object as a client sees it: BMC passwords removed unless asked for; a config's
    /// `status.assignedTo` (the hosts referencing it, as mkube keeps it) filled in from the index.
    func present(_ o: ResourceObject, includeSecrets: Bool) -> ResourceObject {
        switch o.kind {
        case .bootConfig:
            let assigned = index.read { $0.hostNames(usingConfig: o.name) }
            // Stores written before it was derived may still hold one.
            guard !assigned.isEmpty || o.json.value(at: ["status", "assignedTo"]) != nil else { return o }
            var copy = o
            copy.json.set(assigned.isEmpty ? nil : .array(assigned.map { .string($0) }), at: ["status", "assignedTo"])
            copy.json = ResourceKind.bootConfig.schema.normalize(copy.json)
            return copy
        case .bareMetalHost:
            guard !includeSecrets, o.json["spec"]?["bmc"]?["password"] != nil else { return o }
            var copy = o
            copy.json.set(nil, at: ["spec", "bmc", "password"])
            return copy
        case .iscsiCdrom, .bootEvent:
            return o
        case .auditEvent:
            // The commit that made the write is the one that stored its record.
            var copy = o
            copy.json.set(.string(String(o.resourceVersion)), at: ["resourceVersionAfter"])
            return copy
        }
    }
}

extension Service {
    /// Runs a write's check alone, up to the store taking its commit (`WriteGate`). When another
    /// replica changed what the check read (`APIError.retryAfterRevision`), or a commit still in
    /// flight here did (`InFlightWrites`), it runs once more on the index caught up to that change.
    func serialized<T: Sendable>(_ body: () async throws(APIError) -> T) async throws(APIError) -> T {
        let hold = WriteGate.Hold(gate)
        defer { hold.release() }
        var result = await attempt(body, holding: hold)
        if case .failure(let error) = result, let revision = error.retryAfterRevision, await applied.reached(revision, within: .seconds(5)) {
            result = await attempt(body, holding: hold)
        }
        return try result.get()
    }

    private func attempt<T>(_ body: () async throws(APIError) -> T, holding hold: WriteGate.Hold) async -> Result<T, APIError> {
        await hold.acquire()
        let inFlightNow = inFlight.current()
        hold.seen.withLock { $0 = inFlightNow }
        return await WriteGate.$current.withValue(hold) {
            do throws(APIError) { return .success(try await body()) } catch { return .failure(error) }
        }
    }
}

/// Finds the renderer of a config format; `Plugins.RendererRegistry` provides it.
public protocol RendererLookup: Sendable {
    func renderer(for format: String) -> (any Renderer)?
    var formatNames: [String] { get }
    /// Every format, for `GET /api/v1/renderers`.
    var summaries: [RendererSummary] { get }
    /// The iPXE script renderer's boot methods (`sanboot`, `kernel`, `local`, plugins').
    var bootMethods: IPXEBootMethods { get }
}

public struct RendererSummary: Sendable {
    public var format: String
    public var contentType: String
    public var mainFileNames: [String]
    /// builtin, plugin (in-tree) or external (a `bootgate-render-*` executable).
    public var source: String
    /// For the `ipxe` renderer: the boot methods a host or ISO may select.
    public var bootMethods: [String] = []
    public init(format: String, contentType: String, mainFileNames: [String], source: String, bootMethods: [String] = []) {
        self.bootMethods = bootMethods
        self.format = format
        self.contentType = contentType
        self.mainFileNames = mainFileNames
        self.source = source
    }
}

public struct ServiceSettings: Sendable {
    /// iSCSI portal used when an ISO's status names none.
    public var iscsiPortal = "192.168.10.1"
    public var localBoot = LocalBootMethod.exit
    /// Proxies whose X-Forwarded-For is believed on the boot path.
    public var trustedProxies: [CIDR] = []
    /// Base URL machines use to reach bootgate.
    public var publicURL = "http://192.168.200.2:8082"
    /// Boot events waiting for the store at most (`BootEventLog`); the oldest waiting are
    /// dropped, and counted in the log, past it.
    public var eventCapacity = 20_000
    /// How many boot events (and audit events) the store keeps, and for how long.
    public var bootEventRetention = EventRetention.bootDefault
    public var auditRetention = EventRetention.auditDefault
    /// The shortest wait before boot counters and events are written (tests that flush by
    /// hand set it long).
    public var bootBatchDelay: Duration = .milliseconds(500)
    /// Boot-step log lines a second at most; the rest are counted and the count logged.
    public var bootLogPerSecond = 50
    /// How often events are checked for age when nothing else writes.
    public var retentionCheck: Duration = .seconds(60)
    public var watchKeepAlive: Duration = .seconds(30)
    /// A boot-path connection with no request for this long is closed: firmware that resets
    /// never closes its connection, and a rack rebooting daily would otherwise leave a socket
    /// per boot open for good.
    public var bootIdleTimeout: Duration = .seconds(60)
    /// Changes kept in memory for watch resumption; older ones come from the store's log.
    public var watchHistory = 1_000
    /// Events a watcher may leave unread before it is cut off (it then resumes from its last
    /// resourceVersion, as after any disconnect).
    public var watchBuffer = 1_000
    /// Watches one client address may hold open at once (REST and WebSocket together).
    public var maxWatchesPerClient = 200
    /// Check hosts' configs when they are written and at start (`Service.precheck`). Off for
    /// the offline tools, which check what they are asked to themselves.
    public var precheckConfigs = true
    /// The ISO folder: the file of ISO `NAME` is `<isoDirectory>/<spec.isoFile>` (`ISOLibrary`).
    /// `bootgate serve --iso-dir`; `<data>/iso` by default.
    public var isoDirectory = "./data/iso"
    /// Largest ISO an upload may send (`--max-iso-size`); the upload route's own body limit.
    public var maxISOSize: UInt64 = 64 << 30
    /// Paged lists (`continue`) whose state is kept at once, and how long one is kept after its
    /// last page was read; a token older than that gets 410 Expired (Kubernetes compacts after
    /// 5 minutes by default). Each holds a sorted copy of one kind's keys (10,000 hosts: ~1 MB).
    public var listSnapshots = 16
    public var listSnapshotLifetime: Duration = .seconds(300)
    /// How often the ISO folder is scanned for `*.iso` files no ISCSICdrom names, each of which
    /// then gets one (as mkube's scanner does); nil: never (`--iso-scan-interval`).
    public var isoScanInterval: Duration?
    /// Clean up after interrupted uploads at start (`Service.recoverISOUploads`). Off for the
    /// offline tools, which only read a stopped server's store.
    public var recoverISOUploads = true
    public init() {}
}
