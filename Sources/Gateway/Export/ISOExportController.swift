import Foundation
import Logging
import Renderers
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Keeps one iSCSI target per ISO on bootgate's own store, shaped like `PowerController`:
/// follows the ISOs' change feed and reads the target software back every `pollInterval`.
///
/// Each round compares what the target software has with the ISOs in the store: a missing
/// target is (re)created (a tgtd restart loses them all, and the next round puts them back); a
/// target whose file is no longer the ISO's file (a re-upload renamed a new one into place) gets
/// its LUN re-opened on the same target, so no stale target is left; a target that belongs to no
/// ISO is reported (log, `/healthz`) and left alone, since bootgate cannot know who made it. The
/// ISO's `status.targetIQN`, `portalIP`, `portalPort` and `lun` are written when they change.
public final class ISOExportController: Sendable {
    let service: Service
    let settings: ExportSettings
    let exporter: any ISOExporter
    let logger: Logger
    private let state = Mutex(State())

    struct State {
        /// What bootgate exported (or adopted) per ISO name, with the file it opened then.
        var exported: [String: Exported] = [:]
        /// Targets no ISO owns, from the last round.
        var strays: [ExportedTarget] = []
        /// Why the target software cannot be used, since when; nil when it answers.
        var unreachable: (reason: String, since: Int)?
        /// Per ISO: why it is not exported.
        var problems: [String: String] = [:]
        /// ISOs deleted since the last round: their targets go.
        var deleted: Set<String> = []
        var dirty = true
        var rounds = 0
    }

    struct Exported {
        var target: ExportedTarget
        var file: FileIdentity
    }

    public init(service: Service, settings: ExportSettings, exporter: (any ISOExporter)? = nil, logger: Logger) {
        self.service = service
        self.settings = settings
        self.exporter = exporter ?? TGTExporter(tgtadm: settings.tgtadm, controlPort: settings.controlPort, timeout: settings.timeout)
        self.logger = logger
    }

    /// The target name of an ISO.
    public func iqn(for iso: String) -> String { settings.iqnPrefix + ":" + iso }

    /// The ISO's file on disk (`--iso-dir`, the folder uploads land in).
    func file(of iso: ResourceObject) -> String { service.isoFiles.path(of: iso) }

    // MARK: running

    /// Follows the feed and reconciles until cancelled.
    public func run() async {
        let (_, revision) = service.list(.iscsiCdrom, .init())
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.follow(after: revision) }
            group.addTask { await self.reconcileForever() }
            await group.next()
            group.cancelAll()
        }
    }

    /// A round at once after an ISO changes, else every `pollInterval`.
    private func reconcileForever() async {
        while !Task.isCancelled {
            state.withLock { $0.dirty = false }
            await reconcile()
            let start = ContinuousClock.now
            while !Task.isCancelled, ContinuousClock.now - start < settings.pollInterval, !state.withLock({ $0.dirty }) {
                try? await Task.sleep(for: .milliseconds(100))
            }
        }
    }

    private func follow(after revision: Int64) async {
        var after = revision
        while !Task.isCancelled {
            switch service.hub.subscribe(.iscsiCdrom, after: after) {
            case .stream(let stream):
                for await change in stream {
                    after = change.revision
                    guard change.object.kind == .iscsiCdrom else { continue }
                    state.withLock { s in
                        if change.type == .deleted { s.deleted.insert(change.object.name) } else { s.deleted.remove(change.object.name) }
                        s.dirty = true
                    }
                }
            case .tooOld:
                // Missed changes: the next round compares everything anyway.
                after = service.list(.iscsiCdrom, .init()).revision
                state.withLock { $0.dirty = true }
            }
            try? await Task.sleep(for: .milliseconds(200))
        }
    }

    // MARK: one round

    /// Brings the target software in line with the store's ISOs (see the type's comment).
    public func reconcile() async {
        let targets: [ExportedTarget]
        do {
            targets = try await exporter.targets()
        } catch {
            let first = state.withLock { s in
                defer { if s.unreachable == nil { s.unreachable = (error.message, Int(Date().timeIntervalSince1970)) } }
                return s.unreachable == nil
            }
            if first { logger.error("export: \(exporter.name) cannot be reached: \(error.message); ISOs are not exported until it answers") }
            return
        }
        if let was = state.withLock({ s in defer { s.unreachable = nil }; return s.unreachable }) {
            logger.notice("export: \(exporter.name) answers again (unreachable since \(Timestamp.seconds(at: was.since))): checking every ISO's target")
        }
        var byIQN: [String: ExportedTarget] = [:]
        for t in targets where byIQN[t.iqn] == nil { byIQN[t.iqn] = t }
        let isos = service.list(.iscsiCdrom, .init()).items
        let names = Set(isos.map(\.name))

        // Targets of deleted ISOs that bootgate made go with them.
        let gone: [(String, Exported)] = state.withLock { s in
            let d = s.deleted.filter { !names.contains($0) }
            s.deleted = []
            return d.compactMap { n in s.exported.removeValue(forKey: n).map { (n, $0) } }
        }
        for (name, was) in gone {
            guard let t = byIQN[was.target.iqn] else { continue }
            do {
                try await exporter.remove(t)
                byIQN[t.iqn] = nil
                logger.info("export: ISO \(name) deleted: target \(t.iqn) removed")
            } catch {
                logger.error("export: ISO \(name) deleted, but its target \(t.iqn) could not be removed: \(error.message)")
            }
        }

        var wanted = Set<String>()
        var problems: [String: String] = [:]
        for iso in isos {
            let iqn = iqn(for: iso.name)
            wanted.insert(iqn)
            if let problem = await export(iso, iqn: iqn, current: byIQN[iqn]) { problems[iso.name] = problem }
        }
        let strays = targets.filter { !wanted.contains($0.iqn) && byIQN[$0.iqn] != nil }
        let newStrays = state.withLock { s in
            let known = Set(s.strays.map(\.iqn))
            s.strays = strays
            s.problems = problems
            s.rounds += 1
            return strays.filter { !known.contains($0.iqn) }
        }
        for t in newStrays {
            logger.warning("export: \(exporter.name) target \(t.id) \(t.iqn)\(t.file.map { " (" + $0 + ")" } ?? "") belongs to no ISO in the store; left as it is")
        }
    }

    /// Creates, re-opens or adopts one ISO's target and writes its status; a problem, or nil.
    private func export(_ iso: ResourceObject, iqn: String, current: ExportedTarget?) async -> String? {
        let name = iso.name
        let path = file(of: iso)
        guard let identity = FileIdentity(path: path) else {
            // A target already serving (an upload under way, a file moved away) stays as it is.
            return "file \(path) does not exist yet"
        }
        let known = state.withLock { $0.exported[name] }
        var target: ExportedTarget
        do {
            if var t = current {
                if t.file != path || t.lun == nil || (known != nil && known!.file != identity) {
                    t = try await exporter.replaceFile(of: t, with: path)
                    logger.info("export: ISO \(name): target \(iqn) now serves \(path) (the file changed)")
                } else if known == nil, t.sessions == 0 {
                    // Found at start: the file may have been replaced while bootgate was down, and
                    // tgt would still serve the old one. With no machine logged in, re-opening costs nothing.
                    t = try await exporter.replaceFile(of: t, with: path)
                    logger.info("export: ISO \(name): target \(iqn) found at start; its LUN re-opened on \(path)")
                }
                target = t
            } else {
                if known != nil { logger.warning("export: ISO \(name): target \(iqn) is gone (\(exporter.name) restarted?); recreating it") }
                target = try await exporter.create(iqn: iqn, file: path)
                logger.info("export: ISO \(name): target \(iqn) serves \(path) as LUN \(target.lun ?? 0)")
            }
        } catch {
            logger.error("export: ISO \(name) not exported: \(error.message)")
            return error.message
        }
        state.withLock { $0.exported[name] = Exported(target: target, file: identity) }
        await writeStatus(iso.key, iqn: iqn, lun: target.lun ?? 0)
        return nil
    }

    /// Writes the target fields when they differ, with the ISO's resourceVersion; a conflict reads again.
    func writeStatus(_ key: ObjectKey, iqn: String, lun: Int) async {
        for _ in 0..<3 {
            guard let iso = service.index.object(key) else { return }
            let status = iso.json["status"]
            var patch = JSONObject()
            if status?["targetIQN"]?.stringValue != iqn { patch["targetIQN"] = .string(iqn) }
            if status?["portalIP"]?.stringValue != settings.portal { patch["portalIP"] = .string(settings.portal) }
            if status?["portalPort"]?.intValue != Int64(settings.port) { patch["portalPort"] = .int(Int64(settings.port)) }
            if status?["lun"]?.intValue != Int64(lun) { patch["lun"] = .int(Int64(lun)) }
            if patch.isEmpty { return }
            let body: JSONValue = .object(JSONObject([("metadata", .object(JSONObject([("resourceVersion", .string(String(iso.resourceVersion)))]))),
                                                      ("status", .object(patch))]))
            do {
                _ = try await service.patch(key, patch: body, type: .merge)
                return
            } catch {
                if error.code == 409 { continue }
                if error.code != 404 { logger.warning("export: ISO \(key.name): status not written: \(error.message)") }
                return
            }
        }
    }

    // MARK: reports

    /// `/healthz` lines: the target software unreachable, targets of no ISO, ISOs not exported.
    public var healthLines: [String] {
        state.withLock { s in
            var lines: [String] = []
            if let u = s.unreachable {
                lines.append("export \(exporter.name) unreachable since \(Timestamp.seconds(at: u.since)): \(u.reason)")
            }
            for t in s.strays {
                lines.append("export \(exporter.name) target \(t.iqn) (id \(t.id)\(t.file.map { ", " + $0 } ?? "")) belongs to no ISO; left as it is")
            }
            for (name, why) in s.problems.sorted(by: { $0.key < $1.key }) {
                lines.append("export ISO \(name) not exported: \(why)")
            }
            return lines
        }
    }

    /// Targets of no ISO and ISOs not exported, as of the last round (`/metrics`).
    public var counts: (strays: Int, notExported: Int) {
        state.withLock { ($0.strays.count, $0.problems.count) }
    }

    /// Rounds done so far (tests wait on it).
    public var rounds: Int { state.withLock { $0.rounds } }
}

/// Which file a path names now: a rename over it (an upload) changes the inode.
struct FileIdentity: Sendable, Hashable {
    var device: UInt64
    var inode: UInt64
    var size: Int64
    var modified: Int64

    init?(path: String) {
        var info = stat()
        guard stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return nil }
        device = UInt64(info.st_dev)
        inode = UInt64(info.st_ino)
        size = Int64(info.st_size)
        modified = Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec)
    }
}

/// Where `/healthz` finds the controller: set when bootgate exports ISOs itself.
public final class ISOExportSlot: Sendable {
    private let slot = Mutex<ISOExportController?>(nil)
    public init() {}
    public var controller: ISOExportController? { slot.withLock { $0 } }
    public func set(_ controller: ISOExportController?) { slot.withLock { $0 = controller } }
}
