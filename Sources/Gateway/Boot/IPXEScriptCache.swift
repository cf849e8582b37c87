import Renderers

/// The last iPXE answer per host and MAC, valid while neither the host nor its ISO changes.
/// Writing a script re-checks every value that goes into it; a host that boots again (or a
/// rack that retries) gets the checked script back instead.
final class IPXEScriptCache: Sendable {
    struct Key: Hashable, Sendable {
        var host: ObjectKey
        var mac: String
    }

    /// Script and problem only: holding the answer's host would keep every superseded version
    /// of every host alive.
    private struct Entry: Sendable {
        var hostRevision: Int64
        var isoRevision: Int64
        var script: String
        var problem: String?
    }

    private let entries: BoundedCache<Key, Entry>

    init(capacity: Int = 65_536) { entries = BoundedCache(capacity: capacity) }

    func answer(_ key: Key, hostRevision: Int64, isoRevision: Int64) -> Service.IPXEAnswer? {
        guard let hit = entries[key], hit.hostRevision == hostRevision, hit.isoRevision == isoRevision else { return nil }
        return Service.IPXEAnswer(script: hit.script, host: nil, problem: hit.problem)
    }

    func store(_ answer: Service.IPXEAnswer, for key: Key, hostRevision: Int64, isoRevision: Int64) {
        entries.store(Entry(hostRevision: hostRevision, isoRevision: isoRevision, script: answer.script, problem: answer.problem), for: key)
    }
}
