import CoreMetrics
import Prometheus

/// What `GET /metrics` reports, through swift-metrics with swift-prometheus's registry (one per
/// Service, not the process-wide `MetricsSystem`, so several Services in one test process each
/// count their own).
///
/// The boot path only increments counters that exist before the first request, chosen by array
/// index: one atomic add each (swift-prometheus counters are atomics), no lock, no allocation.
/// Histograms (render and commit latency) take swift-prometheus's lock and are recorded off the
/// /ipxe path only. Gauges (watchers, store size, store health) are read when scraped.
public final class GatewayMetrics: Sendable {
    public enum BootRoute: Int, Sendable, CaseIterable {
        case ipxe, config, bootComplete, chain
        var label: String { ["ipxe", "config", "boot_complete", "chain"][rawValue] }
    }
    public enum BootResult: Int, Sendable, CaseIterable {
        case served, refused, error
        var label: String { ["served", "refused", "error"][rawValue] }
    }

    let registry: PrometheusCollectorRegistry
    private let factory: PrometheusMetricsFactory
    /// [route][result]
    private let bootRequests: [[CoreMetrics.Counter]]
    private let renders: [String: CoreMetrics.Counter]
    private let refusals: [String: CoreMetrics.Counter]
    private let renderLatency: [String: CoreMetrics.Timer]
    private let commitLatency: CoreMetrics.Timer
    let eventsDropped: CoreMetrics.Counter
    let logLinesSuppressed: CoreMetrics.Counter
    let auditRecords: CoreMetrics.Counter
    // Set when scraped.
    private let watchers: Prometheus.Gauge
    private let revision: Prometheus.Gauge
    private let storeObjects: [ResourceKind: Prometheus.Gauge]
    private let storeReachable: Prometheus.Gauge
    private let storeUnreachableSeconds: Prometheus.Gauge
    private let exportStrays: Prometheus.Gauge
    private let exportFailures: Prometheus.Gauge

    static let latencyBuckets: [Duration] = [
        .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2.5), .milliseconds(5),
        .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500),
        .seconds(1), .seconds(2.5), .seconds(5), .seconds(10),
    ]

    /// `formats`: the renderers' formats, known at start (a format not among them counts as "other").
    public init(formats: [String], backend: String) {
        let registry = PrometheusCollectorRegistry()
        self.registry = registry
        var f = PrometheusMetricsFactory(registry: registry)
        f.defaultDurationHistogramBuckets = Self.latencyBuckets
        factory = f
        bootRequests = BootRoute.allCases.map { route in
            BootResult.allCases.map { result in
                CoreMetrics.Counter(label: "bootgate_boot_requests_total", dimensions: [("route", route.label), ("result", result.label)], factory: f)
            }
        }
        let all = formats + ["other"]
        renders = Dictionary(uniqueKeysWithValues: all.map { ($0, CoreMetrics.Counter(label: "bootgate_config_renders_total", dimensions: [("format", $0)], factory: f)) })
        refusals = Dictionary(uniqueKeysWithValues: all.map { ($0, CoreMetrics.Counter(label: "bootgate_config_refusals_total", dimensions: [("format", $0)], factory: f)) })
        renderLatency = Dictionary(uniqueKeysWithValues: all.map { ($0, CoreMetrics.Timer(label: "bootgate_config_render_duration_seconds", dimensions: [("format", $0)], factory: f)) })
        commitLatency = CoreMetrics.Timer(label: "bootgate_store_commit_duration_seconds", dimensions: [("backend", backend)], factory: f)
        eventsDropped = CoreMetrics.Counter(label: "bootgate_boot_events_dropped_total", factory: f)
        logLinesSuppressed = CoreMetrics.Counter(label: "bootgate_log_lines_suppressed_total", factory: f)
        auditRecords = CoreMetrics.Counter(label: "bootgate_audit_records_total", factory: f)
        watchers = registry.makeGauge(name: "bootgate_watchers", help: "Watches open (REST, WebSocket and JSON-RPC together)")
        revision = registry.makeGauge(name: "bootgate_store_revision", help: "The store revision the index has applied")
        storeObjects = Dictionary(uniqueKeysWithValues: ResourceKind.allCases.map { kind in
            (kind, registry.makeGauge(name: "bootgate_store_objects", labels: [("kind", kind.rawValue)], help: "Objects in the store, by kind"))
        })
        storeReachable = registry.makeGauge(name: "bootgate_store_reachable", labels: [("backend", backend)], help: "1 when the store (SQLite, etcd, or the mkube upstream) answers")
        exportStrays = registry.makeGauge(name: "bootgate_export_stray_targets", help: "iSCSI targets of the exporter (--export) that belong to no ISO in the store; left as they are")
        exportFailures = registry.makeGauge(name: "bootgate_export_isos_not_exported", help: "ISOs the exporter (--export) could not export in its last round")
        storeUnreachableSeconds = registry.makeGauge(name: "bootgate_store_unreachable_seconds", labels: [("backend", backend)], help: "How long the store has not answered (0 when it does)")
    }

    @inline(__always)
    public func boot(_ route: BootRoute, _ result: BootResult) {
        bootRequests[route.rawValue][result.rawValue].increment()
    }

    func rendered(format: String, in duration: Duration) {
        let key = renders[format] != nil ? format : "other"
        renders[key]!.increment()
        renderLatency[key]!.recordNanoseconds(Self.nanoseconds(duration))
    }

    func refused(format: String) {
        refusals[refusals[format] != nil ? format : "other"]!.increment()
    }

    func committed(in duration: Duration) {
        commitLatency.recordNanoseconds(Self.nanoseconds(duration))
    }

    static func nanoseconds(_ d: Duration) -> Int64 {
        d.components.seconds * 1_000_000_000 + d.components.attoseconds / 1_000_000_000
    }

    /// The exposition text (Prometheus text format 0.0.4), with the gauges read now.
    func exposition(_ service: Service) -> [UInt8] {
        watchers.set(to: Double(service.hub.subscriberCount))
        revision.set(to: Double(service.index.revision))
        let counts = service.index.read { s in ResourceKind.allCases.map { ($0, s.objects[$0]?.count ?? 0) } }
        for (kind, n) in counts { storeObjects[kind]?.set(to: Double(n)) }
        let health = service.store.health
        storeReachable.set(to: health.reachable ? 1 : 0)
        storeUnreachableSeconds.set(to: health.reachable ? 0 : max(0, -health.since.timeIntervalSinceNow))
        let export = service.exports.controller?.counts ?? (strays: 0, notExported: 0)
        exportStrays.set(to: Double(export.strays))
        exportFailures.set(to: Double(export.notExported))
        var out: [UInt8] = []
        out.reserveCapacity(16 * 1024)
        registry.emit(into: &out)
        return out
    }
}
