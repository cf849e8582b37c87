import Testing
@testable import Gateway

@Suite struct BMCAddressTests {
    @Test(arguments: [
        ("192.168.11.10", BMCAddress(kind: .ipmi, host: "192.168.11.10")),
        ("127.0.0.1:6230", BMCAddress(kind: .ipmi, host: "127.0.0.1", port: 6230)),
        ("ipmi://127.0.0.1:6230", BMCAddress(kind: .ipmi, host: "127.0.0.1", port: 6230)),
        ("ipmi://bmc-1.example", BMCAddress(kind: .ipmi, host: "bmc-1.example")),
        ("IPMI://10.0.0.5/", BMCAddress(kind: .ipmi, host: "10.0.0.5")),
        ("fd00::5", BMCAddress(kind: .ipmi, host: "fd00::5")),
        ("[fd00::5]:623", BMCAddress(kind: .ipmi, host: "fd00::5", port: 623)),
        ("redfish://10.0.0.5/redfish/v1/Systems/1", BMCAddress(kind: .redfish, host: "10.0.0.5", secure: true, path: "/redfish/v1/Systems/1")),
        ("redfish+https://10.0.0.5:8443/redfish/v1/Systems/1/", BMCAddress(kind: .redfish, host: "10.0.0.5", port: 8443, secure: true, path: "/redfish/v1/Systems/1")),
        ("redfish+http://127.0.0.1:8000", BMCAddress(kind: .redfish, host: "127.0.0.1", port: 8000, secure: false)),
        ("redfish+http://[::1]:8000/redfish/v1/Systems/abc", BMCAddress(kind: .redfish, host: "::1", port: 8000, path: "/redfish/v1/Systems/abc")),
    ])
    func parses(_ text: String, _ expected: BMCAddress) throws {
        #expect(try BMCAddress(parsing: text) == expected)
    }

    @Test func defaultPortsAndEndpoints() throws {
        #expect(try BMCAddress(parsing: "10.0.0.5").endpoint == "10.0.0.5:623")
        #expect(try BMCAddress(parsing: "redfish://10.0.0.5").endpoint == "10.0.0.5:443")
        #expect(try BMCAddress(parsing: "redfish+http://10.0.0.5").effectivePort == 80)
        #expect(try BMCAddress(parsing: "redfish+http://[::1]:8000/x").baseURL == "http://[::1]:8000")
        #expect(try BMCAddress(parsing: "[fd00::5]:6230").endpoint == "[fd00::5]:6230")
    }

    @Test(arguments: [
        ("", BMCAddress.Failure.empty),
        ("   ", .empty),
        ("idrac://10.0.0.5", .unknownScheme("idrac")),
        ("ipmi://", .missingHost("ipmi://")),
        ("ipmi://:623", .missingHost("ipmi://:623")),
        ("10.0.0.5:0", .badPort("0")),
        ("10.0.0.5:70000", .badPort("70000")),
        ("redfish://10.0.0.5:http/x", .badPort("http")),
        ("-oProxy", .badHost("-oProxy")),
        ("redfish://user@10.0.0.5/redfish/v1", .badHost("user@10.0.0.5")),
        ("ipmi://10.0.0.5 extra", .badHost("10.0.0.5 extra")),
    ])
    func refuses(_ text: String, _ failure: BMCAddress.Failure) {
        #expect(throws: failure) { try BMCAddress(parsing: text) }
    }

    @Test func credentialsNeverPrintTheirPassword() {
        let c = BMCCredentials(username: "admin", password: "hunter2")
        #expect(!"\(c)".contains("hunter2"))
        #expect(!String(reflecting: c).contains("hunter2"))
    }

    @Test func cleanedTextHidesAnEchoedPassword() {
        #expect(BMCText.clean("error: bad password hunter2\nsecond line", hiding: "hunter2") == "error: bad password ***; second line")
    }

    @Test func installImages() {
        #expect(InstallImage.matches("fedora-netinst"))
        #expect(!InstallImage.matches(""))
        #expect(!InstallImage.matches("localboot"))
        #expect(!InstallImage.matches("BareMetalServices"))
    }
}
