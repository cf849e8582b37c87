import Renderers

/// A host as the config path reads it, taken from its JSON when it is written: a rack asking
/// for its configs then costs no JSON walking, label maps or MAC parsing per request. A class:
/// handing one on is a single retain, where the fields would be a dozen.
public final class BootHost: Sendable {
    public let key: ObjectKey
    /// `key` as boot events write it.
    public let keyText: String
    public let configRef: String
    public let image: String
    /// What templates see of the host.
    public let context: RenderContext.Host

    public init(_ host: ResourceObject) {
        key = host.key
        keyText = key.description
        configRef = host.bootConfigRef
        image = host.image
        let nics = (host.json.value(at: ["spec", "nics"])?.arrayValue ?? []).map { nic in
            let mac = nic["mac"]?.stringValue ?? ""
            return RenderContext.NIC(mac: MACAddress.normalize(mac) ?? mac, ip: nic["ip"]?.stringValue ?? "",
                                     role: nic["role"]?.stringValue ?? "", hostname: nic["hostname"]?.stringValue ?? "",
                                     network: nic["network"]?.stringValue ?? "")
        }
        let hostname = host.string("spec", "hostname")
        context = RenderContext.Host(name: host.name, namespace: host.namespace, hostname: hostname.isEmpty ? host.name : hostname,
                                     mac: MACAddress.normalize(host.bootMAC) ?? host.bootMAC, ip: host.ip, nics: nics,
                                     labels: host.labels, annotations: host.annotations)
    }
}
