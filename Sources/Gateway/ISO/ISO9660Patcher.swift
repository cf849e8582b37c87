#if canImport(Glibc)
import Glibc
#endif

/// Changes files in a copy of an ISO image in place, for `derive` (mkube's ISO patching):
/// `replace` writes the new bytes after the image's end and points the file's directory record
/// at them; `delete` removes the record from its folder. Both act on every directory tree the
/// image has (primary with Rock Ridge, and Joliet), so whichever names a reader uses it sees the
/// change (mkube patched the primary tree only, and its delete zeroed a record's length byte,
/// which hid every later record in that sector).
struct ISO9660Patcher {
    enum Op: Equatable {
        case replace(path: String, content: [UInt8])
        case delete(path: String)
    }

    let path: String

    func apply(_ ops: [Op]) throws(ISO9660Error) {
        let fd = open(path, O_RDWR | O_CLOEXEC)
        guard fd >= 0 else { throw .io("cannot open \(path) to patch it") }
        defer { close(fd) }
        for op in ops {
            // Read again after each change: a delete moves records.
            let image = try ISO9660Image(source: try ISOFile(path: path))
            switch op {
            case .replace(let file, let content):
                let records = try records(of: file, in: image)
                var st = stat()
                fstat(fd, &st)
                let block = UInt64(image.blockSize)
                let start = (UInt64(st.st_size) + block - 1) / block * block
                var padded = content
                padded += [UInt8](repeating: 0, count: Int((block - UInt64(content.count) % block) % block))
                try write(fd, padded, at: start)
                let lba = UInt32(start / block), blocks = UInt32((start + UInt64(padded.count)) / block)
                for offset in records {
                    try write(fd, Self.bothEndian(lba), at: offset + 2)
                    try write(fd, Self.bothEndian(UInt32(content.count)), at: offset + 10)
                }
                // The volume grew: every descriptor's volume space size says so.
                for tree in image.trees { try write(fd, Self.bothEndian(blocks), at: tree.descriptorOffset + 80) }
            case .delete(let file):
                for offset in try records(of: file, in: image) {
                    try removeRecord(fd, at: offset, image: image)
                }
            }
        }
        guard fsync(fd) == 0 else { throw .io("fsync of \(path) failed") }
    }

    /// The directory records of a file in every tree (its Joliet name may differ: looked up by path).
    func records(of file: String, in image: ISO9660Image) throws(ISO9660Error) -> [UInt64] {
        var out: [UInt64] = []
        for tree in image.trees {
            let entry = try image.entry(at: file, in: tree)
            guard !entry.isDirectory, let offset = entry.recordOffset else { throw .notADirectory("\(file) is a folder; only files can be replaced or deleted") }
            out.append(offset)
        }
        return out
    }

    /// Shifts the later records of the sector over this one and zeroes the freed tail.
    func removeRecord(_ fd: Int32, at offset: UInt64, image: ISO9660Image) throws(ISO9660Error) {
        let sector = UInt64(ISO9660Image.sector)
        let sectorStart = offset / sector * sector
        var bytes = try image.source.read(at: sectorStart, count: Int(sector))
        let at = Int(offset - sectorStart), length = Int(bytes[at])
        guard length > 0, at + length <= bytes.count else { throw .damaged("directory record at \(offset)") }
        bytes.removeSubrange(at..<(at + length))
        bytes += [UInt8](repeating: 0, count: length)
        try write(fd, bytes, at: sectorStart)
    }

    static func bothEndian(_ v: UInt32) -> [UInt8] {
        [UInt8(v & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v >> 16 & 0xFF), UInt8(v >> 24),
         UInt8(v >> 24), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)]
    }

    func write(_ fd: Int32, _ bytes: [UInt8], at offset: UInt64) throws(ISO9660Error) {
        var done = 0
        while done < bytes.count {
            let r = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress! + done, bytes.count - done, off_t(offset) + off_t(done)) }
            if r < 0, errno == EINTR { continue }
            guard r > 0 else { throw .io("writing \(path): \(String(cString: strerror(errno)))") }
            done += r
        }
    }
}
