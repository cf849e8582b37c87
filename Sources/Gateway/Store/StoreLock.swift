import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// One server per store. Two would each keep their own index and revision counter and write
/// over each other's changes, so the data folder is locked for as long as its store is open.
/// The lock is the kernel's (`flock`): it goes with the process, `kill -9` included. A process
/// starting while the previous one finishes its shutdown waits a few seconds for it.
final class StoreLock: Sendable {
    private let fd: Int32

    init(directory: String, wait: Duration = .seconds(5)) throws(StoreError) {
        let path = directory + "/bootgate.lock"
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw .io("cannot open \(path): \(String(cString: strerror(errno)))") }
        fchmod(fd, 0o600)
        let deadline = ContinuousClock.now + wait
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            guard errno == EWOULDBLOCK, ContinuousClock.now < deadline else {
                let holder = (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
                close(fd)
                throw .io("the store in \(directory) is in use by another bootgate" + (holder.isEmpty ? "" : " (pid \(holder))") + "; stop it first")
            }
            usleep(100_000)
        }
        // Who holds it, for the message another process gives.
        let pid = Array("\(getpid())\n".utf8)
        _ = ftruncate(fd, 0)
        _ = pid.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
        self.fd = fd
    }

    /// Whether a process holds the folder's lock now (a server is running on it).
    static func isHeld(directory: String) -> Bool {
        let fd = open(directory + "/bootgate.lock", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        return flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK
    }

    /// Closing the descriptor releases the lock.
    deinit { close(fd) }
}
