import Renderers

/// The boot path's iPXE answer per MAC, good while the index's `scriptEpoch` stands. A hit
/// needs no index lookup at all: writing a script re-checks every value that goes into it,
/// and a rack that boots again (or retries) gets the checked script back.
final class IPXEScriptCache: Sendable {
    /// What `/ipxe` sends a MAC and records about it. Holds no host object, which would keep
    /// every superseded version of every host alive; a class, so a hit is one retain.
    final class Served: Sendable {
        let host: ObjectKey
        /// `host` as the event log writes it.
        let hostText: String
        let body: [UInt8]
        /// Why the machine does not boot what it should (ISO missing, no IQN).
        let problem: String?
        /// The event's detail: the problem, or the command the script ends with.
        let detail: String

        init(host: ObjectKey, answer: BootResolver.IPXEAnswer) {
            self.host = host
            hostText = host.description
            body = Array(answer.script.utf8)
            problem = answer.problem
            detail = answer.problem ?? BootResolver.lastLine(answer.script)
        }
    }

    private struct Entry: Sendable {
        var epoch: Int64
        var served: Served
    }

    private let entries: BoundedCache<String, Entry>

    init(capacity: Int = 65_536) { entries = BoundedCache(capacity: capacity) }

    func served(mac: String, epoch: Int64) -> Served? {
        guard let hit = entries[mac], hit.epoch == epoch else { return nil }
        return hit.served
    }

    func store(_ served: Served, mac: String, epoch: Int64) {
        entries.store(Entry(epoch: epoch, served: served), for: mac)
    }
}
