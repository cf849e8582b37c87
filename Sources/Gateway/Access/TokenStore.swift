import COpenSSL
import Foundation
import Synchronization

/// Bearer tokens, kept in a file as `name role sha256-hex` lines: the file never holds a token
/// itself, so reading it (or a backup of it) gives nobody access. It is read again when it
/// changes (checked at most once a second, by modification time, size and inode), so
/// `bootgate token create|revoke` takes effect without a restart.
public final class TokenStore: Sendable {
    public struct Entry: Sendable, Equatable {
        public var name: String
        public var role: Role
        /// SHA-256 of the token, lower-case hex.
        public var digest: String
    }

    public enum Failure: Error, Sendable, CustomStringConvertible {
        case unreadable(String)
        case malformed(line: Int, String)
        case exists(String)
        case unknown(String)
        public var description: String {
            switch self {
            case .unreadable(let m): return m
            case .malformed(let line, let m): return "token file line \(line): \(m)"
            case .exists(let n): return "a token named \"\(n)\" exists already; revoke it first"
            case .unknown(let n): return "no token named \"\(n)\""
            }
        }
    }

    private struct Loaded {
        var byDigest: [String: Entry] = [:]
        var stamp: FileStamp?
        var checked: ContinuousClock.Instant?
    }

    public let path: String
    private let state = Mutex(Loaded())
    private static let recheck: Duration = .seconds(1)
    /// Open watches by the digest of the token that opened them: a revoked token's streams
    /// end (a BMC agent's watch lives for days and carries passwords), checked every second
    /// while any is open.
    private let watches = Mutex<(byDigest: [String: [WatchControl]], polling: Bool)>(([:], false))

    /// Reads the file now, so a broken one stops the server at start rather than locking everyone out later.
    public init(path: String) throws(Failure) {
        self.path = path
        let entries = try Self.read(path)
        let stamp = FileStamp(path)
        state.withLock { $0 = Loaded(byDigest: Self.index(entries), stamp: stamp, checked: .now) }
    }

    /// The entry for a presented token, or nil.
    public func lookup(_ token: String) -> Entry? {
        refreshIfChanged()
        let digest = Self.digest(token)
        return state.withLock { $0.byDigest[digest] }
    }

    /// Ends `control`'s watch when `token` stops being valid.
    func bind(_ control: WatchControl, to token: String) {
        let digest = Self.digest(token)
        let startPolling = watches.withLock { w -> Bool in
            w.byDigest[digest, default: []].append(control)
            defer { w.polling = true }
            return !w.polling
        }
        guard startPolling else { return }
        Task { [weak self] in
            while let store = self {
                guard store.pruneWatches() else { return }
                try? await Task.sleep(for: Self.recheck)
                store.refreshIfChanged()
            }
        }
    }

    /// Forgets ended watches and stops those whose token is gone; false (and polling stops)
    /// once none is left.
    private func pruneWatches() -> Bool {
        let known = state.withLock { Set($0.byDigest.keys) }
        let (revoked, more) = watches.withLock { w -> ([WatchControl], Bool) in
            var revoked: [WatchControl] = []
            for (digest, controls) in w.byDigest {
                let open = controls.filter { !$0.stopped }
                if !known.contains(digest) {
                    revoked += open
                    w.byDigest[digest] = nil
                } else {
                    w.byDigest[digest] = open.isEmpty ? nil : open
                }
            }
            if w.byDigest.isEmpty { w.polling = false }
            return (revoked, w.polling)
        }
        for c in revoked { c.stop() }
        return more
    }

    private func refreshIfChanged() {
        let now = ContinuousClock.now
        let due = state.withLock { s -> Bool in
            if let c = s.checked, now - c < Self.recheck { return false }
            s.checked = now
            return true
        }
        guard due else { return }
        let stamp = FileStamp(path)
        guard stamp != state.withLock({ $0.stamp }) else { return }
        // A file being rewritten may be briefly unreadable: keep the tokens already known then.
        // (`save` replaces it by rename, so a reader sees the old or the new file, never half.)
        guard let entries = try? Self.read(path) else { return }
        state.withLock { $0.byDigest = Self.index(entries); $0.stamp = stamp }
    }

    private static func index(_ entries: [Entry]) -> [String: Entry] {
        Dictionary(entries.map { ($0.digest, $0) }, uniquingKeysWith: { first, _ in first })
    }

    // MARK: the file

    public static func read(_ path: String) throws(Failure) -> [Entry] {
        guard FileManager.default.fileExists(atPath: path) else { return [] }
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw .unreadable("cannot read token file \(path)") }
        var entries: [Entry] = []
        for (n, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            guard fields.count == 3 else { throw .malformed(line: n + 1, "expected \"name role sha256\"") }
            guard let role = Role(rawValue: fields[1]) else {
                throw .malformed(line: n + 1, "unknown role \"\(fields[1])\"; roles: \(Role.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            let digest = fields[2].lowercased()
            guard digest.count == 64, digest.allSatisfy(\.isHexDigit) else { throw .malformed(line: n + 1, "the digest is not 64 hex digits") }
            entries.append(Entry(name: fields[0], role: role, digest: digest))
        }
        return entries
    }

    /// Writes the whole file (mode 0600) and renames it into place.
    public static func save(_ entries: [Entry], to path: String) throws(Failure) {
        var text = "# bootgate API tokens: name role sha256(token). Managed with `bootgate token`.\n"
        for e in entries { text += "\(e.name) \(e.role.rawValue) \(e.digest)\n" }
        let temp = path + ".tmp"
        let fd = open(temp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw .unreadable("cannot write \(temp): \(String(cString: strerror(errno)))") }
        fchmod(fd, 0o600)
        let bytes = Array(text.utf8)
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        fsync(fd)
        close(fd)
        guard written == bytes.count, rename(temp, path) == 0 else { throw .unreadable("cannot write \(path): \(String(cString: strerror(errno)))") }
    }

    /// Adds a token for `name` and returns it; only its digest is stored.
    public static func create(name: String, role: Role, in path: String) throws(Failure) -> String {
        guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || "-_.@".contains($0) }) else {
            throw .malformed(line: 0, "a token name is letters, digits, '-', '_', '.' or '@'")
        }
        var entries = try read(path)
        if entries.contains(where: { $0.name == name }) { throw .exists(name) }
        var random = [UInt8](repeating: 0, count: 32)
        guard RAND_bytes(&random, 32) == 1 else { throw .unreadable("no randomness for a token") }
        let token = "bgt_" + random.map { String(format: "%02x", $0) }.joined()
        entries.append(Entry(name: name, role: role, digest: digest(token)))
        try save(entries, to: path)
        return token
    }

    public static func revoke(name: String, in path: String) throws(Failure) {
        var entries = try read(path)
        guard entries.contains(where: { $0.name == name }) else { throw .unknown(name) }
        entries.removeAll { $0.name == name }
        try save(entries, to: path)
    }

    /// SHA-256 through libcrypto, lower-case hex.
    public static func digest(_ token: String) -> String {
        let bytes = Array(token.utf8)
        var out = [UInt8](repeating: 0, count: Int(SHA256_DIGEST_LENGTH))
        _ = SHA256(bytes, bytes.count, &out)
        return out.map { String(format: "%02x", $0) }.joined()
    }
}

/// What tells a rewritten file from the one last read.
struct FileStamp: Equatable, Sendable {
    var seconds: Int
    var nanoseconds: Int
    var size: Int64
    var inode: UInt64

    init?(_ path: String) {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        seconds = Int(st.st_mtim.tv_sec)
        nanoseconds = Int(st.st_mtim.tv_nsec)
        size = Int64(st.st_size)
        inode = UInt64(st.st_ino)
    }
}
