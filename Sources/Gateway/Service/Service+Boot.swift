import Foundation
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
            throw .badRequest("mac \"\(raw)\" is not a MAC address (six hex pairs, separated by ':' or '-', or none)")
        }
        guard let served = boot.script(mac: mac) else {
            let reason = "bootgate: no BareMetalHost has MAC \(mac); create one with spec.bootMACAddress \(mac)"
            if record { recordEvent(.ipxeRefused, host: "", mac: mac, ip: ip, detail: reason) }
            return Array(IPXEScript.refusal(reason).utf8)
        }
        if record {
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
        do throws(APIError) {
            subject = try boot.configSubject(forIP: ip)
            served = try await boot.config(for: subject, file: file, accept: accept)
        } catch {
            throw configRefused(ip, error)
        }
        return configServed(subject.host, ip, served)
    }

    private func recordingConfig(_ ip: String, _ body: () throws(APIError) -> (BootHost, BootResolver.ServedConfig)?) throws(APIError) -> BootResolver.ServedConfig? {
        do throws(APIError) {
            guard let (host, served) = try body() else { return nil }
            return configServed(host, ip, served)
        } catch {
            throw configRefused(ip, error)
        }
    }

    private func configServed(_ host: BootHost, _ ip: String, _ served: BootResolver.ServedConfig) -> BootResolver.ServedConfig {
        recordEvent(.config, host: host.keyText, mac: host.context.mac, ip: ip, detail: "\(served.configName)/\(served.file) \(served.rendered.body.count) bytes")
        return served
    }

    private func configRefused(_ ip: String, _ error: APIError) -> APIError {
        recordEvent(.configRefused, host: try? boot.host(forIP: ip), mac: "", ip: ip, detail: error.message)
        return error
    }

    /// Every host's config rendered as it would be served now (`bootgate render --every-host`):
    /// how many rendered, and the hosts that would be refused, with why.
    public func renderEveryConfig() async -> (rendered: Int, refused: [(host: String, message: String)]) {
        let result = await renderConfigs(of: index.read { s in Array(s.bootHosts.keys) }, plugins: true)
        return (result.rendered, result.refused)
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
        let host = try boot.host(forIP: ip)
        let index = self.index
        let decided = Mutex<BootHandOff?>(nil)
        let out = try await modify(host.key) { current throws(APIError) -> JSONValue in
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
        events.record(.init(milliseconds: Timestamp.nowMilliseconds(), type: type.rawValue, host: host, mac: mac, ip: ip, detail: detail))
    }

    func noteBoot(_ key: ObjectKey) {
        if bootRecorder.note(key, at: Int(Timestamp.nowMilliseconds() / 1000)) { scheduleBootFlush() }
    }

    private func scheduleBootFlush() {
        Task { [self] in
            try? await Task.sleep(for: bootRecorder.delay)
            await flushBootRecords()
        }
    }

    /// Writes the pending boot counters, a few hundred hosts per commit, so neither API writes
    /// nor boot-path reads wait long behind a storm's batch.
    public func flushBootRecords() async {
        let pending = Array(bootRecorder.take())
        guard !pending.isEmpty else { return }
        let started = ContinuousClock.now
        let perCommit = store.maxWritesPerCommit
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
        if bootRecorder.finished(in: ContinuousClock.now - started) { scheduleBootFlush() }
    }

}
