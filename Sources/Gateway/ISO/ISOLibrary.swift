import COpenSSL
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The ISO folder: where the file of each ISCSICdrom lives (`<directory>/<spec.isoFile>`), how
/// an upload gets there (a temporary file in the same folder, fsynced, renamed over the old one,
/// the folder fsynced), and what a file holds (size, SHA-256, El Torito entries).
/// The contract other parts build on (the tgt exporter, HTTP boot) is /work/notes/iso-contract.md
/// and docs/isos.md.
public final class ISOLibrary: Sendable {
    public let directory: String
    /// Names of the ISOs with an upload in progress (one at a time per ISO).
    private let uploading = Mutex<Set<String>>([])
    static let temporaryMark = ".upload-"

    public init(directory: String) {
        let url = URL(fileURLWithPath: directory).standardizedFileURL
        self.directory = url.path
    }

    /// The file of an ISO: `<directory>/<spec.isoFile>` (`<name>.iso` when unset).
    public func path(of iso: ResourceObject) -> String {
        path(fileName: Self.fileName(of: iso))
    }

    public func path(fileName: String) -> String { directory + "/" + fileName }

    static func fileName(of iso: ResourceObject) -> String {
        let f = iso.string("spec", "isoFile")
        return f.isEmpty ? iso.name + ".iso" : f
    }

    /// `spec.isoFile` must name a file in the folder, and not one of the upload's temporary files.
    static func fileNameProblem(_ name: String) -> String? {
        if name.isEmpty { return "must not be empty" }
        if name.contains("/") || name.contains("\0") { return "\"\(name)\" must be a file name in the ISO folder, without '/'" }
        if name.hasPrefix(".") { return "\"\(name)\" must not start with '.' (hidden and temporary files)" }
        if name.utf8.count > 255 { return "must be at most 255 bytes" }
        return nil
    }

    func createDirectory() throws(APIError) {
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw .internalError("cannot create the ISO folder \(directory): \(error.localizedDescription)")
        }
    }

    /// Removes temporary files an interrupted upload (kill -9, power loss) left; their ISOs
    /// still have their previous file. `olderThan`: only files not written for that long (a
    /// folder shared by several replicas holds other processes' uploads in progress).
    @discardableResult
    func removeLeftovers(olderThan age: TimeInterval = 0) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        let now = Date()
        let stale = names.filter { name in
            guard name.hasPrefix(".") && name.contains(Self.temporaryMark) else { return false }
            guard age > 0 else { return true }
            let modified = (try? FileManager.default.attributesOfItem(atPath: path(fileName: name))[.modificationDate] as? Date) ?? now
            return now.timeIntervalSince(modified) > age
        }
        for n in stale { unlink(path(fileName: n)) }
        return stale
    }

    /// Whether an upload of this file is being written by some process (a temporary file written
    /// within `age` seconds).
    func uploadInProgress(fileName: String, within age: TimeInterval) -> Bool {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.contains { name in
            guard name.hasPrefix("." + fileName + Self.temporaryMark) else { return false }
            let modified = (try? FileManager.default.attributesOfItem(atPath: path(fileName: name))[.modificationDate] as? Date) ?? .distantPast
            return Date().timeIntervalSince(modified) < age
        }
    }

    /// Claims the right to upload `name`; false when an upload of it is already running.
    func beginUpload(_ name: String) -> Bool { uploading.withLock { $0.insert(name).inserted } }
    func endUpload(_ name: String) { _ = uploading.withLock { $0.remove(name) } }
    public var uploadsInProgress: Set<String> { uploading.withLock { $0 } }

    /// What a file in the folder holds.
    public struct Inspection: Sendable {
        public var size: UInt64
        public var sha256: String
        public var bootEntries: [ElToritoEntry]
    }

    /// Reads a whole file once (hash) and its volume descriptors (boot entries). For files that
    /// appeared in the folder without an upload (placed by hand, or left by a crash mid-commit).
    func inspect(fileAt path: String) throws(ISO9660Error) -> Inspection {
        let file = try ISOFile(path: path)
        let image = try ISO9660Image(source: file)
        let hash = SHA256Stream()
        var offset: UInt64 = 0
        while offset < file.size {
            let chunk = try file.read(at: offset, count: 1 << 20)
            if chunk.isEmpty { break }
            hash.update(chunk)
            offset += UInt64(chunk.count)
        }
        return Inspection(size: file.size, sha256: hash.finish(), bootEntries: image.bootEntries)
    }
}

/// An upload being written: a temporary file beside the ISO's, a running SHA-256, and a size
/// limit. Memory: one write buffer (`bufferSize`), whatever the ISO's size.
final class ISOUploadFile {
    let temporaryPath: String
    let finalPath: String
    private var fd: Int32
    private var buffer: [UInt8] = []
    private(set) var size: UInt64 = 0
    private let hash = SHA256Stream()
    let limit: UInt64
    static let bufferSize = 1 << 20

    init(library: ISOLibrary, fileName: String, limit: UInt64) throws(APIError) {
        try library.createDirectory()
        finalPath = library.path(fileName: fileName)
        temporaryPath = library.path(fileName: "." + fileName + ISOLibrary.temporaryMark + UUID().uuidString.prefix(8).lowercased())
        fd = open(temporaryPath, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0o644)
        self.limit = limit
        guard fd >= 0 else { throw Self.diskError("cannot create \(temporaryPath)", errno) }
        buffer.reserveCapacity(Self.bufferSize)
    }

    deinit { discard() }

    func append(_ bytes: some Collection<UInt8>) throws(APIError) {
        size += UInt64(bytes.count)
        guard size <= limit else {
            throw APIError(code: 413, reason: "RequestEntityTooLarge", message: "the ISO is larger than the limit of \(limit >> 20) MiB (--max-iso-size)")
        }
        buffer.append(contentsOf: bytes)
        if buffer.count >= Self.bufferSize { try flush() }
    }

    private func flush() throws(APIError) {
        guard !buffer.isEmpty else { return }
        hash.update(buffer)
        var done = 0
        while done < buffer.count {
            let r = buffer.withUnsafeBytes { write(fd, $0.baseAddress! + done, buffer.count - done) }
            if r < 0, errno == EINTR { continue }
            guard r > 0 else { throw Self.diskError("writing \(temporaryPath)", errno) }
            done += r
        }
        buffer.removeAll(keepingCapacity: true)
    }

    /// The first bytes, for the ISO check before the file replaces the old one.
    var file: String { temporaryPath }

    /// Everything written and on disk; returns the SHA-256.
    func finishWriting() async throws(APIError) -> String {
        try flush()
        let fd = self.fd, path = temporaryPath
        // fsync of a large file takes seconds: off the concurrency pool's threads.
        let err: Int32 = await withCheckedContinuation { cont in
            DispatchQueue.global().async { cont.resume(returning: fsync(fd) == 0 ? 0 : errno) }
        }
        guard err == 0 else { throw Self.diskError("fsync of \(path)", err) }
        return hash.finish()
    }

    /// Puts the file in place of the ISO's (atomic: same folder) and makes the rename durable.
    func commit() throws(APIError) {
        close(fd)
        fd = -1
        guard rename(temporaryPath, finalPath) == 0 else {
            let failure = errno
            unlink(temporaryPath)
            throw Self.diskError("cannot rename \(temporaryPath) to \(finalPath)", failure)
        }
        let dir = open((finalPath as NSString).deletingLastPathComponent, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dir >= 0 {
            fsync(dir)
            close(dir)
        }
    }

    /// A full disk is 507 and a read-only one 503, as for the store: the upload was fine, the
    /// server had no room for it; the ISO's previous file still serves.
    static func diskError(_ what: String, _ code: Int32) -> APIError {
        let reason = "\(what): \(String(cString: strerror(code)))"
        switch DataFolderProbe.Fault(errno: code) {
        case .full:
            return .insufficientStorage("the ISO folder's disk is full, the upload was not kept (\(reason))")
        case .readOnly:
            var e = APIError(code: 503, reason: "ServiceUnavailable", message: "the ISO folder is on a read-only file system (\(reason))")
            e.retryAfter = 30
            return e
        case nil:
            return .internalError(reason)
        }
    }

    /// Drops the temporary file (a failed or refused upload); the ISO's file is untouched.
    func discard() {
        guard fd >= 0 else { return }
        close(fd)
        fd = -1
        unlink(temporaryPath)
    }
}

/// SHA-256 over data that arrives in pieces (libcrypto's EVP digest).
final class SHA256Stream {
    private let ctx: OpaquePointer

    init() {
        ctx = EVP_MD_CTX_new()
        EVP_DigestInit_ex(ctx, EVP_sha256(), nil)
    }

    deinit { EVP_MD_CTX_free(ctx) }

    func update(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { _ = EVP_DigestUpdate(ctx, $0.baseAddress, $0.count) }
    }

    func finish() -> String {
        var out = [UInt8](repeating: 0, count: 32)
        var n: UInt32 = 0
        EVP_DigestFinal_ex(ctx, &out, &n)
        return out.map { String(format: "%02x", $0) }.joined()
    }
}
