import Foundation
import Logging
import Synchronization
import Testing
@testable import Gateway

@Suite struct ObserveTests {
    @Test func theRateLimiterLetsNPerSecondAndCountsTheRest() {
        let limiter = LogRateLimiter(perSecond: 3)
        var decisions: [LogRateLimiter.Decision] = []
        for _ in 0..<10 { decisions.append(limiter.decide(atSecond: 100)) }
        #expect(decisions.prefix(3).allSatisfy { $0 == .log(suppressed: 0) })
        #expect(decisions.dropFirst(3).allSatisfy { $0 == .suppress })
        // The next second's first line tells how many were held back, once.
        #expect(limiter.decide(atSecond: 101) == .log(suppressed: 7))
        #expect(limiter.decide(atSecond: 101) == .log(suppressed: 0))
        // A clock stepping back counts against the newer second.
        #expect(limiter.decide(atSecond: 99) == .log(suppressed: 0))
        #expect(limiter.decide(atSecond: 99) == .suppress)
    }

    @Test func theRateLimiterHoldsUnderContention() async {
        let limiter = LogRateLimiter(perSecond: 100)
        let logged = await withTaskGroup(of: Int.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    var n = 0
                    for _ in 0..<1000 where limiter.decide(atSecond: 5) != .suppress { n += 1 }
                    return n
                }
            }
            return await group.reduce(0, +)
        }
        #expect(logged == 100)
    }

    @Test func jsonLogLinesParse() throws {
        let lines = Mutex<[[UInt8]]>([])
        var handler = JSONLogHandler(label: "bootgate") { bytes in lines.withLock { $0.append(bytes) } }
        handler.metadata["replica"] = "a"
        let logger = Logger(label: "bootgate") { _ in handler }
        logger.info("ipxe default/h1: sanboot \"quoted\"", metadata: ["host": "default/h1", "n": .stringConvertible(3)])
        let all = lines.withLock { $0 }
        #expect(all.count == 1 && all[0].last == 0x0A && all[0].dropLast().allSatisfy { $0 != 0x0A })
        let o = try JSONParser.parse(Array(all[0].dropLast()))
        #expect(o["message"]?.stringValue == "ipxe default/h1: sanboot \"quoted\"")
        #expect(o["level"]?.stringValue == "info" && o["logger"]?.stringValue == "bootgate")
        #expect(o["host"]?.stringValue == "default/h1" && o["n"]?.stringValue == "3" && o["replica"]?.stringValue == "a")
        #expect(o["time"]?.stringValue?.hasSuffix("Z") == true)
    }

    @Test func auditPatchesRedactSecretsWhereverTheyAre() throws {
        let before = try JSONParser.parse(#"{"metadata":{"name":"h","resourceVersion":"3"},"spec":{"image":"a","bmc":{"password":"old"}}}"#)
        let after = try JSONParser.parse(#"{"metadata":{"name":"h","resourceVersion":"4"},"spec":{"image":"b","bmc":{"password":"new"},"ip":"10.0.0.1"}}"#)
        let ops = AuditRecord.patch(from: before, to: after)
        let text = ops.map { JSONWriter.string($0) }.joined()
        #expect(!text.contains("old") && !text.contains("new") && !text.contains("resourceVersion"))
        #expect(text.contains(#""path":"/spec/image","value":"b""#) && text.contains(#""path":"/spec/ip""#))
        // A create records the whole object, its secret redacted inside it.
        let created = AuditRecord.patch(from: nil, to: after).map { JSONWriter.string($0) }.joined()
        #expect(created.contains("(redacted)") && !created.contains("new"))
    }

    @Test func metricsAreValidExposition() async throws {
        let f = try await ServiceFixture.make()
        _ = try? f.service.ipxe(mac: "52:54:00:00:00:01", record: true)
        _ = try? f.service.ipxe(mac: "junk", record: true)
        let text = String(decoding: f.service.metrics.exposition(f.service), as: UTF8.self)
        #expect(text.contains(#"bootgate_boot_requests_total{route="ipxe",result="refused"} 1"#))
        #expect(text.contains(#"bootgate_boot_requests_total{route="ipxe",result="error"} 1"#))
        #expect(text.contains("# TYPE bootgate_store_commit_duration_seconds histogram"))
        #expect(text.contains(#"bootgate_store_reachable{backend="sqlite"} 1"#))
        try await f.create(.bootConfig, #"{"metadata":{"name":"c1"},"spec":{"data":{"a":"b"}}}"#)
        let after = String(decoding: f.service.metrics.exposition(f.service), as: UTF8.self)
        #expect(after.contains("bootgate_audit_records_total 1\n"))
    }
}
