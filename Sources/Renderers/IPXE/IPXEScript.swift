/// Builds the iPXE scripts `/ipxe` answers with. Pure: values in, script text out.
///
/// Every value that reaches a script is checked with `IPXEValue` (iPXE cannot quote or escape),
/// and a builder throws instead of emitting a script iPXE would misread. Free text (a refusal
/// reason) is sanitised instead, since a refusal must always be deliverable.
public enum IPXEScript {
    public struct Invalid: Error, Sendable, CustomStringConvertible {
        public var problems: [String]
        public var description: String { problems.joined(separator: "; ") }
    }

    /// Boot an ISO over iSCSI.
    ///
    /// `describe` (default true) omits `--no-describe`, so iPXE publishes the SAN disk in the
    /// iBFT: an installer booted from an iSCSI ISO needs that to re-attach and find its own
    /// install medium (dracut's ibft/`rd.iscsi.firmware`). Pass false only for media that must
    /// not see the SAN disk. `filename` is for UEFI firmware that hangs looking for the boot file
    /// (ipxe/ipxe#996): e.g. `\EFI\BOOT\BOOTX64.EFI`.
    public static func sanboot(iso: String, host: String, mac: String, target: ISCSITarget,
                               describe: Bool = true, filename: String? = nil) throws(Invalid) -> String {
        var problems = [IPXEValue.check(iso, field: "ISO name"), IPXEValue.check(host, field: "host name"), IPXEValue.checkMAC(mac)].compactMap { $0 }
        problems += target.problems()
        if let filename, let problem = IPXEValue.check(filename, field: "boot filename") { problems.append(problem) }
        if !problems.isEmpty { throw Invalid(problems: problems) }
        var command = "sanboot"
        if !describe { command += " --no-describe" }
        if let filename { command += " --filename \(filename)" }
        return "#!ipxe\necho Booting \(iso) for \(host) (\(mac))\n\(command) \(target.uri)\n"
    }

    /// Leave iPXE for the local disk.
    public static func localBoot(host: String, mac: String, method: LocalBootMethod = .exit) throws(Invalid) -> String {
        let problems = [IPXEValue.check(host, field: "host name"), IPXEValue.checkMAC(mac)].compactMap { $0 }
        if !problems.isEmpty { throw Invalid(problems: problems) }
        return "#!ipxe\necho Booting local disk for \(host) (\(mac))\n\(method.command)\n"
    }

    /// Tell the machine why it does not boot, then fail back to the firmware. Never `shell`:
    /// an unattended console must not be left open.
    public static func refusal(_ reason: String) -> String {
        let text = IPXEValue.sanitise(reason)
        return "#!ipxe\necho \(text.isEmpty ? "Boot refused by bootgate" : text)\nexit 1\n"
    }

    /// The script served by TFTP/DHCP that sends iPXE to this server with its MAC
    /// (`${netX/mac}`: the NIC iPXE booted or last configured, not always the first, `net0`;
    /// colon-separated, the server accepts any separator). iPXE that fetched it
    /// over the network has an address already: asking DHCP again costs a round, and beside a
    /// proxy-DHCP server (dnsmasq) about 15 s of waiting for the proxy.
    public static func chain(publicURL: String) throws(Invalid) -> String {
        var base = publicURL
        while base.hasSuffix("/") { base.removeLast() }
        var problems: [String] = []
        if let problem = IPXEValue.check(base, field: "public URL") { problems.append(problem) }
        let host = base.split(separator: "/", omittingEmptySubsequences: false).dropFirst(2).first ?? ""
        if !(base.hasPrefix("http://") || base.hasPrefix("https://")) || host.isEmpty {
            problems.append("public URL \(IPXEValue.quoted(base)) must be an http:// or https:// URL")
        }
        if base.contains("?") { problems.append("public URL must not have a query") }
        if !problems.isEmpty { throw Invalid(problems: problems) }
        return "#!ipxe\nisset ${ip} || dhcp\nchain \(base)/ipxe?mac=${netX/mac}\n"
    }
}
