/// Boots an unmodified ISO without iSCSI: iPXE fetches the ISO's own kernel and initrds over
/// HTTP from bootgate's `files` route and boots them, with the ISO's kernel arguments and the
/// argument that points the installer at the host's config (`ignition.config.url=` for Ignition,
/// `inst.ks=` for kickstart). For firmware or networks where iSCSI is not wanted.
public struct KernelBootMethod: BootMethod {
    public let name = "kernel"
    public let summary = "Boot the ISO's own kernel and initrd over HTTP from its files (kernel, initrd, boot)"
    public static let defaultKernel = "/images/pxeboot/vmlinuz"
    public static let defaultInitrd = "/images/pxeboot/initrd.img"
    public init() {}

    public func script(for r: BootRequest) throws(IPXEScript.Invalid) -> String {
        guard let iso = r.iso else { throw IPXEScript.Invalid(problems: ["the kernel method needs an ISO"]) }
        guard iso.ready else { throw IPXEScript.Invalid(problems: ["ISO \(iso.name) has no file in place yet (phase is not Ready)"]) }
        let a = iso.annotations
        let kernel = a[BootAnnotation.kernel] ?? Self.defaultKernel
        let initrds = (a[BootAnnotation.initrd] ?? Self.defaultInitrd).split(separator: ",").map(String.init)
        var problems = [IPXEValue.check(iso.name, field: "ISO name"), IPXEValue.check(r.host, field: "host name"), IPXEValue.checkMAC(r.mac),
                        Self.pathProblem(kernel)].compactMap { $0 }
        problems += initrds.compactMap(Self.pathProblem)
        if initrds.isEmpty { problems.append("no initrd given (\(BootAnnotation.initrd))") }
        var args: [String] = []
        // EFI-stub kernels find iPXE's initrds by these names; BIOS kernels ignore the argument.
        for n in initrds.indices { args.append("initrd=initrd\(n)") }
        args += (a[BootAnnotation.kernelArgs] ?? "").split(separator: " ").map(String.init)
        if let url = r.configURL, let key = Self.configArgument(format: r.configFormat) { args.append(key + url) }
        for arg in args { if let p = IPXEValue.check(arg, field: "kernel argument") { problems.append(p) } }
        let urls = ([kernel] + initrds).map(iso.fileURL)
        for u in urls { if let p = IPXEValue.check(u, field: "file URL") { problems.append(p) } }
        if !problems.isEmpty { throw IPXEScript.Invalid(problems: problems) }
        var lines = ["#!ipxe", "echo Booting \(iso.name) kernel over HTTP for \(r.host) (\(r.mac))",
                     "kernel --name vmlinuz \(urls[0])" + (args.isEmpty ? "" : " " + args.joined(separator: " "))]
        for (n, url) in urls.dropFirst().enumerated() { lines.append("initrd --name initrd\(n) \(url)") }
        lines.append("boot")
        return lines.joined(separator: "\n") + "\n"
    }

    /// The kernel argument that hands the installer its config URL, by config format.
    public static func configArgument(format: String?) -> String? {
        switch format {
        case "ignition": "ignition.config.url="
        case "kickstart": "inst.ks="
        default: nil
        }
    }

    /// A path inside an ISO: absolute, one iPXE token, no `..`, no query characters.
    public static func pathProblem(_ path: String) -> String? {
        if let p = IPXEValue.check(path, field: "ISO path") { return p }
        if !path.hasPrefix("/") { return "ISO path \"\(IPXEValue.sanitise(path, maxLength: 80))\" must start with /" }
        if path.split(separator: "/").contains("..") { return "ISO path must not contain .." }
        if path.contains(where: { "?&%\\".contains($0) }) { return "ISO path must not contain ? & % or \\" }
        return nil
    }
}
