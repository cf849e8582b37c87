import COpenSSL
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The keys a store opens BMC passwords with: the one that seals, and while a rotation runs
/// (`bootgate key rotate`) the one it replaces, so every value stays readable whichever key
/// sealed it. Swapped while the server runs; reads and writes never wait for a rotation.
public final class SecretKeyring: Sendable {
    private let keys: Mutex<[SecretSealer]>

    /// `keys.first` seals; all of them open.
    public init(_ keys: [SecretSealer]) {
        precondition(!keys.isEmpty)
        self.keys = Mutex(keys)
    }

    /// The keys of a data folder: `secret.key` (made when absent) and, when a rotation was
    /// begun and not finished, `secret.key.next`, which then seals.
    public static func load(_ files: SecretKeyFiles) throws -> SecretKeyring {
        let current = try SecretSealer.keyFile(files.current)
        if let next = try SecretSealer.load(files.next), next.keyID != current.keyID { return SecretKeyring([next, current]) }
        return SecretKeyring([current])
    }

    public var sealing: SecretSealer { keys.withLock { $0[0] } }
    public var keyIDs: [String] { keys.withLock { $0.map(\.keyID) } }

    /// From now on `key` seals; the others still open.
    func adopt(_ key: SecretSealer) {
        keys.withLock { keys in
            keys.removeAll { $0.keyID == key.keyID }
            keys.insert(key, at: 0)
        }
    }

    /// Only the sealing key is left.
    func retireOthers() { keys.withLock { $0.removeSubrange(1...) } }

    func seal(_ json: JSONValue) -> JSONValue { sealing.seal(json) }

    func open(_ json: JSONValue) -> JSONValue {
        let keys = keys.withLock { $0 }
        return SecretSealer.transform(json) { stored in
            guard stored.hasPrefix(SecretSealer.prefix) else { return stored }
            for key in keys { if let plain = key.open(string: stored) { return plain } }
            return stored
        }
    }

    /// The object sealed under the sealing key, or nil when nothing in it needs that: no
    /// secret, already under it, or under a key this ring does not have (left as it is).
    func resealed(_ json: JSONValue) -> JSONValue? {
        let keys = keys.withLock { $0 }
        var changed = false
        let out = SecretSealer.transform(json) { stored in
            guard stored.hasPrefix(SecretSealer.prefix), !stored.hasPrefix(keys[0].sealedPrefix) else { return stored }
            for key in keys { if let plain = key.open(string: stored) { changed = true; return keys[0].seal(string: plain) } }
            return stored
        }
        return changed ? out : nil
    }
}

/// The key files of a data folder. A rotation writes the new key to `secret.key.next` before
/// anything is sealed with it, and renames it over `secret.key` only once nothing is left under
/// the old key: whenever it stops, the files on disk open everything in the store.
public struct SecretKeyFiles: Sendable {
    public let current: String
    public let next: String

    public init(directory: String) {
        current = directory + "/secret.key"
        next = directory + "/secret.key.next"
    }

    public var rotationPending: Bool { FileManager.default.fileExists(atPath: next) }

    /// The key a rotation moves to: the one already in `secret.key.next` (a rotation that was
    /// stopped goes on with its key), or a new one written there.
    public func beginRotation() throws -> SecretSealer {
        if let next = try SecretSealer.load(next) { return next }
        return SecretSealer(key: try Self.write(newKeyTo: next))
    }

    /// `secret.key.next` becomes `secret.key`: the old key is gone.
    func finishRotation() throws {
        guard rename(next, current) == 0 else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: next, NSLocalizedDescriptionKey: String(cString: strerror(errno))])
        }
        Self.syncDirectory(of: current)
    }

    /// A new random key in a new file (0600), on disk before this returns: a key that sealed
    /// something must never be lost to a crash. The file is written under a temporary name and
    /// linked in place, so `path` is either absent or a whole key.
    static func write(newKeyTo path: String) throws -> [UInt8] {
        var key = [UInt8](repeating: 0, count: 32)
        guard RAND_bytes(&key, 32) == 1 else { throw CocoaError(.fileWriteUnknown) }
        let temporary = path + ".tmp"
        unlink(temporary)
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw CocoaError(.fileWriteNoPermission, userInfo: [NSFilePathErrorKey: path, NSLocalizedDescriptionKey: String(cString: strerror(errno))]) }
        let written = key.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, 32) }
        let synced = fsync(fd) == 0
        close(fd)
        guard written == 32, synced else {
            unlink(temporary)
            throw CocoaError(.fileWriteOutOfSpace, userInfo: [NSFilePathErrorKey: path])
        }
        // link, not rename: two processes making the same file keep the first one's key.
        let linked = link(temporary, path) == 0
        unlink(temporary)
        if !linked {
            if errno == EEXIST, let existing = FileManager.default.contents(atPath: path), existing.count == 32 { return Array(existing) }
            throw CocoaError(.fileWriteNoPermission, userInfo: [NSFilePathErrorKey: path, NSLocalizedDescriptionKey: String(cString: strerror(errno))])
        }
        syncDirectory(of: path)
        return key
    }

    static func syncDirectory(of path: String) {
        let dir = (path as NSString).deletingLastPathComponent
        let fd = open(dir.isEmpty ? "." : dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd >= 0 { fsync(fd); close(fd) }
    }
}

/// What a rotation did.
public struct KeyRotationReport: Sendable, CustomStringConvertible {
    public var keyID: String
    public var objects = 0
    public var logEntries = 0
    /// Values no key of the ring opens (sealed under a key lost before): left as they were.
    public var unopenable = 0

    public var description: String {
        var text = "re-sealed \(objects) object(s) and \(logEntries) change-log entr\(logEntries == 1 ? "y" : "ies") under key \(keyID); the old key is gone"
        if unopenable > 0 { text += "; \(unopenable) value(s) sealed under a key that is not here were left as they were" }
        return text
    }
}
