/// One way an iPXE script boots a host: `sanboot` (the ISO over iSCSI), `kernel` (the ISO's own
/// kernel and initrd over HTTP), `local` (the host's disk), or one a plugin adds. A method is
/// pure and synchronous: values in, script text out, so the boot path can cache what it writes
/// (`IPXEScriptCache`) and never waits on it. `IPXEBootMethods` checks every script a method
/// writes (`IPXEScriptChecker`) before any machine can get it.
public protocol BootMethod: Sendable {
    /// The name a host or ISO selects it by (annotation `bootgate.io/boot-method`).
    var name: String { get }
    /// One line for `GET /api/v1/renderers`.
    var summary: String { get }
    func script(for request: BootRequest) throws(IPXEScript.Invalid) -> String
}

/// Everything a boot method may use, gathered by the boot path from the index.
public struct BootRequest: Sendable {
    public var host: String
    public var mac: String
    /// The ISO the host boots; nil for a local boot.
    public var iso: ISO?
    public var localBoot: LocalBootMethod
    /// Where the host's installer fetches its config (`<public URL>/api/v1/bootconfig`), and the
    /// config's format; nil when the host has no config.
    public var configURL: String?
    public var configFormat: String?

    public struct ISO: Sendable {
        public var name: String
        /// Its iSCSI target; nil when it has none yet.
        public var target: ISCSITarget?
        /// URL of a file inside the ISO, given its absolute path in the ISO (`/images/…`).
        public var fileURL: @Sendable (String) -> String
        /// Whether its file is in place (phase `Ready`): `files` answers only then.
        public var ready: Bool
        /// `bootgate.io/*` annotations of the ISO, overridden by the host's.
        public var annotations: [String: String]

        public init(name: String, target: ISCSITarget?, fileURL: @escaping @Sendable (String) -> String, ready: Bool, annotations: [String: String]) {
            self.name = name
            self.target = target
            self.fileURL = fileURL
            self.ready = ready
            self.annotations = annotations
        }
    }

    public init(host: String, mac: String, iso: ISO?, localBoot: LocalBootMethod = .exit, configURL: String? = nil, configFormat: String? = nil) {
        self.host = host
        self.mac = mac
        self.iso = iso
        self.localBoot = localBoot
        self.configURL = configURL
        self.configFormat = configFormat
    }
}

/// The annotations that choose and shape a boot method. Annotations, not spec fields: mkube's
/// wire format is frozen and its decoder drops unknown spec fields, while it stores annotations
/// verbatim, so these survive bootgate running in front of mkube.
public enum BootAnnotation {
    /// `sanboot` (default for an ISO), `kernel`, or a plugin's method; on the host (wins) or the ISO.
    public static let method = "bootgate.io/boot-method"
    /// Path of the kernel inside the ISO (default `/images/pxeboot/vmlinuz`, Fedora's and CoreOS's).
    public static let kernel = "bootgate.io/kernel"
    /// Paths of the initrds inside the ISO, comma-separated (default `/images/pxeboot/initrd.img`).
    public static let initrd = "bootgate.io/initrd"
    /// Kernel arguments, space-separated (the config URL argument is added by the config's format).
    public static let kernelArgs = "bootgate.io/kernel-args"

    public static let all = [method, kernel, initrd, kernelArgs]

    /// Problems with the values, by annotation (checked when a host or ISO is written).
    public static func problems(_ annotations: [String: String]) -> [(String, String)] {
        var out: [(String, String)] = []
        if let m = annotations[method], let p = IPXEValue.check(m, field: "boot method") { out.append((method, p)) }
        if let k = annotations[kernel], let p = KernelBootMethod.pathProblem(k) { out.append((kernel, p)) }
        if let i = annotations[initrd] {
            for path in i.split(separator: ",", omittingEmptySubsequences: false) {
                if let p = KernelBootMethod.pathProblem(String(path)) { out.append((initrd, p)) }
            }
        }
        if let a = annotations[kernelArgs] {
            for word in a.split(separator: " ") {
                if let p = IPXEValue.check(String(word), field: "kernel argument") { out.append((kernelArgs, p)) }
            }
        }
        return out
    }
}

/// `sanboot` the ISO over iSCSI: today's script.
public struct SanbootMethod: BootMethod {
    public let name = "sanboot"
    public let summary = "Boot the ISO over iSCSI (sanboot); needs its target in status"
    public init() {}
    public func script(for r: BootRequest) throws(IPXEScript.Invalid) -> String {
        guard let iso = r.iso else { throw IPXEScript.Invalid(problems: ["sanboot needs an ISO"]) }
        guard let target = iso.target, !target.iqn.isEmpty else {
            throw IPXEScript.Invalid(problems: ["ISO \(iso.name) has no iSCSI target yet (status.targetIQN is empty)"])
        }
        return try IPXEScript.sanboot(iso: iso.name, host: r.host, mac: r.mac, target: target)
    }
}

/// Leave iPXE for the local disk: today's script for hosts with no image or `localboot`.
public struct LocalBootScript: BootMethod {
    public let name = "local"
    public let summary = "Boot the local disk (exit, exit 1 or sanboot --drive 0x80, by spec.localBoot)"
    public init() {}
    public func script(for r: BootRequest) throws(IPXEScript.Invalid) -> String {
        try IPXEScript.localBoot(host: r.host, mac: r.mac, method: r.localBoot)
    }
}
