import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Logging
import Testing
@testable import Gateway

/// A BMC emulator from Tests/bmc (pyghmi's IPMI BMC, sushy-tools' Redfish emulator) run as a
/// process on loopback for one test; its side door tells what it saw.
final class EmulatedBMC: @unchecked Sendable {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    let process = Process()
    let port: Int
    let sideDoor: String
    let directory: String

    static func freePort(udp: Bool = false) -> Int {
        let fd = socket(AF_INET, Int32(udp ? SOCK_DGRAM.rawValue : SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        return Int(UInt16(bigEndian: addr.sin_port))
    }

    private init(arguments: [String], port: Int, sideDoor: String, directory: String) throws {
        self.port = port
        self.sideDoor = sideDoor
        self.directory = directory
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3"] + arguments
        let log = FileHandle(forWritingAtPath: directory + "/bmc.log") ?? FileHandle.nullDevice
        process.standardOutput = log
        process.standardError = log
        try process.run()
    }

    static func ipmi(user: String = "admin", password: String = "secret") async throws -> EmulatedBMC {
        let dir = try tempDir()
        let port = freePort(udp: true), control = freePort()
        let bmc = try EmulatedBMC(arguments: [root + "/Tests/bmc/ipmi_bmc.py", "--port", "\(port)", "--control-port", "\(control)", "--user", user, "--password", password],
                                  port: port, sideDoor: "http://127.0.0.1:\(control)/state", directory: dir)
        try await bmc.waitReady()
        return bmc
    }

    static func redfish(systems: Int, delay: Double) async throws -> EmulatedBMC {
        let dir = try tempDir()
        let port = freePort()
        let fake = (0..<systems).map { "{'uuid': 'sys-\($0)', 'name': 'sys-\($0)', 'power_state': 'Off', 'nics': []}" }.joined(separator: ", ")
        let config = """
        SUSHY_EMULATOR_FAKE_DRIVER = True
        SUSHY_EMULATOR_FAKE_SYSTEMS = [\(fake)]
        SUSHY_EMULATOR_STATE_DIR = '\(dir)/state'

        """
        try config.write(toFile: dir + "/emulator.conf", atomically: true, encoding: .utf8)
        let bmc = try EmulatedBMC(arguments: [root + "/Tests/bmc/redfish_bmc.py", "--port", "\(port)", "--config", dir + "/emulator.conf", "--delay", "\(delay)"],
                                  port: port, sideDoor: "http://127.0.0.1:\(port)/_test/state", directory: dir)
        try await bmc.waitReady()
        return bmc
    }

    static func tempDir() throws -> String {
        let dir = NSTemporaryDirectory() + "bootgate-bmc-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: dir + "/bmc.log", contents: nil)
        return dir
    }

    func waitReady() async throws {
        for _ in 0..<150 {
            if (try? await state()) != nil { return }
            if !process.isRunning { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw CocoaError(.fileReadUnknown, userInfo: [NSLocalizedDescriptionKey: "emulator did not start: " + ((try? String(contentsOfFile: directory + "/bmc.log", encoding: .utf8)) ?? "")])
    }

    func state() async throws -> [String: Any] {
        let (data, _) = try await URLSession.shared.data(from: URL(string: sideDoor)!)
        return try JSONSerialization.jsonObject(with: data) as? [String: Any] ?? [:]
    }

    func stop() {
        // SIGKILL: a child spawned from the concurrency pool starts with SIGTERM blocked.
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        try? FileManager.default.removeItem(atPath: directory)
    }
}

@Suite(.serialized) struct PowerControllerTests {
    static let hasTools = FileManager.default.isExecutableFile(atPath: "/usr/bin/ipmitool")

    @Test(.enabled(if: hasTools)) func ipmitoolDriverAgainstPyghmi() async throws {
        let bmc = try await EmulatedBMC.ipmi()
        defer { bmc.stop() }
        let address = try BMCAddress(parsing: "ipmi://127.0.0.1:\(bmc.port)")
        let driver = IPMIToolDriver(address: address, credentials: .init(username: "admin", password: "secret"), timeout: .seconds(5), executable: "ipmitool")
        #expect(try await driver.powerState() == false)
        try await driver.bootFromNetworkOnce(.uefi)
        try await driver.powerOn()
        #expect(try await driver.powerState() == true)
        let options = try await bmc.state()["bootOptions"] as? [[String: Any]] ?? []
        #expect(options.last?["device"] as? String == "pxe")
        #expect(options.last?["efi"] as? Bool == true)
        #expect(options.last?["persistent"] as? Bool == false)

        let wrong = IPMIToolDriver(address: address, credentials: .init(username: "admin", password: "not-it"), timeout: .seconds(5), executable: "ipmitool")
        do {
            _ = try await wrong.powerState()
            Issue.record("a wrong password was accepted")
        } catch {
            guard case .authenticationFailed(let message) = error else { Issue.record("expected authenticationFailed, got \(error)"); return }
            #expect(!message.contains("not-it"))
        }
    }

    @Test(.enabled(if: hasTools)) func aSilentBMCIsUnreachableWithinItsDeadline() async throws {
        // A bound UDP socket that never answers: the BMC is there, and says nothing.
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        let port = Int(UInt16(bigEndian: addr.sin_port))
        let driver = IPMIToolDriver(address: try BMCAddress(parsing: "127.0.0.1:\(port)"), credentials: .init(username: "admin", password: "secret"),
                                    timeout: .seconds(3), executable: "ipmitool")
        let started = ContinuousClock.now
        await #expect(throws: BMCError.self) { try await driver.powerState() }
        #expect(ContinuousClock.now - started < .seconds(8))  // the 3 s deadline and the kill, with room for a loaded machine
    }

    /// 40 hosts on a Redfish BMC that takes 0.2 s per answer, read 4 at a time: the emulator
    /// never sees more than 4 requests at once, and every host gets its state.
    @Test func pollingIsBoundedAndCompletes() async throws {
        let hosts = 40, bound = 4
        let bmc = try await EmulatedBMC.redfish(systems: hosts, delay: 0.2)
        defer { bmc.stop() }
        let f = try await ServiceFixture.make()
        for i in 0..<hosts {
            try await f.create(.bareMetalHost, #"{"metadata":{"name":"h\#(i)"},"spec":{"bootMACAddress":"52:54:00:00:01:\#(String(format: "%02x", i))","bmc":{"address":"redfish+http://127.0.0.1:\#(bmc.port)/redfish/v1/Systems/sys-\#(i)","username":"u","password":"p"}}}"#)
        }
        var settings = PowerSettings()
        settings.concurrency = bound
        settings.timeout = .seconds(5)
        let controller = PowerController(service: f.service, settings: settings, logger: Logger(label: "test"))
        await controller.pollOnce()
        let readings = controller.allReadings()
        #expect(readings.count == hosts)
        #expect(readings.allSatisfy { $0.1.poweredOn == false && $0.1.error == nil })
        let maxInFlight = try await bmc.state()["maxInFlight"] as? Int ?? -1
        #expect(maxInFlight <= bound)
        #expect(maxInFlight >= 2)  // concurrent, counted at the BMC rather than timed
        // Every host's status says so, and a second round writes nothing new.
        let revision = f.service.index.revision
        await controller.pollOnce()
        #expect(f.service.index.revision == revision)
        let host = try f.service.get(ObjectKey(.bareMetalHost, namespace: "default", name: "h7"))
        #expect(host.json.value(at: ["status", "conditions"])?.arrayValue?.first?["status"]?.stringValue == "True")
    }
}
