import Foundation

/// Reads the file tree of an ISO 9660 image (ECMA-119), with the Rock Ridge (SUSP `NM`, `CE`,
/// `CL`, `RE`) and Joliet names installers carry, and its El Torito boot catalog.
///
/// Hand-written: none of the chosen dependencies reads ISO 9660 (libarchive/libisofs would be a C
/// dependency for ~400 lines), and `files` must read a kernel out of a multi-GB image without
/// mounting it (no root, no loop device) and without reading more than the directories on the
/// path. Pure: bytes come from an `ISOByteSource`; it never trusts a length it reads (every
/// directory, continuation area and catalog is bounded).
public struct ISO9660Image: Sendable {
    public enum Names: String, Sendable { case rockRidge = "rock-ridge", joliet, iso9660 }

    public let source: any ISOByteSource
    public let volumeID: String
    public let names: Names
    public let bootEntries: [ElToritoEntry]
    let blockSize: Int
    let root: ISO9660Entry
    /// Every directory tree, the one names come from first: the primary tree, and Joliet's
    /// when there is one (`ISO9660Patcher` changes a file in each).
    public let trees: [Tree]

    public struct Tree: Sendable {
        public var root: ISO9660Entry
        public var names: Names
        /// Where its volume descriptor starts in the image.
        public var descriptorOffset: UInt64
    }
    /// Bytes at the start of each System Use area to skip (SUSP `SP`), nil without SUSP.
    let suspSkip: Int?

    /// Larger directories or catalogs are refused as damaged (a real one is a few KiB).
    static let maxDirectoryBytes = 16 << 20
    static let sector = 2048

    public init(source: any ISOByteSource) throws(ISO9660Error) {
        self.source = source
        var primary: [UInt8]?, joliet: [UInt8]?, catalogLBA: UInt32?
        var primaryAt: UInt64 = 0, jolietAt: UInt64 = 0
        // Volume descriptors start at sector 16 and end with a terminator (type 255).
        for n in 16..<(16 + 64) {
            let d = try source.read(at: UInt64(n * Self.sector), count: Self.sector)
            guard d.count == Self.sector, Array(d[1...5]) == Array("CD001".utf8) else {
                if n == 16 { throw .notISO9660("no ISO 9660 volume descriptor (\"CD001\") at byte 32768: this is not an ISO image") }
                throw .damaged("volume descriptor \(n - 16) is missing its \"CD001\" mark")
            }
            switch d[0] {
            case 0 where Array(d[7..<30]) == Array("EL TORITO SPECIFICATION".utf8):
                catalogLBA = d.le32(71)
            case 1 where primary == nil:
                primary = d
                primaryAt = UInt64(n * Self.sector)
            case 2 where [[0x25, 0x2F, 0x40], [0x25, 0x2F, 0x43], [0x25, 0x2F, 0x45]].contains(Array(d[88...90])):
                joliet = d
                jolietAt = UInt64(n * Self.sector)
            case 255:
                break
            default:
                continue
            }
            if d[0] == 255 { break }
        }
        guard let primary else { throw .damaged("no primary volume descriptor") }
        let block = Int(primary.le16(128))
        guard [512, 1024, 2048].contains(block) else { throw .damaged("logical block size \(block) is not 512, 1024 or 2048") }
        blockSize = block
        volumeID = String(decoding: primary[40..<72], as: UTF8.self).trimmingCharacters(in: CharacterSet(charactersIn: " \u{0}"))
        let pvdRoot = try Self.record(Array(primary[156..<190]), blockSize: block)
        // Rock Ridge lives in the primary tree: its root's "." record starts with SUSP's `SP`.
        let rootDot = try Self.readExtent(source, pvdRoot.extent, size: min(pvdRoot.size, UInt64(Self.sector)), blockSize: block)
        var skip: Int?
        if let first = DirectoryRecord(rootDot, at: 0), let area = first.systemUse(rootDot, skip: 0),
           case let su = Array(area), su.count >= 7, su[0] == 0x53, su[1] == 0x50, su[4] == 0xBE, su[5] == 0xEF {
            skip = Int(su[6])
        }
        suspSkip = skip
        var trees = [Tree(root: pvdRoot, names: skip != nil ? .rockRidge : .iso9660, descriptorOffset: primaryAt)]
        if let joliet {
            trees.append(Tree(root: try Self.record(Array(joliet[156..<190]), blockSize: block), names: .joliet, descriptorOffset: jolietAt))
        }
        // Rock Ridge names first (they are what Linux shows), then Joliet's, then plain ones.
        if skip == nil, trees.count > 1 { trees.swapAt(0, 1) }
        self.trees = trees
        names = trees[0].names
        root = trees[0].root
        bootEntries = try catalogLBA.map { lba throws(ISO9660Error) in try ElTorito.entries(source, catalogLBA: lba, blockSize: block) } ?? []
    }

    /// The entry at `path` (`/`, `/images/pxeboot/vmlinuz`; `.` and empty segments ignored).
    public func entry(at path: String) throws(ISO9660Error) -> ISO9660Entry {
        try entry(at: path, in: trees[0])
    }

    public func entry(at path: String, in tree: Tree) throws(ISO9660Error) -> ISO9660Entry {
        var current = tree.root
        var walked = ""
        for part in path.split(separator: "/") where part != "." {
            guard part != ".." else { throw .notFound("\"..\" is not allowed in an ISO path") }
            guard current.isDirectory else { throw .notFound("\(walked) is a file, not a folder") }
            let children = try entries(of: current, names: tree.names)
            let name = String(part)
            // Plain ISO 9660 names are upper case on disc; Linux shows them lower case.
            let match = children.first { $0.name == name } ?? (tree.names != .rockRidge ? children.first { $0.name.lowercased() == name.lowercased() } : nil)
            guard let match else { throw .notFound("\(walked)/\(name) does not exist in the ISO") }
            current = match
            walked += "/" + match.name
        }
        return current
    }

    /// A folder's entries, in the order on disc (sorted by ISO name), without `.` and `..`.
    public func list(_ path: String) throws(ISO9660Error) -> [ISO9660Entry] {
        let dir = try entry(at: path)
        guard dir.isDirectory else { throw .notADirectory("\(path) is a file, not a folder") }
        return try entries(of: dir)
    }

    public func entries(of dir: ISO9660Entry) throws(ISO9660Error) -> [ISO9660Entry] {
        try entries(of: dir, names: names)
    }

    func entries(of dir: ISO9660Entry, names: Names) throws(ISO9660Error) -> [ISO9660Entry] {
        guard dir.size <= UInt64(Self.maxDirectoryBytes) else { throw .damaged("folder \(dir.name) claims \(dir.size) bytes") }
        let bytes = try Self.readExtent(source, dir.extent, size: dir.size, blockSize: blockSize)
        var out: [ISO9660Entry] = []
        var pos = 0
        while pos < bytes.count {
            guard bytes[pos] != 0 else {
                // Records never cross a sector: a zero length pads to the next one.
                pos = (pos / Self.sector + 1) * Self.sector
                continue
            }
            guard let rec = DirectoryRecord(bytes, at: pos) else { throw .damaged("a record of folder \(dir.name) runs past its end") }
            defer { pos += rec.length }
            if rec.rawName == [0] || rec.rawName == [1] { continue }
            var entry = ISO9660Entry(name: isoName(rec.rawName, names), isDirectory: rec.flags & 0x02 != 0,
                                     extent: rec.extent, size: UInt64(rec.size), blockSize: blockSize)
            entry.recordOffset = dir.byteOffset + UInt64(pos)
            if names == .rockRidge, let skip = suspSkip, let su = rec.systemUse(bytes, skip: skip) {
                let rr = try RockRidge.read(su, source: source, blockSize: blockSize)
                if rr.relocated { continue } // shown where its `CL` placeholder is
                if let n = rr.name, !n.isEmpty { entry.name = n }
                if let target = rr.childLink {
                    // A folder moved for depth: its own "." record holds its size.
                    let head = try Self.readExtent(source, target, size: UInt64(Self.sector), blockSize: blockSize)
                    guard let dot = DirectoryRecord(head, at: 0) else { throw .damaged("relocated folder \(entry.name) has no \".\" record") }
                    entry.isDirectory = true
                    entry.extent = target
                    entry.size = UInt64(dot.size)
                }
                entry.isSymlink = rr.symlink
            }
            out.append(entry)
        }
        return out
    }

    /// Up to `count` bytes of a file from `offset` into it.
    public func read(_ file: ISO9660Entry, offset: UInt64, count: Int) throws(ISO9660Error) -> [UInt8] {
        guard offset < file.size else { return [] }
        let n = Int(min(UInt64(count), file.size - offset))
        return try source.read(at: file.byteOffset + offset, count: n)
    }

    func isoName(_ raw: [UInt8], _ names: Names) -> String {
        var name: String
        if names == .joliet {
            var units: [UInt16] = []
            var i = 0
            while i + 1 < raw.count { units.append(UInt16(raw[i]) << 8 | UInt16(raw[i + 1])); i += 2 }
            name = String(decoding: units, as: UTF16.self)
        } else {
            name = String(decoding: raw, as: UTF8.self)
        }
        if let semi = name.lastIndex(of: ";") { name = String(name[..<semi]) }
        if name.hasSuffix("."), name.count > 1 { name.removeLast() }
        return name
    }

    static func record(_ bytes: [UInt8], blockSize: Int) throws(ISO9660Error) -> ISO9660Entry {
        guard let r = DirectoryRecord(bytes, at: 0) else { throw .damaged("the root directory record is damaged") }
        return ISO9660Entry(name: "/", isDirectory: true, extent: r.extent, size: UInt64(r.size), blockSize: blockSize)
    }

    static func readExtent(_ source: any ISOByteSource, _ lba: UInt32, size: UInt64, blockSize: Int) throws(ISO9660Error) -> [UInt8] {
        let bytes = try source.read(at: UInt64(lba) * UInt64(blockSize), count: Int(size))
        guard bytes.count == Int(size) else { throw .damaged("extent at block \(lba) runs past the end of the image") }
        return bytes
    }
}

/// A file or folder in the image.
public struct ISO9660Entry: Sendable, Equatable {
    public var name: String
    public var isDirectory: Bool
    public var isSymlink = false
    public var extent: UInt32
    public var size: UInt64
    /// Where its directory record is in the image (nil for a root).
    public var recordOffset: UInt64?
    let blockSize: Int

    init(name: String, isDirectory: Bool, extent: UInt32, size: UInt64, blockSize: Int) {
        self.name = name
        self.isDirectory = isDirectory
        self.extent = extent
        self.size = size
        self.blockSize = blockSize
    }

    /// Where its bytes start in the image.
    public var byteOffset: UInt64 { UInt64(extent) * UInt64(blockSize) }
}

public enum ISO9660Error: Error, Sendable, Equatable {
    case notISO9660(String)
    case damaged(String)
    case notFound(String)
    case notADirectory(String)
    case io(String)

    public var message: String {
        switch self {
        case .notISO9660(let m), .notFound(let m), .notADirectory(let m), .io(let m): m
        case .damaged(let m): "the ISO image is damaged: \(m)"
        }
    }
}

/// One directory record (ECMA-119 9.1), read in place.
struct DirectoryRecord {
    var length: Int
    var extent: UInt32
    var size: UInt32
    var flags: UInt8
    var rawName: [UInt8]
    var nameEnd: Int

    init?(_ b: [UInt8], at p: Int) {
        guard p + 33 < b.count else { return nil }
        length = Int(b[p])
        let nameLength = Int(b[p + 32])
        guard length >= 34, p + length <= b.count, 33 + nameLength <= length else { return nil }
        extent = b.le32(p + 2)
        size = b.le32(p + 10)
        flags = b[p + 25]
        rawName = Array(b[(p + 33)..<(p + 33 + nameLength)])
        // A padding byte keeps the System Use area at an even offset.
        nameEnd = p + 33 + nameLength + (nameLength % 2 == 0 ? 1 : 0)
        self.start = p
    }
    private var start: Int

    func systemUse(_ b: [UInt8], skip: Int) -> ArraySlice<UInt8>? {
        let from = nameEnd + skip, to = start + length
        return from < to ? b[from..<to] : nil
    }
}

/// The Rock Ridge entries bootgate uses, from one record's System Use area and its
/// continuation areas.
enum RockRidge {
    struct Found {
        var name: String?
        var childLink: UInt32?
        var relocated = false
        var symlink = false
    }

    static let maxContinuations = 32

    static func read(_ area: ArraySlice<UInt8>, source: any ISOByteSource, blockSize: Int) throws(ISO9660Error) -> Found {
        var found = Found()
        var nameBytes: [UInt8]?
        var pending = Array(area)
        var hops = 0
        while !pending.isEmpty {
            let su = pending
            pending = []
            var p = 0
            while p + 4 <= su.count {
                let sig = (su[p], su[p + 1]), len = Int(su[p + 2])
                guard len >= 4, p + len <= su.count else { break }
                switch sig {
                case (0x4E, 0x4D): // NM: flags, then name bytes; CONTINUE (bit 0) joins parts
                    if len > 5, su[p + 4] & 0x06 == 0 { nameBytes = (nameBytes ?? []) + su[(p + 5)..<(p + len)] }
                case (0x43, 0x45) where len >= 28: // CE: block, offset, length of the next area
                    hops += 1
                    guard hops <= maxContinuations else { throw .damaged("Rock Ridge continuation chain longer than \(maxContinuations)") }
                    let block = su.le32(p + 4), offset = su.le32(p + 12), length = su.le32(p + 20)
                    guard length <= UInt32(ISO9660Image.sector) else { throw .damaged("Rock Ridge continuation area of \(length) bytes") }
                    pending = try source.read(at: UInt64(block) * UInt64(blockSize) + UInt64(offset), count: Int(length))
                case (0x43, 0x4C) where len >= 12: // CL: this placeholder is a folder moved to that block
                    found.childLink = su.le32(p + 4)
                case (0x52, 0x45): // RE: the moved folder itself
                    found.relocated = true
                case (0x53, 0x4C):
                    found.symlink = true
                case (0x53, 0x54): // ST: end of the area
                    p = su.count
                    continue
                default:
                    break
                }
                p += len
            }
        }
        found.name = nameBytes.map { String(decoding: $0, as: UTF8.self) }
        return found
    }
}

extension Collection where Element == UInt8, Index == Int {
    func le16(_ at: Int) -> UInt16 { UInt16(self[at]) | UInt16(self[at + 1]) << 8 }
    func le32(_ at: Int) -> UInt32 {
        UInt32(self[at]) | UInt32(self[at + 1]) << 8 | UInt32(self[at + 2]) << 16 | UInt32(self[at + 3]) << 24
    }
}
