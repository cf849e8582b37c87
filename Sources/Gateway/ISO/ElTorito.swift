/// One boot entry of an El Torito catalog: which firmware can start the ISO.
public struct ElToritoEntry: Sendable, Equatable {
    /// `bios` (platform 0, x86), `efi` (0xEF), `ppc`, `mac`, or `0xNN`.
    public var platform: String
    /// `none`, `floppy-1.2`, `floppy-1.44`, `floppy-2.88` or `hdd`.
    public var emulation: String
    public var bootable: Bool
    /// Where the boot image starts (block) and how many 512-byte sectors the firmware loads.
    public var loadBlock: UInt32
    public var sectorCount: UInt16

    public var json: JSONValue {
        .object(JSONObject([("platform", .string(platform)), ("emulation", .string(emulation)), ("bootable", .bool(bootable))]))
    }
}

/// The boot catalog (El Torito 1.0, section 2): a validation entry, the default entry, then
/// sections (one per further platform, UEFI's among them) of further entries.
enum ElTorito {
    static func platformName(_ id: UInt8) -> String {
        switch id {
        case 0x00: "bios"
        case 0xEF: "efi"
        case 0x01: "ppc"
        case 0x02: "mac"
        default: "0x" + String(id, radix: 16)
        }
    }

    static func emulation(_ media: UInt8) -> String {
        switch media & 0x0F {
        case 0: "none"
        case 1: "floppy-1.2"
        case 2: "floppy-1.44"
        case 3: "floppy-2.88"
        case 4: "hdd"
        default: "0x" + String(media & 0x0F, radix: 16)
        }
    }

    static func entries(_ source: any ISOByteSource, catalogLBA: UInt32, blockSize: Int) throws(ISO9660Error) -> [ElToritoEntry] {
        // One sector holds 64 entries; real catalogs use a handful.
        let cat = try source.read(at: UInt64(catalogLBA) * UInt64(blockSize), count: ISO9660Image.sector)
        guard cat.count == ISO9660Image.sector, cat[0] == 0x01, cat[0x1E] == 0x55, cat[0x1F] == 0xAA else {
            throw .damaged("the El Torito boot catalog at block \(catalogLBA) has no valid validation entry")
        }
        var sum: UInt16 = 0
        for i in stride(from: 0, to: 32, by: 2) { sum &+= cat.le16(i) }
        guard sum == 0 else { throw .damaged("the El Torito validation entry's checksum is wrong") }
        func entry(_ p: Int, platform: UInt8) -> ElToritoEntry {
            ElToritoEntry(platform: platformName(platform), emulation: emulation(cat[p + 1]), bootable: cat[p] == 0x88,
                          loadBlock: cat.le32(p + 8), sectorCount: cat.le16(p + 6))
        }
        var out = [entry(32, platform: cat[1])]
        var p = 64
        // Section headers: 0x90 (more follow) or 0x91 (the last).
        while p + 32 <= cat.count, cat[p] == 0x90 || cat[p] == 0x91 {
            let last = cat[p] == 0x91, platform = cat[p + 1], count = Int(cat.le16(p + 2))
            p += 32
            var seen = 0
            while seen < count, p + 32 <= cat.count {
                if cat[p] == 0x44 { p += 32; continue } // extension entry of the one before
                out.append(entry(p, platform: platform))
                seen += 1
                p += 32
            }
            if last { break }
        }
        return out
    }
}

/// Where an image's bytes come from: a file on disk, or memory in tests.
public protocol ISOByteSource: Sendable {
    /// Up to `count` bytes from `offset`; fewer only at the end of the image.
    func read(at offset: UInt64, count: Int) throws(ISO9660Error) -> [UInt8]
}

/// An image in memory.
public struct ISOBytes: ISOByteSource {
    public let bytes: [UInt8]
    public init(_ bytes: [UInt8]) { self.bytes = bytes }
    public func read(at offset: UInt64, count: Int) throws(ISO9660Error) -> [UInt8] {
        guard offset < UInt64(bytes.count) else { return [] }
        let start = Int(offset)
        return Array(bytes[start..<min(bytes.count, start + count)])
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An image file read with `pread`: positioned reads share one descriptor across requests.
public final class ISOFile: ISOByteSource, @unchecked Sendable {
    let fd: Int32
    public let path: String
    public let size: UInt64

    public init(path: String) throws(ISO9660Error) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .io("cannot open \(path): \(String(cString: strerror(errno)))") }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            close(fd)
            throw .io("cannot stat \(path)")
        }
        self.fd = fd
        self.path = path
        self.size = UInt64(st.st_size)
    }

    deinit { close(fd) }

    public func read(at offset: UInt64, count: Int) throws(ISO9660Error) -> [UInt8] {
        guard count > 0, offset < size else { return [] }
        let n = Int(min(UInt64(count), size - offset))
        var out = [UInt8](repeating: 0, count: n)
        var done = 0
        while done < n {
            let r = out.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + done, n - done, off_t(offset) + off_t(done)) }
            if r < 0, errno == EINTR { continue }
            guard r > 0 else {
                if r == 0 { break }
                throw .io("reading \(path): \(String(cString: strerror(errno)))")
            }
            done += r
        }
        return done == n ? out : Array(out[..<done])
    }
}
