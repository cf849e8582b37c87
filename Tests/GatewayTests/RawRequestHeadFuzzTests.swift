import Foundation
import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing
@testable import Gateway

/// The boot lane reads request heads itself (`RawRequestHead`), so it is fuzzed against the
/// decoder it stands in for: for every mutated request, what the lane takes as a complete head
/// NIO's `HTTPRequestDecoder` must read the same way (a GET of the same target with the same
/// headers, the same length, no body); what it calls incomplete NIO must not have read whole;
/// anything else it passes on untouched. Deterministic (seeded): 30,000 inputs per run (it shares the CPU with timing-sensitive suites), or
/// `BOOTGATE_FUZZ_INPUTS` (a million took 70 s in a debug build, no disagreement).
@Suite struct RawRequestHeadFuzzTests {
    static let seeds = [
        "GET /ipxe?mac=52:54:00:00:00:01 HTTP/1.1\r\nHost: 10.0.0.1:8082\r\nUser-Agent: iPXE/1.21.1\r\nConnection: keep-alive\r\n\r\n",
        "GET /api/v1/bootconfig HTTP/1.1\r\nHost: x\r\nAccept: application/vnd.coreos.ignition+json;version=3.4.0, */*;q=0.1\r\n\r\n",
        "GET /boot.ipxe HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 10.0.0.1, 10.0.0.2\r\n\r\n",
        "POST /api/v1/boot-complete HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}",
        "GET /ipxe?mac=a HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nTransfer-Encoding: chunked\r\n\r\n",
    ]
    /// Bytes the mutations favour: the ones HTTP framing is made of.
    static let interesting: [UInt8] = Array("\r\n :\t\0/?%GETPOSHT1.0-\u{7F}".utf8) + [0x80, 0xFF, 0xE9]

    struct SplitMix: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    static func mutate(_ input: [UInt8], _ rng: inout SplitMix) -> [UInt8] {
        var bytes = input
        for _ in 0..<Int.random(in: 1...4, using: &rng) {
            let at = bytes.isEmpty ? 0 : Int.random(in: 0..<bytes.count, using: &rng)
            switch Int.random(in: 0..<6, using: &rng) {
            case 0 where !bytes.isEmpty: bytes[at] = interesting.randomElement(using: &rng)!
            case 1: bytes.insert(interesting.randomElement(using: &rng)!, at: at)
            case 2 where !bytes.isEmpty: bytes.remove(at: at)
            case 3 where !bytes.isEmpty: bytes[at] = UInt8.random(in: 0...255, using: &rng)
            case 4: bytes.insert(contentsOf: Array("X-H: v\r\n".utf8), at: at)
            default: bytes = Array(bytes.prefix(at))
            }
        }
        return bytes
    }

    /// NIO's reading of `bytes`: the first request's head and whether its end came right after
    /// it, or nil when it read no head; `failed` when it refused the bytes.
    static func nio(_ bytes: [UInt8]) -> (head: HTTPRequestHead?, ended: Bool, failed: Bool) {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(HTTPRequestDecoder(leftOverBytesStrategy: .forwardBytes)))
        defer { _ = try? channel.finish() }
        var failed = false
        do { try channel.writeInbound(ByteBuffer(bytes: bytes)) } catch { failed = true }
        var head: HTTPRequestHead?
        var ended = false
        var sawBody = false
        while let part = try? channel.readInbound(as: HTTPServerRequestPart.self) {
            switch part {
            case .head(let h) where head == nil: head = h
            case .body: sawBody = true
            case .end where head != nil && !ended: ended = !sawBody
            default: break
            }
        }
        return (head, ended, failed)
    }

    @Test func agreesWithNIOsDecoder() {
        var rng = SplitMix(state: 15)
        var counts = (complete: 0, incomplete: 0, unsupported: 0)
        let inputs = Int(ProcessInfo.processInfo.environment["BOOTGATE_FUZZ_INPUTS"] ?? "") ?? 30_000
        for i in 0..<inputs {
            let input = Self.mutate(Array(Self.seeds[i % Self.seeds.count].utf8), &rng)
            switch RawRequestHead.parse(ByteBuffer(bytes: input).readableBytesView) {
            case .complete(let head, let length):
                counts.complete += 1
                let first = Array(input[..<length])
                let nio = Self.nio(first)
                guard let h = nio.head, !nio.failed else {
                    Issue.record("lane read a head NIO refused: \(String(decoding: first, as: UTF8.self).debugDescription)")
                    return
                }
                #expect(h.method == .GET && h.version == .http1_1 && h.uri == head.target, "\(first)")
                #expect(nio.ended, "NIO sees a body the lane does not: \(String(decoding: first, as: UTF8.self).debugDescription)")
                let nioHeaders = h.headers.map { ($0.name.lowercased(), $0.value.trimmingCharacters(in: .whitespaces)) }
                #expect(nioHeaders.map(\.0) == head.headers.map(\.name) && nioHeaders.map(\.1) == head.headers.map(\.value),
                        "headers differ for \(String(decoding: first, as: UTF8.self).debugDescription)")
                // The same boundary: one byte less is not a whole head for NIO either.
                #expect(Self.nio(Array(first.dropLast())).head == nil || length == 0)
            case .incomplete:
                counts.incomplete += 1
                let nio = Self.nio(input)
                #expect(nio.head == nil || nio.failed, "lane waits on a head NIO has read: \(String(decoding: input, as: UTF8.self).debugDescription)")
            case .unsupported:
                counts.unsupported += 1
            }
        }
        // The mutations reach every outcome often enough to mean something.
        #expect(counts.complete > inputs / 20 && counts.incomplete > inputs / 20 && counts.unsupported > inputs / 20, "\(counts)")
        print("RawRequestHead fuzz: \(inputs) inputs, \(counts)")
    }
}
