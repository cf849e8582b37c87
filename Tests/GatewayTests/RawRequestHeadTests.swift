import NIOCore
import Testing
@testable import Gateway

/// The inline lane reads request heads itself; everything it cannot read exactly must be
/// `.unsupported` (left to NIO's decoder), and a head cut anywhere must be `.incomplete`.
@Suite struct RawRequestHeadTests {
    static func parse(_ text: String) -> RawRequestHead.Parsed {
        RawRequestHead.parse(ByteBuffer(string: text).readableBytesView)
    }

    @Test func readsTargetAndHeaders() throws {
        let text = "GET /ipxe?mac=52:54:00:00:00:01 HTTP/1.1\r\nHost: x\r\nX-Forwarded-For:  10.0.0.1 \t\r\nConnection: Keep-Alive\r\n\r\nGET /next"
        guard case .complete(let head, let length) = Self.parse(text) else { Issue.record("not complete"); return }
        #expect(head.target == "/ipxe?mac=52:54:00:00:00:01")
        #expect(head.headers.map(\.name) == ["host", "x-forwarded-for", "connection"])
        #expect(head.headers[1].value == "10.0.0.1")
        #expect(length == text.utf8.count - "GET /next".utf8.count)
    }

    @Test func everyPrefixIsIncomplete() {
        let text = "GET /api/v1/bootconfig HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: application/vnd.coreos.ignition+json;version=3.4.0\r\n\r\n"
        for n in 0..<text.utf8.count {
            let prefix = String(decoding: Array(text.utf8)[..<n], as: UTF8.self)
            guard case .incomplete = Self.parse(prefix) else {
                Issue.record("prefix of \(n) bytes is not incomplete")
                continue
            }
        }
        guard case .complete = Self.parse(text) else { Issue.record("whole head not complete"); return }
    }

    @Test(arguments: [
        "POST /ipxe HTTP/1.1\r\n\r\n",                                  // another method
        "GET /ipxe HTTP/1.0\r\n\r\n",                                   // HTTP/1.0: no keep-alive by default
        "GET http://x/ipxe HTTP/1.1\r\n\r\n",                           // absolute form
        "GET /ipxe HTTP/1.1\r\nContent-Length: 0\r\n\r\n",              // a body, however short
        "GET /ipxe HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
        "GET /ipxe HTTP/1.1\r\nConnection: close\r\n\r\n",
        "GET /ipxe HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
        "GET /ipxe HTTP/1.1\r\nExpect: 100-continue\r\n\r\n",
        "GET /ipxe HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n",             // obs-fold
        "GET /ipxe HTTP/1.1\r\nBad Header: x\r\n\r\n",                  // space in a name
        "GET /ipxe HTTP/1.1\r\n: empty name\r\n\r\n",
        "GET /ipxe HTTP/1.1\r\nX: a\u{7F}b\r\n\r\n",                    // control byte in a value
        "GET /ipxe HTTP/1.1\r\nX: caf\u{E9}\r\n\r\n",                   // obs-text: NIO's to judge
        "GET /ipxe HTTP/1.1\nHost: x\n\n",                              // bare LF
        "GET /ip\u{0}xe HTTP/1.1\r\n\r\n",
    ])
    func leavesAnythingUnusualToTheDecoder(_ text: String) {
        guard case .unsupported = Self.parse(text) else {
            Issue.record("\(text.debugDescription) was not left to the decoder")
            return
        }
    }
}
