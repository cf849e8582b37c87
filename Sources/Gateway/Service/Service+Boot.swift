import Foundation
import Logging
import Synchronization
import Renderers

/// The boot path's requests as the Service answers them: `BootResolver` decides what a machine
/// gets; here each answer is recorded (boot events, boot counters), boot completion is written,
/// and previews and the config checks reuse the resolver.
extension Service {
    public enum BootEventType: String, Sendable {
        case ipxe, ipxeRefused = "ipxe-refused", config, configRefused = "config-refused", bootComplete = "boot-complete"
    }

    // MARK: iPXE

    /// The script for a MAC in any spelling, as bytes to send. A malformed MAC is a 400.
    public func ipxe(mac raw: String, record: Bool, ip: String = "") throws(APIError) -> [UInt8] {
        guard let mac = MACAddress.normalize(raw) else {
            if record { metrics.boot(.ipxe, .error) }
            throw .badRequest("mac \"\(raw)\" is not a MAC address (six hex pairs, separated by ':' or '-', or none)")
        }
        guard let served = boot.script(mac: mac) else {
            let reason = "bootgate: no BareMetalHost has MAC \(mac); create one with spec.bootMACAddress \(mac)"
            if record {
                metrics.boot(.ipxe, .refused)
                recordEvent(.ipxeRefused, host: "", mac: mac, ip: ip, detail: reason)
            }
            return Array(IPXEScript.refusal(reason).utf8)
        }
        if record {
            metrics.boot(.ipxe, served.problem == nil ? .served : .refused)
            recordEvent(served.problem == nil ? .ipxe : .ipxeRefused, host: served.hostText, mac: mac, ip: ip, detail: served.detail)
            if served.problem == nil { noteBoot(served.host) }
        }
        return served.body
    }

    // MARK: configs by source address

    /// The calling machine's config, recorded as served or refused; nil, having done nothing,
    /// when its renderer must be awaited (a plugin): then `config(forIP:)`.
    public func configNow(forIP ip: String, file: String?, accept: String?) throws(APIError) -> BootResolver.ServedConfig? {
        try recordingConfig(ip) { () throws(APIError) in
            let subject = try boot.configSubject(forIP: ip)
            return try boot.configNow(for: subject, file: file, accept: accept).map { (subject.host, $0) }
        }
    }

    public func config(forIP ip: String, file: String?, accept: String?) async throws(APIError) -> BootResolver.ServedConfig {
        let subject: BootResolver.ConfigSubject
        let served: BootResolver.ServedConfig
        let started = ContinuousClock.now
        do throws(APIError) {
            subject = try boot.configSubject(forIP: ip)
            served = try await boot.config(for: subject, file: file, accept: accept)
        } catch {
            throw configRefused(ip, error)
        }
        return configServed(subject.host, ip, served, in: ContinuousClock.now - started)
    }

    private func recordingConfig(_ ip: String, _ body: () throws(APIError) -> (BootHost, BootResolver.ServedConfig)?) throws(APIError) -> BootResolver.ServedConfig? {
        let started = ContinuousClock.now
        do throws(APIError) {
            guard let (host, served) = try body() else { return nil }
            return configServed(host, ip, served, in: ContinuousClock.now - started)
        } catch {
            throw configRefused(ip, error)
        }
    }

    private func configServed(_ host: BootHost, _ ip: String, _ served: BootResolver.ServedConfig, in duration: Duration) -> BootResolver.ServedConfig {
        metrics.boot(.config, .served)
        metrics.rendered(format: index.object(ObjectKey(.bootConfig, name: served.configName))?.format ?? "other", in: duration)
        recordEvent(.config, host: host.keyText, mac: host.context.mac, ip: ip, detail: "\(served.configName)/\(served.file) \(served.rendered.body.count) bytes")
        return served
    }

    private func configRefused(_ ip: String, _ error: APIError) -> APIError {
        metrics.boot(.config, .refused)
        let configName = (try? boot.host(forIP: ip))?.bootConfigRef ?? ""
        metrics.refused(format: configName.isEmpty ? "other" : index.object(ObjectKey(.bootConfig, name: configName))?.format ?? "other")
        recordEvent(.configRefused, host: try? boot.host(forIP: ip), mac: "", ip: ip, detail: error.message)
        return error
    }

    /// Every host's config rendered as it would be served now (`bootgate render --every-host`):
    /// how many rendered, and the hosts that would be refused, with why.
    public func renderEveryConfig() async -> (rendered: Int, refused: [(host: String, message: String)]) {
        let result = await renderConfigs(of: index.read { s in Array(s.bootHosts.keys) }, plugins: true)
        return (result.rendered, result.refused)
    }

    /// `GET /api/v1/configchecks`: `renderEveryConfig` as a `ConfigCheck` object, with its duration.
    func configCheck() async -> JSONValue {
        let start = ContinuousClock.now
        let result = await renderEveryConfig()
        let elapsed = ContinuousClock.now - start
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let refused: [JSONValue] = result.refused.map { .object(JSONObject([("host", .string($0.host)), ("message", .string($0.message))])) }
        return .object(JSONObject([("kind", "ConfigCheck"), ("rendered", .int(Int64(result.rendered))),
                                   ("refused", .array(refused)), ("seconds", .double(seconds))]))
    }

    /// The configs of these hosts (those with one) rendered as they would be served now, in key
    /// order, each host looked up as the config path looks it up. `plugins: false` leaves out
    /// configs whose renderer is a plugin (a process per host). Yields every 256 hosts.
    func renderConfigs(of hosts: [ObjectKey], plugins: Bool) async -> (rendered: Int, checked: Int, refused: [(host: String, message: String)]) {
        var rendered = 0, checked = 0, refused: [(host: String, message: String)] = []
        for (i, key) in hosts.sorted().enumerated() {
            if i % 256 == 255 { await Task.yield() }
            guard let subject = boot.configSubject(forKey: key), !subject.host.configRef.isEmpty else { continue }
            checked += 1
            do throws(APIError) {
                if try boot.configNow(for: subject, file: nil, accept: nil) != nil {
                    rendered += 1
                } else if plugins {
                    _ = try await boot.config(for: subject, file: nil, accept: nil)
                    rendered += 1
                }
            } catch {
                refused.append((subject.host.keyText, error.message))
            }
        }
        return (rendered, checked, refused)
    }

    // MARK: boot completion

    /// The annotation naming the config the installed system gets after boot-complete.
    public static let nextConfigAnnotation = BootHandOff.nextConfigAnnotation

    /// The calling host hands off to its disk: `image: localboot` and the next config that
    /// `BootHandOff` picks (the request's, the host's annotation, its installer config's
    /// declared follow-up, else none), decided and written under the write gate in one durable
    /// write. A repeated call on a host already on localboot changes nothing.
    public func bootComplete(ip: String, nextConfig requested: String?) async throws(APIError) -> (ResourceObject, String) {
        do throws(APIError) {
            let out = try await completeBoot(ip: ip, nextConfig: requested)
            metrics.boot(.bootComplete, .served)
            return out
        } catch {
            metrics.boot(.bootComplete, error.code == 404 ? .refused : .error)
            throw error
        }
    }

    private func completeBoot(ip: String, nextConfig requested: String?) async throws(APIError) -> (ResourceObject, String) {
        let host = try boot.host(forIP: ip)
        let index = self.index
        let decided = Mutex<BootHandOff?>(nil)
        let actor = Actor(name: "anonymous", address: ip, transport: "boot")
        let out = try await modify(host.key, options: Self.writeOptions(actor)) { current throws(APIError) -> JSONValue in
            let handOff = BootHandOff.decide(host: current, requested: requested) { name in
                index.read { $0.object(ObjectKey(.bootConfig, name: name))?.annotations[BootHandOff.nextConfigAnnotation] }
            }
            decided.withLock { $0 = handOff }
            if handOff.source == .repeated { return current.json }
            return MergePatch.apply(.object(JSONObject([("spec", handOff.specPatch)])), to: current.json)
        }
        let detail = decided.withLock { $0?.detail } ?? ""
        recordEvent(.bootComplete, host: out, mac: MACAddress.normalize(host.bootMAC) ?? "", ip: ip, detail: detail)
        return (present(out, includeSecrets: false), out.bootConfigRef)
    }

    // MARK: preview

    /// What a host gets if it boots now, without recording anything.
    /// `config` renders another config for the host instead of its own (any existing config).
    public func preview(_ key: ObjectKey, config override: String? = nil) async throws(APIError) -> JSONValue {
        var host = try get(key)
        if let override, !override.isEmpty {
            _ = try get(ObjectKey(.bootConfig, name: override))
            host.json.set(.string(override), at: ["spec", "bootConfigRef"])
        }
        var problems = ruleViolations(key)
        let mac = MACAddress.normalize(host.bootMAC)
        var script: JSONValue = .null
        var advised = override == nil ? advisories(key) : []
        if let mac {
            let answer = index.read { boot.ipxe(for: host, mac: mac, $0) }
            script = .string(answer.script)
            // The script's own refusal says it better than the advisory (no target, say).
            if let p = answer.problem { problems.append(p); advised.removeAll { $0.contains("no iSCSI target") } }
        } else {
            problems.append("host \(key) has no valid spec.bootMACAddress, so /ipxe cannot find it")
        }
        var config: JSONValue = .null
        if !host.bootConfigRef.isEmpty {
            do throws(APIError) {
                let served = try await boot.config(for: boot.configSubject(for: host), file: nil, accept: nil)
                config = .object(JSONObject([("name", .string(served.configName)), ("file", .string(served.file)),
                                             ("contentType", .string(served.rendered.contentType)),
                                             ("body", .string(String(decoding: served.rendered.body, as: UTF8.self)))]))
            } catch {
                problems.append(error.message)
            }
        }
        problems += advised
        if !host.bootConfigRef.isEmpty, host.ip.isEmpty, host.nics.allSatisfy({ $0.ip.isEmpty }) {
            problems.append("host \(key) has no spec.ip, so its installer cannot be recognised by source address")
        }
        return .object(JSONObject([("host", .string(key.description)), ("ipxe", script), ("config", config),
                                   ("problems", .array(problems.map { .string($0) }))]))
    }

    // MARK: records

    /// The host with its boot counters advanced, as a write; nil when it is gone.
    private func bootCounterWrite(_ key: ObjectKey, _ p: BootRecorder.Pending) -> StoreWrite? {
        guard var host = index.object(key) else { return nil }
        let expected = host.resourceVersion
        let status = host.json["status"]
        let count = (status?["bootCount"]?.intValue ?? 0) + p.count
        host.json.set(.int(count), at: ["status", "bootCount"])
        host.json.set(.string(Timestamp.seconds(at: p.last)), at: ["status", "lastBoot"])
        // Key order only changes when the fields are new: the first boot.
        if status?["bootCount"] == nil || status?["lastBoot"] == nil {
            host.json = ResourceKind.bareMetalHost.schema.normalize(host.json)
        }
        return .put(host, expectedRevision: expected)
    }

    func recordEvent(_ type: BootEventType, host: ResourceObject?, mac: String, ip: String, detail: String) {
        recordEvent(type, host: host?.key.description ?? "", mac: mac, ip: ip, detail: detail)
    }

    /// `host` as `namespace/name`, empty when no host matched.
    func recordEvent(_ type: BootEventType, host: String, mac: String, ip: String, detail: String) {
        recordEvent(type.rawValue, host: host, mac: mac, ip: ip, detail: detail)
    }

    /// Queues a boot event for the next batch (`flushBootRecords`) and logs it, one line per
    /// step, at most `ServiceSettings.bootLogPerSecond` lines a second.
    func recordEvent(_ type: String, host: String, mac: String, ip: String, detail: String) {
        let now = eventClock.nowMilliseconds()
        if events.record(.init(milliseconds: now, type: type, host: host, mac: mac, ip: ip, detail: detail)), bootRecorder.wake() {
            scheduleBootFlush()
        }
        switch bootLog.decide(atSecond: now / 1000) {
        case .suppress:
            metrics.logLinesSuppressed.increment()
        case .log(let suppressed):
            var metadata: Logger.Metadata = ["event": .string(type), "host": .string(host), "mac": .string(mac), "ip": .string(ip)]
            if suppressed > 0 { metadata["suppressed"] = .stringConvertible(suppressed) }
            logger.info("\(type) \(host.isEmpty ? mac : host): \(detail)\(suppressed > 0 ? " (\(suppressed) boot log lines suppressed before this one)" : "")",
                        metadata: metadata)
        }
    }

    func noteBoot(_ key: ObjectKey) {
        if bootRecorder.note(key, at: Int(Timestamp.nowMilliseconds() / 1000)) { scheduleBootFlush() }
    }

    func scheduleBootFlush() {
        Task { [self] in
            try? await Task.sleep(for: bootRecorder.delay)
            await flushBootRecords()
        }
    }

    /// Writes the pending boot counters and boot events, and deletes events past their
    /// retention, a few hundred writes per commit (`maxWritesPerCommit`), so neither API writes
    /// nor boot-path reads wait long behind a storm's batch and a storm of N boots costs about
    /// N / 256 commits, not N.
    public func flushBootRecords() async {
        let pending = Array(bootRecorder.take())
        let (newEvents, dropped) = events.take()
        let started = ContinuousClock.now
        let perCommit = store.maxWritesPerCommit
        if dropped > 0 { logger.warning("\(dropped) boot events were dropped: the store did not keep up (or is unreachable)") }
        for start in stride(from: 0, to: pending.count, by: perCommit) {
            let chunk = pending[start..<min(pending.count, start + perCommit)]
            do throws(APIError) {
                try await serialized { () async throws(APIError) -> Void in
                    let writes = chunk.compactMap { bootCounterWrite($0.key, $0.value) }
                    if !writes.isEmpty { _ = try await commitWrites(writes) }
                }
            } catch {
                logger.warning("could not record boots: \(error.message)")
            }
        }
        // Events need no validation and never conflict (their names are new): no write gate.
        let objects = newEvents.map(BootEventLog.object)
        for start in stride(from: 0, to: objects.count, by: perCommit) {
            let writes = objects[start..<min(objects.count, start + perCommit)].map { StoreWrite.put($0, expectedRevision: nil) }
            do throws(APIError) {
                _ = try await commitWrites(Array(writes))
            } catch {
                logger.warning("could not store \(writes.count) boot events: \(error.message)")
            }
        }
        events.written()
        let trimmed = await trimEvents()
        if bootRecorder.finished(in: ContinuousClock.now - started, more: events.hasPending || !trimmed) { scheduleBootFlush() }
    }
}
