import Foundation
import Renderers

/// The boot path's decisions, in one place: MAC → host → ISO → iPXE script, and source address
/// → host → config → the file rendered for it. Reads the index only (never the disk or the
/// network) and records nothing: `Service` records events and boot counters around it, and the
/// fast HTTP lane only moves bytes to it and back.
public final class BootResolver: Sendable {
    let index: ResourceIndex
    let settings: ServiceSettings
    let renderers: any RendererLookup
    let scripts = IPXEScriptCache()

    init(index: ResourceIndex, settings: ServiceSettings, renderers: any RendererLookup) {
        self.index = index
        self.settings = settings
        self.renderers = renderers
    }

    // MARK: iPXE

    /// The answer for a normalised MAC: from the cache while the index's script epoch stands,
    /// else written now; nil when no host has the MAC.
    func script(mac: String) -> IPXEScriptCache.Served? {
        scripts.served(mac: mac, epoch: index.scriptEpoch) ?? writeScript(mac: mac)
    }

    public struct IPXEAnswer: Sendable {
        public var script: String
        /// Why the machine does not boot what it should (unknown MAC, ISO missing, no IQN).
        public var problem: String?
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

    func ipxe(for host: ResourceObject, mac normalized: String, _ state: ResourceIndex.State) -> IPXEAnswer {
        let name = host.name
        // Written once per script (the cache serves it after), so the lookup costs no request.
        let mac = Self.storedSpelling(of: normalized, in: host)
        let image = host.image
        let methods = renderers.bootMethods
        do throws(IPXEScript.Invalid) {
            if image.isEmpty || image == localBootImage {
                let local = LocalBootMethod(rawValue: host.string("spec", "localBoot")) ?? settings.localBoot
                return IPXEAnswer(script: try methods.script(IPXEBootMethods.localMethod, for: BootRequest(host: name, mac: mac, iso: nil, localBoot: local)))
            }
            guard let iso = state.object(ObjectKey(.iscsiCdrom, name: image)) else {
                return refusal("bootgate: ISO \(image) of host \(host.key) does not exist")
            }
            // The host's annotations win over its ISO's (one host may boot an ISO another way).
            let annotations = iso.annotations.merging(host.annotations.filter { BootAnnotation.all.contains($0.key) }) { _, h in h }
            let method = annotations[BootAnnotation.method] ?? IPXEBootMethods.defaultISOMethod
            let target = iscsiTarget(iso)
            if method == IPXEBootMethods.defaultISOMethod, target.iqn.isEmpty {
                return refusal("bootgate: ISO \(image) has no iSCSI target yet (status.targetIQN is empty); host \(host.key) cannot boot it")
            }
            let ref = host.string("spec", "bootConfigRef")
            let config = ref.isEmpty ? nil : state.object(ObjectKey(.bootConfig, name: ref))
            let base = settings.publicURL
            let request = BootRequest(
                host: name, mac: mac,
                iso: .init(name: image, target: target.iqn.isEmpty ? nil : target,
                           fileURL: { path in "\(base)/api/v1/iscsi-cdroms/\(image)/files?path=\(path)" },
                           ready: iso.string("status", "phase") == "Ready", annotations: annotations),
                configURL: config == nil ? nil : base + "/api/v1/bootconfig", configFormat: config?.format)
            return IPXEAnswer(script: try methods.script(method, for: request))
        } catch {
            return refusal("bootgate: cannot write an iPXE script for host \(host.key): \(error.description)")
        }
    }

    /// The MAC as the host stores it (`AC:1F:6B:8A:A7:9C`), for the script's `echo` line: the one
    /// of its MACs the request matched. The normalised form when that spelling is not six pairs
    /// (`ac1f.6b8a.a79c`), which a script must not carry.
    static func storedSpelling(of normalized: String, in host: ResourceObject) -> String {
        for raw in [host.bootMAC] + host.nics.map(\.mac) where MACAddress.normalize(raw) == normalized {
            return IPXEValue.checkMAC(raw) == nil ? raw : normalized
        }
        return normalized
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

    // MARK: configs by source address

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

    /// What templates see for a host: the host, its ISO (if it boots one), this server.
    func renderContext(for subject: ConfigSubject) -> RenderContext {
        let iso = subject.iso.map { o in
            let t = iscsiTarget(o)
            return RenderContext.ISO(name: o.name, targetIQN: t.iqn, portal: t.portal, portalPort: t.port ?? 3260)
        }
        return RenderContext(host: subject.host.context, iso: iso, server: .init(url: settings.publicURL))
    }
}
