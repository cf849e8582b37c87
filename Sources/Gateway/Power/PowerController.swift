import Foundation
import Logging
import Renderers
import Synchronization

/// Drives hosts' BMCs on bootgate's own store: acts on changes of `spec.online` and of the
/// `bootgate.io/power-request` annotation (`PowerRequest`), reads every BMC's power state in
/// rounds (`concurrency` at a time, each call within `timeout`), keeps the readings in memory,
/// and writes `status.poweredOn` and the `BMCConnected` condition through the Service only when
/// they change. Both come through the store, so with several replicas (etcd) whichever one
/// leads (`Leadership`) acts, whichever replica was asked.
///
/// It acts on edges, as mkube does, not on the level: a host someone powered off at its BMC
/// stays off and shows `poweredOn: false` against `online: true`, rather than being fought. A
/// host is never powered at creation, nor when bootgate starts unless a power request made
/// shortly before was never done (`PowerRequest.doneAnnotation`).
public final class PowerController: Sendable {
    let service: Service
    let settings: PowerSettings
    let factory: BMCDriverFactory
    let logger: Logger
    let leadership: any Leadership
    private let readings = Mutex<[ObjectKey: PowerReading]>([:])
    /// Whether this replica drives the BMCs now; when it does not, readings come from the store.
    private let leading = Atomic<Bool>(false)
    private let lanes = Mutex<[ObjectKey: Lane]>([:])
    /// The last `spec.online` and power request seen per host, to find edges in the change feed.
    private let seen = Mutex<[ObjectKey: Seen]>([:])
    /// Actions started per host: a read that began before an action and ends after it is stale
    /// (it would put the old state back over the action's result), and is dropped.
    private let actionCount = Mutex<[ObjectKey: Int]>([:])

    /// One host's actions run one after the other; a request that arrives while one runs waits,
    /// and a newer request replaces a waiting one (the operator's last word counts).
    struct Lane {
        var running: Queued
        var waiting: Queued?
    }

    /// An action, and the power request it answers (nil for an edge of `spec.online`).
    struct Queued {
        var action: PowerAction
        var requestValue: String?
    }

    struct Seen: Equatable {
        var online: Bool
        var request: String?

        init(_ host: ResourceObject) {
            online = PowerController.wantsOnline(host)
            request = host.annotations[PowerRequest.annotation]
        }
    }

    public init(service: Service, settings: PowerSettings, logger: Logger, leadership: any Leadership = SoleLeadership()) {
        self.service = service
        self.settings = settings
        self.factory = BMCDriverFactory(timeout: settings.timeout, ipmitoolPath: settings.ipmitool)
        self.logger = logger
        self.leadership = leadership
    }

    // MARK: running

    /// Follows the change feed and polls while this replica leads, until cancelled. Power
    /// requests made while no replica led are done on taking the lead; plain `spec.online`
    /// edges made then are not (the hosts are read afresh).
    public func run() async {
        await leadership.whileLeading { await self.lead() }
    }

    private func lead() async {
        leading.store(true, ordering: .relaxed)
        defer {
            leading.store(false, ordering: .relaxed)
            readings.withLock { $0 = [:] }
        }
        let (hosts, revision) = service.list(.bareMetalHost, .init())
        startOver(hosts)
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.follow(after: revision) }
            group.addTask { await self.pollForever() }
            await group.next()
            group.cancelAll()
        }
    }

    /// Rounds never overlap, and a round slowed by silent BMCs is not followed by another at once.
    private func pollForever() async {
        while !Task.isCancelled {
            await pollOnce()
            try? await Task.sleep(for: settings.pollInterval)
        }
    }

    /// Follows the feed from `revision`. A subscription the hub ends (this follower fell too far
    /// behind) is taken up again where it stopped; if that is no longer in memory, the hosts are
    /// read afresh and the changes in between are not acted on (logged).
    private func follow(after revision: Int64) async {
        var after = revision
        while !Task.isCancelled {
            switch service.hub.subscribe(.bareMetalHost, after: after) {
            case .stream(let stream):
                for await change in stream {
                    after = change.revision
                    if change.object.kind == .bareMetalHost { noticed(change) }
                }
            case .tooOld:
                let (hosts, now) = service.list(.bareMetalHost, .init())
                logger.warning("power: host changes \(after)…\(now) were missed; their spec.online edges are not acted on, their power requests are")
                startOver(hosts)
                after = now
            }
            try? await Task.sleep(for: .milliseconds(200))
        }
    }

    /// Sees the hosts afresh, and does the power requests no replica did that are recent enough.
    private func startOver(_ hosts: [ResourceObject]) {
        seen.withLock { m in
            m = [:]
            for h in hosts { m[h.key] = Seen(h) }
        }
        let now = Timestamp.nowMilliseconds()
        let lifetime = settings.requestLifetime.components.seconds * 1000
        for host in hosts where !host.string("spec", "bmc", "address").isEmpty {
            guard let value = host.annotations[PowerRequest.annotation], value != host.annotations[PowerRequest.doneAnnotation],
                  let action = PowerRequest.action(value) else { continue }
            if let made = PowerRequest.madeAt(value), now - made <= lifetime {
                logger.info("power \(host.key): \(action.rawValue) was asked for while no replica led; doing it now")
                request(action, for: host.key, requestValue: value)
            } else {
                recordEvent(host.key, type: "power-failed", detail: "\(action.rawValue) dropped: asked for more than \(lifetime / 1000) s ago while no replica drove the BMCs")
                Task { await self.markDone(host.key, value) }
            }
        }
    }

    /// A new power request, else an edge of `spec.online`, on a host with a BMC is an action;
    /// create and delete are not. A request made with the edge (restart of a host wanted off)
    /// is the one action.
    func noticed(_ change: StoredChange) {
        let key = change.object.key
        let now = Seen(change.object)
        let before: Seen? = seen.withLock { m in
            let old = m[key]
            if change.type == .deleted { m[key] = nil } else { m[key] = now }
            return old
        }
        switch change.type {
        case .deleted:
            readings.withLock { $0[key] = nil }
            actionCount.withLock { $0[key] = nil }
        case .added:
            break
        case .modified:
            guard let before, !change.object.string("spec", "bmc", "address").isEmpty else { return }
            if now.request != before.request, let value = now.request, let action = PowerRequest.action(value) {
                request(action, for: key, requestValue: value)
            } else if now.online != before.online {
                request(now.online ? .on : .off, for: key)
            }
        }
    }

    static func wantsOnline(_ host: ResourceObject) -> Bool {
        host.json.value(at: ["spec", "online"])?.boolValue ?? false
    }

    // MARK: reading

    /// One round: every host with a BMC, `concurrency` at a time. Hosts with an action running
    /// are skipped (the action reports their state).
    public func pollOnce() async {
        let busy = lanes.withLock { Set($0.keys) }
        let all = service.list(.bareMetalHost, .init(includeSecrets: true)).items.filter { !$0.string("spec", "bmc", "address").isEmpty }
        // Readings of hosts that lost their BMC (or were deleted) go.
        let keys = Set(all.map(\.key))
        readings.withLock { m in m = m.filter { keys.contains($0.key) } }
        let hosts = all.filter { !busy.contains($0.key) }
        await withTaskGroup(of: Void.self) { group in
            var next = hosts.makeIterator()
            for _ in 0..<max(1, settings.concurrency) {
                guard let h = next.next() else { break }
                group.addTask { await self.read(h) }
            }
            while await group.next() != nil {
                if let h = next.next() { group.addTask { await self.read(h) } }
            }
        }
    }

    private func read(_ host: ResourceObject) async {
        let key = host.key
        let actionsBefore = actionCount.withLock { $0[key] ?? 0 }
        let driver: any BMCDriver, address: BMCAddress
        do {
            (driver, address) = try makeDriver(host)
        } catch {
            await record(key, host: host, poweredOn: nil, error: error, protocolName: "", endpoint: host.string("spec", "bmc", "address"))
            return
        }
        let result: Result<Bool, BMCError>
        do {
            result = .success(try await driver.powerState())
        } catch {
            result = .failure(error)
        }
        guard actionCount.withLock({ $0[key] ?? 0 }) == actionsBefore else { return }
        switch result {
        case .success(let on):
            await record(key, host: host, poweredOn: on, error: nil, protocolName: driver.protocolName, endpoint: address.endpoint, addressText: address.description)
        case .failure(let error):
            await record(key, host: host, poweredOn: nil, error: error, protocolName: driver.protocolName, endpoint: address.endpoint, addressText: address.description)
        }
    }

    func makeDriver(_ host: ResourceObject) throws(BMCError) -> (any BMCDriver, BMCAddress) {
        let address: BMCAddress
        do {
            address = try BMCAddress(parsing: host.string("spec", "bmc", "address"))
        } catch {
            throw .invalidAddress(error.description)
        }
        let credentials = BMCCredentials(username: host.string("spec", "bmc", "username"), password: host.string("spec", "bmc", "password"))
        let verify = !(host.json.value(at: ["spec", "bmc", "disableCertificateVerification"])?.boolValue ?? false)
        return (factory.driver(address: address, credentials: credentials, verifyCertificate: verify), address)
    }

    // MARK: acting

    /// Queues an action on a host; it runs at once unless one is running there.
    public func request(_ action: PowerAction, for key: ObjectKey, requestValue: String? = nil) {
        let queued = Queued(action: action, requestValue: requestValue)
        let (start, replaced): (Bool, Queued?) = lanes.withLock { l in
            if var lane = l[key] {
                let old = lane.waiting
                lane.waiting = queued
                l[key] = lane
                return (false, old)
            }
            l[key] = Lane(running: queued, waiting: nil)
            return (true, nil)
        }
        if let replaced {
            recordEvent(key, type: "power", detail: "\(replaced.action.rawValue) dropped: \(action.rawValue) was asked for before it started")
            if let value = replaced.requestValue { Task { await markDone(key, value) } }
        }
        if start { Task { await drain(key, first: queued) } }
    }

    private func drain(_ key: ObjectKey, first: Queued) async {
        var next: Queued? = first
        while let queued = next {
            actionCount.withLock { $0[key, default: 0] += 1 }
            readings.withLock { $0[key]?.action = queued.action }
            await perform(queued.action, on: key)
            if let value = queued.requestValue { await markDone(key, value) }
            next = lanes.withLock { l in
                if let waiting = l[key]?.waiting {
                    l[key] = Lane(running: waiting, waiting: nil)
                    return waiting
                }
                l[key] = nil
                return nil
            }
            readings.withLock { $0[key]?.action = next?.action }
        }
    }

    /// Notes on the host that its power request was answered (done, failed or dropped), so no
    /// later leader does it again; not once a newer request has replaced it on the host (that
    /// one is noted when it is answered).
    private func markDone(_ key: ObjectKey, _ value: String) async {
        await patchHost(key, failure: "could not note its request as answered") { host in
            guard host.annotations[PowerRequest.annotation] == value, host.annotations[PowerRequest.doneAnnotation] != value else { return nil }
            return JSONObject([("metadata", .object(JSONObject([("annotations", .object(JSONObject([(PowerRequest.doneAnnotation, .string(value))])))])))])
        }
    }

    /// One action against the BMC, then an event, the reading and the status.
    func perform(_ action: PowerAction, on key: ObjectKey) async {
        guard let host = try? service.get(key, includeSecrets: true) else { return }
        let driver: any BMCDriver, address: BMCAddress
        do {
            (driver, address) = try makeDriver(host)
        } catch {
            recordEvent(key, type: "power-failed", detail: "\(action.rawValue) failed: \(error.message)")
            await record(key, host: host, poweredOn: nil, error: error, protocolName: "", endpoint: host.string("spec", "bmc", "address"))
            return
        }
        let firmware = HostFirmware(rawValue: host.string("spec", "firmware")) ?? .unspecified
        let install = InstallImage.matches(host.image)
        var steps: [String] = []
        do {
            let wasOn = try await driver.powerState()
            var nowOn = wasOn
            switch action {
            case .off:
                if wasOn { try await driver.powerOff(); steps.append("powered off") } else { steps.append("already off") }
                nowOn = false
            case .on where wasOn:
                steps.append("already on")
            case .on, .restart:
                if install {
                    try await driver.bootFromNetworkOnce(firmware)
                    steps.append("next boot from the network, once" + (firmware == .unspecified ? "" : " (\(firmware == .uefi ? "UEFI" : "BIOS"))"))
                }
                if wasOn { try await driver.reset(); steps.append("reset") } else { try await driver.powerOn(); steps.append("powered on") }
                nowOn = true
            }
            let detail = "\(action.rawValue) over \(driver.protocolName) \(address.endpoint): " + steps.joined(separator: ", ")
            recordEvent(key, type: "power", detail: detail)
            logger.info("power \(key): \(detail)")
            await record(key, host: host, poweredOn: nowOn, error: nil, protocolName: driver.protocolName, endpoint: address.endpoint, addressText: address.description)
        } catch {
            let done = steps.isEmpty ? "" : " after " + steps.joined(separator: ", ")
            recordEvent(key, type: "power-failed", detail: "\(action.rawValue) failed\(done): \(error.message)")
            logger.warning("power \(key): \(action.rawValue) failed: \(error.message)")
            await record(key, host: host, poweredOn: nil, error: error, protocolName: driver.protocolName, endpoint: address.endpoint, addressText: address.description)
        }
    }

    private func recordEvent(_ key: ObjectKey, type: String, detail: String) {
        let host = service.index.object(key)
        service.recordEvent(type, host: key.description, mac: host?.bootMAC ?? "", ip: host?.ip ?? "", detail: detail)
    }

    // MARK: results

    /// The reading of the BMC if this replica drives it, else what the store says of it.
    public func reading(_ key: ObjectKey) -> PowerReading? {
        guard leading.load(ordering: .relaxed) else { return service.index.object(key).flatMap(PowerReading.stored) }
        return readings.withLock { $0[key] }
    }

    public func allReadings() -> [(ObjectKey, PowerReading)] {
        guard leading.load(ordering: .relaxed) else {
            let hosts = service.index.read { $0.all(.bareMetalHost) }
            return hosts.compactMap { h in PowerReading.stored(h).map { (h.key, $0) } }.sorted { $0.0 < $1.0 }
        }
        return readings.withLock { m in m.sorted { $0.key < $1.key }.map { ($0.key, $0.value) } }
    }

    /// Keeps the reading, then writes what changed of the status.
    private func record(_ key: ObjectKey, host: ResourceObject, poweredOn: Bool?, error: BMCError?, protocolName: String, endpoint: String, addressText: String? = nil) async {
        let now = Timestamp.nowMilliseconds()
        readings.withLock { m in
            var r = m[key] ?? PowerReading(address: addressText ?? endpoint, protocolName: protocolName)
            r.address = addressText ?? endpoint
            r.protocolName = protocolName
            r.checkedAt = now
            r.error = error
            if let poweredOn {
                r.poweredOn = poweredOn
                r.readAt = now
            }
            m[key] = r
        }
        await writeStatus(key, poweredOn: poweredOn, condition: BMCCondition(error: error, protocolName: protocolName, endpoint: endpoint))
    }

    /// Writes `status.poweredOn` and the condition when they differ from the stored host.
    func writeStatus(_ key: ObjectKey, poweredOn: Bool?, condition: BMCCondition) async {
        await patchHost(key, failure: "status not written") { host in
            guard !host.string("spec", "bmc", "address").isEmpty else { return nil }
            let status = host.json["status"]
            var patch = JSONObject()
            if let poweredOn, status?["poweredOn"]?.boolValue != poweredOn { patch["poweredOn"] = .bool(poweredOn) }
            if let conditions = condition.merged(into: status?["conditions"]?.arrayValue ?? [], now: Timestamp.seconds()) {
                patch["conditions"] = .array(conditions)
            }
            return patch.isEmpty ? nil : JSONObject([("status", .object(patch))])
        }
    }

    /// A merge patch of a host, made from its current state and sent with its resourceVersion;
    /// a conflict (someone wrote in between) reads again, up to three times. `change` returns nil
    /// when there is nothing to write.
    private func patchHost(_ key: ObjectKey, failure: String, _ change: (ResourceObject) -> JSONObject?) async {
        for _ in 0..<3 {
            guard let host = service.index.object(key), var patch = change(host) else { return }
            var metadata = patch["metadata"]?.objectValue ?? JSONObject()
            metadata["resourceVersion"] = .string(String(host.resourceVersion))
            patch["metadata"] = .object(metadata)
            do throws(APIError) {
                _ = try await service.patch(key, patch: .object(patch), type: .merge, options: Service.writeOptions(Actor(name: "bootgate", transport: "power")))
                return
            } catch {
                if error.code == 409 { continue }
                if error.code != 404 { logger.warning("power \(key): \(failure): \(error.message)") }
                return
            }
        }
    }
}

/// Where operations find the controller: set when bootgate drives BMCs itself, nil otherwise.
public final class PowerControllerSlot: Sendable {
    private let slot = Mutex<PowerController?>(nil)
    public init() {}
    public var controller: PowerController? { slot.withLock { $0 } }
    public func set(_ controller: PowerController?) { slot.withLock { $0 = controller } }
}
