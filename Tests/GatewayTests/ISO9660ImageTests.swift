import Foundation
import Testing
@testable import Gateway

/// `ISO9660Image` on images xorriso builds (the tool Debian and Fedora build installer ISOs
/// with): Rock Ridge, Joliet and plain ISO 9660 names, folders deeper than ISO 9660's eight
/// levels (Rock Ridge relocates them), El Torito BIOS and EFI entries, and damaged images.
@Suite(.serialized) struct ISO9660ImageTests {
    /// A source tree with names plain ISO 9660 cannot hold, a deep folder and boot images.
    static let tree: URL = {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("bootgate-iso-\(getpid())-\(UUID().uuidString.prefix(6))")
        func put(_ path: String, _ bytes: [UInt8]) {
            let url = root.appendingPathComponent(path)
            try! FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try! Data(bytes).write(to: url)
        }
        put("src/images/pxeboot/vmlinuz", Array("kernel-bytes\n".utf8))
        put("src/images/pxeboot/initrd.img", (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 8) })
        put("src/isolinux/isolinux.bin", [UInt8](repeating: 0xFA, count: 2048))
        put("src/EFI/BOOT/efiboot.img", [UInt8](repeating: 0, count: 1_474_560))
        put("src/A Long Mixed-Case Name.txt", Array("long\n".utf8))
        put("src/" + (1...10).map { "level\($0)" }.joined(separator: "/") + "/bottom.txt", Array("deep\n".utf8))
        return root
    }()

    static func build(_ name: String, _ options: [String], xorriso pre: [String] = []) throws -> String {
        let out = tree.appendingPathComponent(name).path
        if FileManager.default.fileExists(atPath: out) { return out }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["xorriso"] + pre + ["-as", "mkisofs", "-quiet", "-o", out] + options + [tree.appendingPathComponent("src").path]
        p.standardError = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw CocoaError(.fileWriteUnknown, userInfo: [NSLocalizedDescriptionKey: "xorriso failed (apt-get install xorriso)"]) }
        return out
    }

    static let bootOptions = ["-b", "isolinux/isolinux.bin", "-no-emul-boot", "-boot-load-size", "4",
                              "-eltorito-alt-boot", "-e", "EFI/BOOT/efiboot.img", "-no-emul-boot"]

    func image(_ name: String, _ options: [String], xorriso pre: [String] = []) throws -> ISO9660Image {
        try ISO9660Image(source: ISOFile(path: try Self.build(name, options, xorriso: pre)))
    }

    @Test func rockRidgeNamesDeepFoldersAndBothBootEntries() throws {
        let iso = try image("rr.iso", ["-R", "-J", "-V", "RRVOL"] + Self.bootOptions)
        #expect(iso.names == .rockRidge)
        #expect(iso.volumeID == "RRVOL")
        #expect(try iso.list("/").map(\.name).contains("A Long Mixed-Case Name.txt"))
        let kernel = try iso.entry(at: "/images/pxeboot/vmlinuz")
        #expect(!kernel.isDirectory && kernel.size == 13)
        #expect(try iso.read(kernel, offset: 0, count: 100) == Array("kernel-bytes\n".utf8))
        let initrd = try iso.entry(at: "images/pxeboot/initrd.img")
        let whole = try Data(contentsOf: Self.tree.appendingPathComponent("src/images/pxeboot/initrd.img"))
        #expect(try iso.read(initrd, offset: 0, count: Int(initrd.size)) == Array(whole))
        #expect(try iso.read(initrd, offset: 299_990, count: 100) == Array(whole.suffix(10)))
        let deep = "/" + (1...10).map { "level\($0)" }.joined(separator: "/")
        #expect(try iso.read(try iso.entry(at: deep + "/bottom.txt"), offset: 0, count: 10) == Array("deep\n".utf8))
        #expect(iso.bootEntries.map(\.platform) == ["bios", "efi"])
        #expect(iso.bootEntries.allSatisfy { $0.bootable && $0.emulation == "none" })
    }

    /// Ten levels, past ISO 9660's eight: with strict compliance (as genisoimage does by default)
    /// the deepest folders move to `rr_moved`, leaving a `CL` placeholder where they belong.
    @Test func relocatedDeepFoldersShowWhereTheyBelong() throws {
        let iso = try image("deep.iso", ["-R", "-rr_reloc_dir", "rr_moved"], xorriso: ["-compliance", "deep_paths_off"])
        #expect(iso.names == .rockRidge)
        let deep = "/" + (1...10).map { "level\($0)" }.joined(separator: "/")
        #expect(try iso.list(deep).map(\.name) == ["bottom.txt"])
        #expect(try iso.read(try iso.entry(at: deep + "/bottom.txt"), offset: 0, count: 10) == Array("deep\n".utf8))
        #expect(try iso.list("/level1/level2/level3/level4/level5/level6/level7").map(\.name) == ["level8"])
        #expect(try iso.entry(at: "/level1/level2/level3/level4/level5/level6/level7/level8").isDirectory)
        // The moved folder itself (`RE`) is not listed a second time, wherever it lies.
        var all: [String] = [], pending = ["/"]
        while let dir = pending.popLast() {
            for e in try iso.list(dir) {
                all.append(e.name)
                if e.isDirectory { pending.append((dir == "/" ? "" : dir) + "/" + e.name) }
            }
        }
        #expect(all.filter { $0 == "level8" }.count == 1)
    }

    @Test func jolietNamesWithoutRockRidge() throws {
        let iso = try image("joliet.iso", ["--norock", "-J", "-V", "JVOL"])
        #expect(iso.names == .joliet)
        #expect(try iso.list("/").map(\.name).contains("A Long Mixed-Case Name.txt"))
        #expect(try iso.read(try iso.entry(at: "/images/pxeboot/vmlinuz"), offset: 0, count: 6) == Array("kernel".utf8))
        #expect(iso.bootEntries.isEmpty)
    }

    @Test func plainNamesMatchWhateverTheCase() throws {
        let iso = try image("plain.iso", ["--norock", "-V", "PVOL", "-b", "isolinux/isolinux.bin", "-no-emul-boot"])
        #expect(iso.names == .iso9660)
        let names = try iso.list("/").map(\.name)
        #expect(names.contains("IMAGES") && !names.contains { $0.hasSuffix(";1") })
        #expect(try iso.entry(at: "/images/pxeboot/vmlinuz").size == 13)
        #expect(iso.bootEntries.map(\.platform) == ["bios"])
    }

    @Test func errorsSayWhat() throws {
        let iso = try image("rr.iso", ["-R", "-J", "-V", "RRVOL"] + Self.bootOptions)
        #expect(throws: ISO9660Error.notFound("/images/nothing does not exist in the ISO")) { try iso.entry(at: "/images/nothing") }
        #expect(throws: ISO9660Error.notFound("/images/pxeboot/vmlinuz is a file, not a folder")) { try iso.entry(at: "/images/pxeboot/vmlinuz/x") }
        #expect(throws: ISO9660Error.notADirectory("/isolinux/isolinux.bin is a file, not a folder")) { try iso.list("/isolinux/isolinux.bin") }
        do {
            _ = try ISO9660Image(source: ISOBytes([UInt8](repeating: 0, count: 40_000)))
            Issue.record("zeros were read as an ISO")
        } catch {
            #expect(error.message.contains("not an ISO image"))
        }
    }

    /// Random damage to the descriptors, directories and catalog: an error or a result, never a
    /// crash or a hang (an upload is checked with this parser).
    @Test func damagedImagesNeverCrash() throws {
        let good = Array(try Data(contentsOf: URL(fileURLWithPath: try Self.build("rr.iso", ["-R", "-J", "-V", "RRVOL"] + Self.bootOptions))))
        // Metadata lives in the first few dozen sectors; file data after it is not parsed.
        let metadata = 16 * 2048..<min(good.count, 64 * 2048)
        var rng = SystemRandomNumberGenerator()
        var readable = 0
        for round in 0..<400 {
            var bytes = good
            for _ in 0..<(1 + round % 16) { bytes[Int.random(in: metadata, using: &rng)] = UInt8.random(in: 0...255, using: &rng) }
            guard let iso = try? ISO9660Image(source: ISOBytes(bytes)) else { continue }
            readable += 1
            var pending = ["/"], visited = 0
            while let dir = pending.popLast(), visited < 200 {
                visited += 1
                guard let entries = try? iso.list(dir) else { continue }
                for e in entries.prefix(50) where e.isDirectory { pending.append((dir == "/" ? "" : dir) + "/" + e.name) }
                for e in entries.prefix(50) where !e.isDirectory { _ = try? iso.read(e, offset: 0, count: 64) }
            }
        }
        #expect(readable > 0)
    }
}
