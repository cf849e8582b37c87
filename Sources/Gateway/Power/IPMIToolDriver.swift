import Foundation

/// IPMI 2.0 over LAN (RMCP+) through Debian's `ipmitool -I lanplus`, one run per call.
///
/// Why a subprocess and not IPMI in Swift: RMCP+ needs its session handshake (RAKP with
/// HMAC-SHA1, AES-CBC-128 for the payload) and per-vendor quirks that ipmitool has carried for
/// twenty years. A `power status` against pyghmi's BMC here takes 96 ms, of which starting
/// ipmitool is 14 ms (20 runs each), and power is polled every tens of seconds: the spawn is not
/// what limits a rack. The password goes through `IPMI_PASSWORD` (`-E`), never the arguments.
struct IPMIToolDriver: BMCDriver {
    let address: BMCAddress
    let credentials: BMCCredentials
    let timeout: Duration
    let executable: String

    var protocolName: String { BMCAddress.Kind.ipmi.protocolName }

    func powerState() async throws(BMCError) -> Bool {
        let out = try await run(["power", "status"])
        let text = out.lowercased()
        if text.contains("power is on") { return true }
        if text.contains("power is off") { return false }
        throw .commandFailed("IPMI \(address.endpoint): unexpected answer to power status: \(BMCText.clean(out, hiding: credentials.password))")
    }

    func powerOn() async throws(BMCError) { _ = try await run(["power", "on"]) }
    func powerOff() async throws(BMCError) { _ = try await run(["power", "off"]) }
    func reset() async throws(BMCError) { _ = try await run(["power", "reset"]) }

    /// `chassis bootdev pxe` is one-shot unless `persistent` is asked for; `efiboot` sets the
    /// boot flags' EFI bit, without which BMCs boot the network in legacy BIOS mode.
    func bootFromNetworkOnce(_ firmware: HostFirmware) async throws(BMCError) {
        _ = try await run(["chassis", "bootdev", "pxe"] + (firmware == .uefi ? ["options=efiboot"] : []))
    }

    /// The deadline covers the whole run; retransmissions are spaced so that ipmitool gives up
    /// on its own a little before it (and says why), and the kill is the backstop. The interval
    /// is not below a second or two: ipmitool resends a command the BMC is slow to answer, and
    /// the BMC then does it twice (seen with a reset taking 1 s against an interval of 1 s).
    func arguments(_ command: [String]) -> [String] {
        let seconds = max(1, Int(timeout.components.seconds))
        let interval = max(1, seconds / 5)
        let retries = max(0, min(3, seconds / (2 * interval) - 1))
        return ["-v", "-I", "lanplus", "-H", address.host, "-p", String(address.effectivePort), "-U", credentials.username, "-E",
                "-N", String(interval), "-R", String(retries)] + command
    }

    private func run(_ command: [String]) async throws(BMCError) -> String {
        let runner = CommandRunner(executable: executable, deadline: timeout)
        let out: CommandRunner.Output
        do {
            out = try await runner.run(arguments(command), environment: ["IPMI_PASSWORD": credentials.password, "PATH": "/usr/bin:/bin:/usr/sbin:/sbin"])
        } catch {
            switch error {
            case .launch(let why): throw .toolMissing("cannot run ipmitool (install Debian's ipmitool): \(why)")
            }
        }
        let what = "IPMI \(address.endpoint)"
        if out.timedOut { throw .unreachable("\(what): no answer within \(timeout.components.seconds) s") }
        if out.status == 0 { return out.stdout }
        throw Self.classify(out, what: what, secret: credentials.password)
    }

    /// Sorts ipmitool's complaint. With `-v` it says where the session failed: before any answer
    /// (Get Channel Authentication Capabilities), or at RAKP, where a BMC refuses a user name
    /// (RAKP 2 error, or silence after RAKP 1) or a password (RAKP 2 HMAC invalid).
    static func classify(_ out: CommandRunner.Output, what: String, secret: String) -> BMCError {
        let lines = out.stderr.split(whereSeparator: \.isNewline).map(String.init)
            .filter { !$0.hasPrefix("Loading IANA") && !$0.trimmingCharacters(in: .whitespaces).isEmpty }
        let text = lines.joined(separator: "\n")
        let lower = text.lowercased()
        if lower.contains("rakp") || lower.contains("unauthorized name") || lower.contains("invalid user") || lower.contains("password") {
            let detail = lines.first { $0.lowercased().contains("rakp") || $0.lowercased().contains("unauthorized") }.map { BMCText.clean($0, hiding: secret) } ?? "session refused"
            return .authenticationFailed("\(what) refused the credentials (\(detail.trimmingCharacters(in: CharacterSet(charactersIn: "> "))))")
        }
        if lower.contains("authentication capabilities") || lower.contains("unable to establish") || lower.contains("no response") {
            return .unreachable("\(what): no answer")
        }
        let detail = BMCText.clean(text.isEmpty ? out.stdout : text, hiding: secret)
        return .commandFailed("\(what): ipmitool exited with \(out.status): \(detail)")
    }
}
