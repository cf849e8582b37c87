/// Reads a `multipart/form-data` body as it arrives and hands on the bytes of one field
/// (`iso`, as `curl -F iso=@file` sends it) without holding the body: memory stays at the
/// chunk being read plus one boundary's length.
///
/// Hand-written: none of the chosen dependencies parses multipart, and the ones that do
/// (multipart-kit) would be a dependency for ~150 lines. `MultipartStreamTests` feeds each test
/// body split at every byte and compares with the whole-body result.
struct MultipartStream {
    enum Event: Equatable {
        /// Bytes of the wanted field.
        case data([UInt8])
        /// The wanted field is complete.
        case fieldEnd
    }

    enum Failure: Error, Equatable {
        case malformed(String)
    }

    private enum State { case preamble, afterDelimiter, headers, body(wanted: Bool), done }

    let field: String
    /// `\r\n--boundary`: the delimiter before every part but the first.
    private let delimiter: [UInt8]
    private var state = State.preamble
    private var buffer: [UInt8] = []
    /// Names of the parts seen, for the error when the wanted one is missing.
    private(set) var fieldsSeen: [String] = []
    private(set) var sawField = false
    var finished: Bool { if case .done = state { true } else { false } }
    static let maxHeaderBytes = 16 * 1024

    init(boundary: String, field: String) {
        self.field = field
        // The first delimiter may come without its CRLF: the buffer starts with one.
        delimiter = Array("\r\n--\(boundary)".utf8)
        buffer = [0x0D, 0x0A]
    }

    /// The boundary of a `multipart/form-data` Content-Type, or nil for any other type.
    static func boundary(of contentType: String) -> String? {
        let parts = contentType.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
        guard parts.first?.lowercased() == "multipart/form-data" else { return nil }
        for p in parts.dropFirst() where p.lowercased().hasPrefix("boundary=") {
            var b = String(p.dropFirst("boundary=".count))
            if b.hasPrefix("\""), b.hasSuffix("\""), b.count >= 2 { b = String(b.dropFirst().dropLast()) }
            return b.isEmpty || b.utf8.count > 70 ? nil : b
        }
        return nil
    }

    /// Feeds the next bytes; returns what they complete.
    mutating func feed(_ chunk: some Collection<UInt8>) throws(Failure) -> [Event] {
        buffer.append(contentsOf: chunk)
        var events: [Event] = []
        while true {
            switch state {
            case .done:
                buffer.removeAll() // the epilogue is ignored
                return events
            case .preamble:
                guard let at = find(delimiter, in: buffer) else {
                    // Keep only what could still be the start of a delimiter.
                    if buffer.count > delimiter.count { buffer.removeFirst(buffer.count - delimiter.count) }
                    return events
                }
                buffer.removeFirst(at + delimiter.count)
                state = .afterDelimiter
            case .afterDelimiter:
                // `--` ends the body, CRLF starts a part; transport padding may come first.
                var i = 0
                while i < buffer.count, buffer[i] == 0x20 || buffer[i] == 0x09 { i += 1 }
                guard buffer.count >= i + 2 else { return events }
                if buffer[i] == 0x2D, buffer[i + 1] == 0x2D {
                    state = .done
                    continue
                }
                guard buffer[i] == 0x0D, buffer[i + 1] == 0x0A else { throw .malformed("a multipart boundary is not followed by CRLF or \"--\"") }
                buffer.removeFirst(i + 2)
                state = .headers
            case .headers:
                guard let end = find(Array("\r\n\r\n".utf8), in: buffer) else {
                    if buffer.count > Self.maxHeaderBytes { throw .malformed("a part's headers are longer than \(Self.maxHeaderBytes) bytes") }
                    return events
                }
                let head = String(decoding: buffer[..<end], as: UTF8.self)
                buffer.removeFirst(end + 4)
                let name = Self.fieldName(head) ?? ""
                fieldsSeen.append(name)
                let wanted = name == field && !sawField
                if wanted { sawField = true }
                state = .body(wanted: wanted)
            case .body(let wanted):
                if let at = find(delimiter, in: buffer) {
                    if wanted, at > 0 { events.append(.data(Array(buffer[..<at]))) }
                    if wanted { events.append(.fieldEnd) }
                    buffer.removeFirst(at + delimiter.count)
                    state = .afterDelimiter
                } else {
                    // Everything but a possible partial delimiter at the end is field data.
                    let safe = buffer.count - (delimiter.count - 1)
                    if safe > 0 {
                        if wanted { events.append(.data(Array(buffer[..<safe]))) }
                        buffer.removeFirst(safe)
                    }
                    return events
                }
            }
        }
    }

    /// The body ended: a multipart body that stops before its closing boundary was cut off.
    func finish() throws(Failure) {
        guard finished else { throw .malformed("the multipart body ended before its closing boundary (the upload was cut off)") }
    }

    /// `name` of a part's `Content-Disposition: form-data; name="…"`.
    static func fieldName(_ head: String) -> String? {
        for line in head.split(separator: "\r\n") {
            let pair = line.split(separator: ":", maxSplits: 1)
            guard pair.count == 2, pair[0].trimmingCharacters(in: .whitespaces).lowercased() == "content-disposition" else { continue }
            for param in pair[1].split(separator: ";").map({ $0.trimmingCharacters(in: .whitespaces) }) where param.lowercased().hasPrefix("name=") {
                var v = String(param.dropFirst(5))
                if v.hasPrefix("\""), v.hasSuffix("\""), v.count >= 2 { v = String(v.dropFirst().dropLast()) }
                return v
            }
        }
        return nil
    }

    /// First index of `needle` in `hay` (needles are short: a boundary line).
    func find(_ needle: [UInt8], in hay: [UInt8]) -> Int? {
        guard hay.count >= needle.count, let first = needle.first else { return nil }
        var i = 0
        let last = hay.count - needle.count
        return hay.withUnsafeBufferPointer { h -> Int? in
            while i <= last {
                guard let j = h[i...last].firstIndex(of: first) else { return nil }
                var k = 1
                while k < needle.count, h[j + k] == needle[k] { k += 1 }
                if k == needle.count { return j }
                i = j + 1
            }
            return nil
        }
    }
}
