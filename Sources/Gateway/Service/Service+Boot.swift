import Foundation
import Renderers

/// The boot path: what a PXE-booting machine gets from `/ipxe`, what its installer gets from
/// `/api/v1/bootconfig`, and boot completion. Lookups use the in-memory index only.
extension Service {
    public enum BootEventType: String, Sendable {
        case ipxe, ipxeRefused = "ipxe-refused", config, configRefused = "config-refused", bootComplete = "boot-complete"
    }

    // MARK: iPXE

    public struct IPXEAnswer: Sendable {
        public var script: String
        /// Why the machine does not boot what it should (unknown MAC, ISO missing, no IQN).
        public var problem: String?
    }

    /// The script for a MAC in any spelling, as bytes to send. A malformed MAC is a 400.
    public func ipxe(mac raw: String, record: Bool, ip: String = "") throws(APIError) -> [UInt8] {
        guard let mac = MACAddress.normalize(raw) else {
            throw .badRequest("mac \"\(raw)\" is not a MAC address (six hex pairs, separated by ':' or '-', or none)")
        }
        guard let served = scripts.served(mac: mac, epoch: index.scriptEpoch) ?? writeScript(mac: mac) else {
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

    /// Looks the MAC's host up and writes its script into the cache; nil when no host has it.
    private func writeScript(mac: String) -> IPXEScriptCache.Served? {
        // Under the index lock: no copy of the index, and the epoch is the state's own.
        let found: (IPXEScriptCache.Served, Int64)? = index.read { s in
            guard let key = s.hostsByMAC[mac]?.min(), let host = s.object(key) else { return nil }
            return (IPXEScriptCache.Served(host: key, answer: ipxe(for: host, mac: mac, s)), s.scriptEpoch)
        }
        guard let (served, epoch) = found else { return nil }
        scripts.store(served, mac: mac, epoch: epoch)
        return served
    }

    func ipxe(for host: ResourceObject, mac: String, _ state: ResourceIndex.State) -> IPXEAnswer {
        let name = host.name
        let image = host.image
        do throws(IPXEScript.Invalid) {
            if image.isEmpty || image == localBootImage {
                let method = LocalBootMethod(rawValue: host.string("spec", "localBoot")) ?? settings.localBoot
                return IPXEAnswer(script: try IPXEScript.localBoot(host: name, mac: mac, method: method))
            }
            guard let iso = state.object(ObjectKey(.iscsiCdrom, name: image)) else {
                return refusal("bootgate: ISO \(image) of host \(host.key) does not exist")
            }
            let target = iscsiTarget(iso)
            if target.iqn.isEmpty {
                return refusal("bootgate: ISO \(image) has no iSCSI target yet (status.targetIQN is empty); host \(host.key) cannot boot it")
            }
            return IPXEAnswer(script: try IPXEScript.sanboot(iso: image, host: name, mac: mac, target: target))
        } catch {
            return refusal("bootgate: cannot write an iPXE script for host \(host.key): \(error.description)")
        }
    }

    /// The command a script ends with (`sanboot …`, `exit`), for the event log.
    static func lastLine(_ script: String) -> String {
        let bytes = script.utf8
        var end = bytes.endIndex
        if end > bytes.startIndex, bytes[bytes.index(before: end)] == UInt8(ascii: "\n") { end = bytes.index(before: end) }
        var start = end
        while start > bytes.startIndex, bytes[bytes.index(before: start)] != UInt8(ascii: "\n") { start = bytes.index(before: start) }
        return String(script[start..<end])
    }

    private func refusal(_ reason: String) -> IPXEAnswer {
        IPXEAnswer(script: IPXEScript.refusal(reason), problem: reason)
    }

    /// Portal, port and LUN from the ISO's status, with the server's default portal.
    func iscsiTarget(_ iso: ResourceObject) -> ISCSITarget {
        let portal = iso.string("status", "portalIP")
        let port = iso.json.value(at: ["status", "portalPort"])?.intValue ?? 0
        let lun = iso.json.value(at: ["status", "lun"])?.intValue ?? 0
        return ISCSITarget(portal: portal.isEmpty ? settings.iscsiPortal : portal, port: port == 0 ? nil : Int(port),
                           lun: lun == 0 ? nil : Int(lun), iqn: iso.string("status", "targetIQN"))
    }

    /// The chain script firmware loads first.
    public func chainScript() throws(APIError) -> String {
        do {
            return try IPXEScript.chain(publicURL: settings.publicURL)
        } catch {
            throw .internalError("the public URL cannot be put in an iPXE script: \(error.description)")
        }
    }

    // MARK: configs by source IP

    /// The host a booted machine is, by its address: `spec.ip`, then `spec.nics[].ip`.
    public func host(forIP ip: String) throws(APIError) -> ResourceObject {
        let (keys, host) = index.read { s in
            let keys = s.hostKeys(forIP: ip)
            return (keys, keys.count == 1 ? keys.first.flatMap { s.object($0) } : nil)
        }
        try Self.checkOneHost(keys, ip: ip)
        guard let host else { throw Self.noHost(ip) }
        return host
    }

    /// What serving a config to a host reads: the host and the config and ISO it names.
    public struct ConfigSubject: Sendable {
        public var host: BootHost
        var config: ResourceObject?
        var iso: ResourceObject?
    }

    /// `host(forIP:)` for the config path, with the host's config and ISO, in one look at the index.
    public func configSubject(forIP ip: String) throws(APIError) -> ConfigSubject {
        let (keys, subject) = index.read { s in
            let keys = s.hostKeys(forIP: ip)
            return (keys, keys.count == 1 ? keys.first.flatMap { s.bootHosts[$0] }.map { Self.subject($0, in: s) } : nil)
        }
        try Self.checkOneHost(keys, ip: ip)
        guard let subject else { throw Self.noHost(ip) }
        return subject
    }

    /// The subject for a host by its key; nil when it is gone.
    func configSubject(forKey key: ObjectKey) -> ConfigSubject? {
        index.read { s in s.bootHosts[key].map { Self.subject($0, in: s) } }
    }

    /// The subject for a host as given (preview passes one with another config).
    func configSubject(for host: ResourceObject) -> ConfigSubject {
        index.read { s in Self.subject(BootHost(host), in: s) }
    }

    private static func subject(_ host: BootHost, in s: borrowing ResourceIndex.State) -> ConfigSubject {
        ConfigSubject(host: host, config: host.configRef.isEmpty ? nil : s.object(ObjectKey(.bootConfig, name: host.configRef)),
                      iso: host.image.isEmpty ? nil : s.object(ObjectKey(.iscsiCdrom, name: host.image)))
    }

    private static func checkOneHost(_ keys: Set<ObjectKey>, ip: String) throws(APIError) {
        if keys.isEmpty { throw noHost(ip) }
        if keys.count > 1 {
            throw APIError(code: 409, reason: "Conflict", message: "IP \(ip) belongs to several BareMetalHosts: \(keys.sorted().map(\.description).joined(separator: ", ")); give each host its own IP")
        }
    }

    private static func noHost(_ ip: String) -> APIError {
        APIError(code: 404, reason: "NotFound", message: "no BareMetalHost has IP \(ip) (spec.ip or spec.nics[].ip)")
    }

    public struct ServedConfig: Sendable {
        public var configName: String
        public var file: String
        public var rendered: RenderedFile
    }

    /// The host's config file rendered for it. `file` picks one of several files.
    public func config(for subject: ConfigSubject, file: String?, accept: String?) async throws(APIError) -> ServedConfig {
        let source = try configSource(for: subject, file: file)
        if let served = try configNow(source, subject, accept: accept) { return served }
        do throws(RenderFailure) {
            let rendered = try await source.renderer.render(file: source.file, files: source.files, context: renderContext(for: subject), options: RenderOptions(accept: accept))
            return ServedConfig(configName: source.configName, file: source.file, rendered: rendered)
        } catch {
            throw source.failure(error, host: subject.host)
        }
    }

    /// `config(for:)` without suspending; nil, having done nothing, when the config's renderer
    /// must be awaited (a plugin).
    public func configNow(for subject: ConfigSubject, file: String?, accept: String?) throws(APIError) -> ServedConfig? {
        try configNow(configSource(for: subject, file: file), subject, accept: accept)
    }

    private func configNow(_ source: ConfigSource, _ subject: ConfigSubject, accept: String?) throws(APIError) -> ServedConfig? {
        guard let renderer = source.renderer as? any InlineRenderer else { return nil }
        do throws(RenderFailure) {
            let rendered = try renderer.renderNow(file: source.file, files: source.files, context: renderContext(for: subject), options: RenderOptions(accept: accept))
            return ServedConfig(configName: source.configName, file: source.file, rendered: rendered)
        } catch {
            throw source.failure(error, host: subject.host)
        }
    }

    /// The config, file and renderer a host's config request is answered from.
    struct ConfigSource {
        var configName: String
        var file: String
        var files: [String: String]
        var renderer: any Renderer

        func failure(_ error: RenderFailure, host: BootHost) -> APIError {
            let message = "BootConfig \"\(configName)\" file \(file) cannot be served to host \(host.keyText): \(error.message)"
            switch error.kind {
            case .notAcceptable: return .notAcceptable(message)
            case .invalid, .rendererFailed: return .internalError(message)
            }
        }
    }

    func configSource(for subject: ConfigSubject, file: String?) throws(APIError) -> ConfigSource {
        let ref = subject.host.configRef
        if ref.isEmpty { throw APIError(code: 404, reason: "NotFound", message: "BareMetalHost \(subject.host.keyText) has no bootConfigRef") }
        guard let config = subject.config else {
            throw APIError(code: 404, reason: "NotFound", message: "BootConfig \"\(ref)\" not found (referenced by BareMetalHost \(subject.host.keyText))")
        }
        guard let renderer = renderers.renderer(for: config.format) else {
            throw .internalError("BootConfig \"\(ref)\" has format \"\(config.format)\", which no renderer handles")
        }
        let files = config.data
        let name = try pickFile(files, requested: file, renderer: renderer, config: ref)
        return ConfigSource(configName: ref, file: name, files: files, renderer: renderer)
    }

    func pickFile(_ files: [String: String], requested: String?, renderer: any Renderer, config: String) throws(APIError) -> String {
        if files.isEmpty { throw APIError(code: 404, reason: "NotFound", message: "BootConfig \"\(config)\" has no data entries") }
        if let requested, !requested.isEmpty {
            guard files[requested] != nil else {
                throw APIError(code: 404, reason: "NotFound", message: "file \"\(requested)\" not found in BootConfig \"\(config)\"; files: \(files.keys.sorted().joined(separator: ", "))")
            }
            return requested
        }
        if let main = MainFile.select(in: files, names: renderer.mainFileNames) { return main }
        throw .badRequest("BootConfig \"\(config)\" has several files and none is the main one (\(renderer.mainFileNames.joined(separator: ", "))); pick one with ?file=: \(files.keys.sorted().joined(separator: ", "))")
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
            guard let subject = configSubject(forKey: key), !subject.host.configRef.isEmpty else { continue }
            checked += 1
            do throws(APIError) {
                if try configNow(for: subject, file: nil, accept: nil) != nil {
                    rendered += 1
                } else if plugins {
                    _ = try await config(for: subject, file: nil, accept: nil)
                    rendered += 1
                }
            } catch {
                refused.append((subject.host.keyText, error.message))
            }
        }
        return (rendered, checked, refused)
    }

    /// What templates see for a host: the host, its ISO (if it boots one), this server.
    func renderContext(for subject: ConfigSubject) -> RenderContext {
        let iso = subject.iso.map { o in
            let t = iscsiTarget(o)
            return RenderContext.ISO(name: o.name, targetIQN: t.iqn, portal: t.portal, portalPort: t.port ?? 3260)
        }
        return RenderContext(host: subject.host.context, iso: iso, server: .init(url: settings.publicURL))
    }

    // MARK: boot completion

    /// The annotation naming the config the installed system gets after boot-complete, when
    /// the installer does not say it itself.
    public static let nextConfigAnnotation = "bootgate.io/next-boot-config"

    /// The host switches to `image: localboot`, and to its next config when one is named (in the
    /// request body's `nextBootConfig`, else the host's annotation), in one durable write.
    public func bootComplete(ip: String, nextConfig requested: String?) async throws(APIError) -> (ResourceObject, String) {
        let host = try host(forIP: ip)
        let next = requested.flatMap { $0.isEmpty ? nil : $0 } ?? host.annotations[Self.nextConfigAnnotation]
        var spec = JSONObject([("image", .string(localBootImage))])
        if let next { spec["bootConfigRef"] = .string(next) }
        let out = try await patch(host.key, patch: .object(JSONObject([("spec", .object(spec))])), type: .merge)
        recordEvent(.bootComplete, host: out.object, mac: MACAddress.normalize(host.bootMAC) ?? "", ip: ip,
                    detail: "image localboot" + (next.map { ", bootConfigRef \($0)" } ?? ""))
        return (out.object, out.object.bootConfigRef)
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
        var problems: [String] = []
        let mac = MACAddress.normalize(host.bootMAC)
        var script: JSONValue = .null
        if let mac {
            let answer = index.read { ipxe(for: host, mac: mac, $0) }
            script = .string(answer.script)
            if let p = answer.problem { problems.append(p) }
        } else {
            problems.append("host \(key) has no valid spec.bootMACAddress, so /ipxe cannot find it")
        }
        var config: JSONValue = .null
        if !host.bootConfigRef.isEmpty {
            do throws(APIError) {
                let served = try await self.config(for: configSubject(for: host), file: nil, accept: nil)
                config = .object(JSONObject([("name", .string(served.configName)), ("file", .string(served.file)),
                                             ("contentType", .string(served.rendered.contentType)),
                                             ("body", .string(String(decoding: served.rendered.body, as: UTF8.self)))]))
            } catch {
                problems.append(error.message)
            }
        }
        if !host.bootConfigRef.isEmpty, host.ip.isEmpty, host.nics.allSatisfy({ $0.ip.isEmpty }) {
            problems.append("host \(key) has no spec.ip, so its installer cannot be recognised by source address")
        }
        return .object(JSONObject([("host", .string(key.description)), ("ipxe", script), ("config", config),
                                   ("problems", .array(problems.map { .string($0) }))]))
    }

    // MARK: records

    static let bootRecordsPerCommit = 256

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
        for start in stride(from: 0, to: pending.count, by: Self.bootRecordsPerCommit) {
            let chunk = pending[start..<min(pending.count, start + Self.bootRecordsPerCommit)]
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
