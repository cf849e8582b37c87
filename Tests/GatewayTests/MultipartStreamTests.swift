import Testing
@testable import Gateway

/// The upload's multipart reader gives the same field bytes however the body is cut into
/// chunks (the network decides that), and says why a body is refused.
@Suite struct MultipartStreamTests {
    static let boundary = "------------------------a1b2c3d4e5"

    static func body(_ parts: [(name: String, data: [UInt8])], close: Bool = true) -> [UInt8] {
        var out: [UInt8] = Array("preamble to ignore\r\n".utf8)
        for p in parts {
            out += Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(p.name)\"; filename=\"x.iso\"\r\nContent-Type: application/octet-stream\r\n\r\n".utf8)
            out += p.data + Array("\r\n".utf8)
        }
        if close { out += Array("--\(boundary)--\r\nepilogue".utf8) }
        return out
    }

    /// The wanted field's bytes, feeding `body` in pieces of `size` (0: whole).
    static func run(_ body: [UInt8], pieces size: Int) throws -> (data: [UInt8], ended: Bool, parser: MultipartStream) {
        var p = MultipartStream(boundary: boundary, field: "iso")
        var data: [UInt8] = [], ended = false
        var i = 0
        let step = size == 0 ? body.count : size
        while i < body.count {
            for e in try p.feed(body[i..<min(body.count, i + step)]) {
                switch e {
                case .data(let d): data += d
                case .fieldEnd: ended = true
                }
            }
            i += step
        }
        return (data, ended, p)
    }

    @Test func anySplitGivesTheSameBytes() throws {
        // Data that looks like a boundary's start, CRLFs and dashes at the edges.
        let payload: [UInt8] = Array("\r\n--\r\n-----------a1b2\r\n--\(Self.boundary.dropLast())".utf8) + (0..<3000).map { UInt8(truncatingIfNeeded: $0 * 7) } + [0x0D, 0x0A, 0x2D]
        let body = Self.body([("other", Array("x".utf8)), ("iso", payload), ("after", Array("y".utf8))])
        for size in [0, 1, 2, 3, 5, 7, 13, 64, 100, 1000] {
            let r = try Self.run(body, pieces: size)
            #expect(r.data == payload, "pieces of \(size)")
            #expect(r.ended && r.parser.finished && r.parser.sawField)
            #expect(r.parser.fieldsSeen == ["other", "iso", "after"])
            try r.parser.finish()
        }
    }

    @Test func aMissingFieldOrACutBodyIsNamed() throws {
        let other = try Self.run(Self.body([("file", [1, 2, 3])]), pieces: 4)
        #expect(!other.parser.sawField && other.parser.fieldsSeen == ["file"])
        let cut = try Self.run(Self.body([("iso", [UInt8](repeating: 9, count: 500))], close: false), pieces: 50)
        #expect(throws: MultipartStream.Failure.malformed("the multipart body ended before its closing boundary (the upload was cut off)")) { try cut.parser.finish() }
    }

    @Test func theBoundaryComesFromTheContentType() {
        #expect(MultipartStream.boundary(of: "multipart/form-data; boundary=abc") == "abc")
        #expect(MultipartStream.boundary(of: "Multipart/Form-Data; charset=x; boundary=\"a b\"") == "a b")
        #expect(MultipartStream.boundary(of: "multipart/form-data") == nil)
        #expect(MultipartStream.boundary(of: "application/octet-stream") == nil)
    }

    @Test func endlessHeadersAreRefused() throws {
        var p = MultipartStream(boundary: Self.boundary, field: "iso")
        _ = try p.feed(Array("--\(Self.boundary)\r\n".utf8))
        #expect(throws: MultipartStream.Failure.self) {
            for _ in 0..<20 { _ = try p.feed([UInt8](repeating: 0x41, count: 1024)) }
        }
    }
}
