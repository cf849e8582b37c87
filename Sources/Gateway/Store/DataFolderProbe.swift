import Foundation
import GRDB
#if canImport(Glibc)
import Glibc
#endif

/// What a failed write to the data folder means for the client. SQLite's code alone does not
/// tell: a WAL write on a file system the kernel made read-only after an I/O error is plain
/// SQLITE_IOERR. So the folder itself is asked, with one small write.
struct DataFolderProbe: Sendable {
    let directory: String

    /// The store error for a failed commit: `.unavailable` (503) on a read-only file system,
    /// `.full` (507) on a full disk or quota, `.io` (500) for anything else.
    func failure(_ error: any Error, describing text: String) -> StoreError {
        let code = (error as? DatabaseError)?.resultCode.primaryResultCode
        let found = Fault(errno: writeErrno())
        if code == .SQLITE_READONLY || found == .readOnly {
            return .unavailable(readOnly)
        }
        if code == .SQLITE_FULL || found == .full {
            return .full("the disk holding the data folder \(directory) is full; writes resume once there is room")
        }
        return .io("committing to SQLite: \(text)")
    }

    /// What an errno says about the disk, for whoever writes there (the store, ISO uploads).
    enum Fault {
        case full, readOnly

        init?(errno code: Int32) {
            switch code {
            case ENOSPC, EDQUOT: self = .full
            case EROFS: self = .readOnly
            default: return nil
            }
        }
    }

    var readOnly: String {
        "the data folder \(directory) is on a read-only file system; reads and boots go on, writes resume once it is writable"
    }

    /// The errno of writing and syncing one block to a new file in the folder; 0 when that works.
    func writeErrno() -> Int32 {
        let path = directory + "/.write-probe"
        let fd = Glibc.open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        if fd < 0 { return errno }
        defer {
            Glibc.close(fd)
            Glibc.unlink(path)
        }
        let block = [UInt8](repeating: 0, count: 4096)
        let written = block.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        if written != block.count { return written < 0 ? errno : ENOSPC }
        return Glibc.fsync(fd) == 0 ? 0 : errno
    }
}
