import Foundation

/// Exports ISOs through Linux tgt (Debian `tgt`) by running `tgtadm` against a running tgtd.
/// tgt puts a controller at LUN 0, so the CD-ROM is LUN 1 (iPXE must be given it: see
/// `ISCSITarget`). Read-only is set with a LUN update, since `--params readonly=1` is refused
/// when the LUN is created.
struct TGTExporter: ISOExporter {
    let name = "tgt"
    /// tgtd's control port (`tgtd -C N`); nil for the default instance.
    var controlPort: Int?
    var runner: CommandRunner
    static let lun = 1

    init(tgtadm: String, controlPort: Int?, timeout: Duration) {
        self.controlPort = controlPort
        runner = CommandRunner(executable: tgtadm, deadline: timeout)
    }

    func targets() async throws(ExportError) -> [ExportedTarget] {
        let out = try await tgtadm(["--mode", "target", "--op", "show"])
        return TGTShowParser.targets(out)
    }

    func create(iqn: String, file: String) async throws(ExportError) -> ExportedTarget {
        // The lowest free id; a race with another tgtadm user fails cleanly ("already exists").
        let used = Set(try await targets().map(\.id))
        let tid = (1...).first { !used.contains($0) }!
        _ = try await tgtadm(["--mode", "target", "--op", "new", "--tid", String(tid), "--targetname", iqn])
        do throws(ExportError) {
            try await addCDROM(tid: tid, file: file)
            _ = try await tgtadm(["--mode", "target", "--op", "bind", "--tid", String(tid), "--initiator-address", "ALL"])
        } catch {
            // No half-made target left behind: it would look like a stray next time.
            _ = try? await tgtadm(["--mode", "target", "--op", "delete", "--force", "--tid", String(tid)])
            throw error
        }
        return ExportedTarget(id: tid, iqn: iqn, lun: Self.lun, file: file)
    }

    func replaceFile(of target: ExportedTarget, with file: String) async throws(ExportError) -> ExportedTarget {
        if target.lun != nil {
            // tgt refuses to delete a LUN in use; the old file then serves until the machine is done.
            _ = try await tgtadm(["--mode", "logicalunit", "--op", "delete", "--tid", String(target.id), "--lun", String(Self.lun)])
        }
        try await addCDROM(tid: target.id, file: file)
        return ExportedTarget(id: target.id, iqn: target.iqn, lun: Self.lun, file: file)
    }

    func remove(_ target: ExportedTarget) async throws(ExportError) {
        _ = try await tgtadm(["--mode", "target", "--op", "delete", "--force", "--tid", String(target.id)])
    }

    private func addCDROM(tid: Int, file: String) async throws(ExportError) {
        _ = try await tgtadm(["--mode", "logicalunit", "--op", "new", "--tid", String(tid), "--lun", String(Self.lun),
                              "--backing-store", file, "--device-type", "cd"])
        _ = try await tgtadm(["--mode", "logicalunit", "--op", "update", "--tid", String(tid), "--lun", String(Self.lun),
                              "--params", "readonly=1"])
    }

    /// Runs one tgtadm command; its stdout, or an error with its message.
    private func tgtadm(_ arguments: [String]) async throws(ExportError) -> String {
        var args = ["--lld", "iscsi"] + arguments
        if let controlPort { args = ["-C", String(controlPort)] + args }
        let out: CommandRunner.Output
        do {
            out = try await runner.run(args, environment: [:])
        } catch {
            switch error { case .launch(let why): throw ExportError(unreachable: true, "tgtadm cannot be started: \(why)") }
        }
        if out.timedOut { throw ExportError(unreachable: true, "tgtadm \(arguments.prefix(4).joined(separator: " ")) did not answer in time") }
        guard out.status == 0 else {
            let why = (out.stderr + out.stdout).trimmingCharacters(in: .whitespacesAndNewlines)
            // tgtadm says this when no tgtd listens on the control socket.
            let down = why.contains("can't connect") || why.contains("can't send") || why.contains("Connection refused")
            throw ExportError(unreachable: down, "tgtadm \(arguments.prefix(4).joined(separator: " ")) failed: \(why.isEmpty ? "exit \(out.status)" : why)")
        }
        return out.stdout
    }
}

/// Reads `tgtadm --mode target --op show`: "Target N: IQN" lines, then per LUN "LUN: n" and
/// "Backing store path: …". The CD-ROM reported is the first LUN with a backing file.
enum TGTShowParser {
    static func targets(_ text: String) -> [ExportedTarget] {
        var found: [ExportedTarget] = []
        var lun: Int?
        for raw in text.split(separator: "\n") {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if raw.hasPrefix("Target "), let colon = line.firstIndex(of: ":") {
                let id = Int(line[line.index(line.startIndex, offsetBy: 7)..<colon]) ?? 0
                let iqn = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
                found.append(ExportedTarget(id: id, iqn: iqn, lun: nil, file: nil))
                lun = nil
            } else if line.hasPrefix("I_T nexus: "), !found.isEmpty {
                found[found.count - 1].sessions += 1
            } else if line.hasPrefix("LUN: ") {
                lun = Int(line.dropFirst(5).trimmingCharacters(in: .whitespaces))
            } else if line.hasPrefix("Backing store path: "), !found.isEmpty, found[found.count - 1].file == nil {
                let path = String(line.dropFirst("Backing store path: ".count))
                if path != "None", !path.isEmpty {
                    found[found.count - 1].file = path
                    found[found.count - 1].lun = lun
                }
            }
        }
        return found
    }
}
