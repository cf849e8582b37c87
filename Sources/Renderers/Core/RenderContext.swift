/// The values a boot config's `{{…}}` templates may use: the host it is served to, that host's
/// ISO, and this server. See docs/templates.md for the variable names.
public struct RenderContext: Sendable, Hashable {
    public struct NIC: Sendable, Hashable {
        public var mac: String
        public var ip: String
        public var role: String
        public var hostname: String
        public var network: String
        public init(mac: String, ip: String = "", role: String = "", hostname: String = "", network: String = "") {
            self.mac = mac
            self.ip = ip
            self.role = role
            self.hostname = hostname
            self.network = network
        }
    }

    public struct Host: Sendable, Hashable {
        public var name: String
        public var namespace: String
        public var hostname: String
        /// Boot MAC, lower case with colons.
        public var mac: String
        public var ip: String
        public var nics: [NIC]
        public var labels: [String: String]
        public var annotations: [String: String]
        public init(name: String, namespace: String, hostname: String, mac: String, ip: String,
                    nics: [NIC] = [], labels: [String: String] = [:], annotations: [String: String] = [:]) {
            self.name = name
            self.namespace = namespace
            self.hostname = hostname
            self.mac = mac
            self.ip = ip
            self.nics = nics
            self.labels = labels
            self.annotations = annotations
        }
    }

    public struct ISO: Sendable, Hashable {
        public var name: String
        public var targetIQN: String
        public var portal: String
        public var portalPort: Int
        public init(name: String, targetIQN: String, portal: String, portalPort: Int) {
            self.name = name
            self.targetIQN = targetIQN
            self.portal = portal
            self.portalPort = portalPort
        }
    }

    public struct Server: Sendable, Hashable {
        /// Public base URL without trailing slash, e.g. `http://192.168.200.2:8082`.
        public var url: String
        public init(url: String) { self.url = url }
        /// Where installers fetch their config.
        public var bootconfigURL: String { url + "/api/v1/bootconfig" }
    }

    public var host: Host
    /// Nil when the host boots its local disk.
    public var iso: ISO?
    public var server: Server

    public init(host: Host, iso: ISO?, server: Server) {
        self.host = host
        self.iso = iso
        self.server = server
    }

    /// Plausible values for write-time validation: a config must render and validate with these.
    public static let sample = RenderContext(
        host: Host(name: "sample-host", namespace: "default", hostname: "sample-host", mac: "52:54:00:00:00:01",
                   ip: "192.0.2.10", nics: [NIC(mac: "52:54:00:00:00:02", ip: "192.0.2.11", role: "data", hostname: "sample-host-data", network: "data")],
                   labels: ["role": "sample"], annotations: ["note": "sample"]),
        iso: ISO(name: "sample-iso", targetIQN: "iqn.2000-01.org.example:sample", portal: "192.0.2.1", portalPort: 3260),
        server: Server(url: "http://192.0.2.2:8082"))
}
