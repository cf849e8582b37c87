import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import Renderers

/// Redfish over HTTP(S) with async-http-client: the client the project already builds (for
/// HummingbirdTesting, and for mkube and etcd later), with a connection pool per BMC and, unlike
/// URLSession on Linux, a way to accept the self-signed certificates most BMCs ship with
/// (`spec.bmc.disableCertificateVerification`, as Metal3 names it). Basic authentication on
/// each request: no session to leak or expire, and the emulator and real BMCs accept it.
struct RedfishDriver: BMCDriver {
    let address: BMCAddress
    let credentials: BMCCredentials
    let timeout: Duration
    let verifyCertificate: Bool

    var protocolName: String { BMCAddress.Kind.redfish.protocolName }

    /// Two clients for the life of the process: one that checks certificates, one that does not.
    static let verifying = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration(verify: true))
    static let trusting = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration(verify: false))

    static func configuration(verify: Bool) -> HTTPClient.Configuration {
        // Redirects are refused: they would carry the credentials to another host.
        var config = verify ? HTTPClient.Configuration(redirectConfiguration: .disallow)
                            : HTTPClient.Configuration(certificateVerification: .none, redirectConfiguration: .disallow)
        // The client's own per-host limit (8 by default) would quietly cap a chassis manager that
        // answers for many hosts below the controller's bound; the controller bounds the load.
        config.connectionPool = .init(idleTimeout: .seconds(30), concurrentHTTP1ConnectionsPerHostSoftLimit: 64)
        return config
    }

    func powerState() async throws(BMCError) -> Bool {
        let system = try await request(.GET, try await systemPath())
        switch system["PowerState"]?.stringValue ?? "" {
        case "On", "PoweringOff": return true
        case "Off", "PoweringOn": return false
        case let other: throw .commandFailed("Redfish \(address.endpoint): unknown PowerState \"\(other)\"")
        }
    }

    func powerOn() async throws(BMCError) { try await resetAction("On") }
    func powerOff() async throws(BMCError) { try await resetAction("ForceOff") }
    func reset() async throws(BMCError) { try await resetAction("ForceRestart") }

    func bootFromNetworkOnce(_ firmware: HostFirmware) async throws(BMCError) {
        var boot = JSONObject([("BootSourceOverrideEnabled", "Once"), ("BootSourceOverrideTarget", "Pxe")])
        switch firmware {
        case .uefi: boot["BootSourceOverrideMode"] = "UEFI"
        case .bios: boot["BootSourceOverrideMode"] = "Legacy"
        case .unspecified: break
        }
        _ = try await request(.PATCH, try await systemPath(), body: .object(JSONObject([("Boot", .object(boot))])))
    }

    private func resetAction(_ type: String) async throws(BMCError) {
        let system = try await systemPath()
        _ = try await request(.POST, system + "/Actions/ComputerSystem.Reset", body: .object(JSONObject([("ResetType", .string(type))])))
    }

    /// The address's path, or the first system the service lists (a BMC of one server has one).
    private func systemPath() async throws(BMCError) -> String {
        if !address.path.isEmpty { return address.path }
        let systems = try await request(.GET, "/redfish/v1/Systems")
        guard let first = systems["Members"]?.arrayValue?.first?["@odata.id"]?.stringValue, first.hasPrefix("/") else {
            throw .commandFailed("Redfish \(address.endpoint) lists no system under /redfish/v1/Systems")
        }
        return first
    }

    private func request(_ method: HTTPMethod, _ path: String, body: JSONValue? = nil) async throws(BMCError) -> JSONValue {
        let what = "Redfish \(address.endpoint)"
        var req = HTTPClientRequest(url: address.baseURL + path)
        req.method = method
        req.headers.add(name: "Authorization", value: "Basic " + Data("\(credentials.username):\(credentials.password)".utf8).base64EncodedString())
        req.headers.add(name: "Accept", value: "application/json")
        if let body {
            req.headers.add(name: "Content-Type", value: "application/json")
            req.body = .bytes(JSONWriter.bytes(body))
        }
        let client = verifyCertificate ? Self.verifying : Self.trusting
        let seconds = Int64(timeout.components.seconds)
        let status: UInt
        let bytes: ByteBuffer
        do {
            let response = try await client.execute(req, timeout: .seconds(seconds))
            status = response.status.code
            bytes = try await response.body.collect(upTo: 1 << 20)
        } catch {
            throw Self.transportError(error, what: what, seconds: seconds)
        }
        let text = String(buffer: bytes)
        switch status {
        case 200..<300:
            guard !text.isEmpty, let json = try? JSONParser.parse(Array(text.utf8)) else { return .null }
            return json
        case 401, 403:
            throw .authenticationFailed("\(what) refused the credentials (HTTP \(status))")
        default:
            throw .commandFailed("\(what): \(method.rawValue) \(path) answered HTTP \(status)\(Self.redfishMessage(text, hiding: credentials.password))")
        }
    }

    /// The first message of a Redfish error body (`error.@Message.ExtendedInfo[0].Message`).
    static func redfishMessage(_ text: String, hiding secret: String) -> String {
        guard let json = try? JSONParser.parse(Array(text.utf8)) else { return "" }
        let m = json["error"]?["@Message.ExtendedInfo"]?.arrayValue?.first?["Message"]?.stringValue ?? json["error"]?["message"]?.stringValue ?? ""
        return m.isEmpty ? "" : ": " + BMCText.clean(m, hiding: secret)
    }

    static func transportError(_ error: any Error, what: String, seconds: Int64) -> BMCError {
        if let e = error as? HTTPClientError, [.deadlineExceeded, .readTimeout, .connectTimeout].contains(e) {
            return .unreachable("\(what): no answer within \(seconds) s")
        }
        let text = String(describing: error)
        if text.localizedCaseInsensitiveContains("ssl") || text.localizedCaseInsensitiveContains("certificate") {
            return .unreachable("\(what): TLS handshake failed (\(BMCText.clean(text, hiding: "", limit: 120)))")
        }
        if text.localizedCaseInsensitiveContains("refused") || text.localizedCaseInsensitiveContains("connect") {
            return .unreachable("\(what): connection refused")
        }
        return .unreachable("\(what): \(BMCText.clean(text, hiding: "", limit: 120))")
    }
}
