/// What one `{{name}}` of a compiled template reads from the `RenderContext`.
///
/// Resolved once when the template is compiled, so rendering is a switch, not a name lookup.
enum TemplateSlot: Sendable, Hashable {
    enum NICField: Sendable, Hashable { case mac, ip, role, hostname, network }

    case hostName, hostNamespace, hostHostname, hostMAC, hostIP
    /// A field of the interface `{{#host.nics}}` is repeating for.
    case nic(NICField)
    case label(String), annotation(String)
    case isoName, isoTargetIQN, isoPortal, isoPortalPort
    case serverURL, serverBootconfigURL

    /// The slot of a reference as `TemplateEngine.analyse` names it (`host.nics[].mac`, `host.labels.gpu`).
    init?(reference: String) {
        switch reference {
        case "host.name": self = .hostName
        case "host.namespace": self = .hostNamespace
        case "host.hostname": self = .hostHostname
        case "host.mac": self = .hostMAC
        case "host.ip": self = .hostIP
        case "host.nics[].mac": self = .nic(.mac)
        case "host.nics[].ip": self = .nic(.ip)
        case "host.nics[].role": self = .nic(.role)
        case "host.nics[].hostname": self = .nic(.hostname)
        case "host.nics[].network": self = .nic(.network)
        case "iso.name": self = .isoName
        case "iso.targetIQN": self = .isoTargetIQN
        case "iso.portal": self = .isoPortal
        case "iso.portalPort": self = .isoPortalPort
        case "server.url": self = .serverURL
        case "server.bootconfigURL": self = .serverBootconfigURL
        default:
            if let key = Self.key(of: reference, after: "host.labels.") {
                self = .label(key)
            } else if let key = Self.key(of: reference, after: "host.annotations.") {
                self = .annotation(key)
            } else {
                return nil
            }
        }
    }

    private static func key(of reference: String, after prefix: String) -> String? {
        guard reference.hasPrefix(prefix), reference.utf8.count > prefix.utf8.count else { return nil }
        return String(reference.dropFirst(prefix.count))
    }

    /// The value, or nil where swift-mustache finds no value: a missing ISO, label or annotation,
    /// or a NIC field outside `{{#host.nics}}`. Nil renders as nothing and makes a section false.
    func value(in context: RenderContext, nic: RenderContext.NIC?) -> String? {
        switch self {
        case .hostName: context.host.name
        case .hostNamespace: context.host.namespace
        case .hostHostname: context.host.hostname
        case .hostMAC: context.host.mac
        case .hostIP: context.host.ip
        case .nic(let field): nic.map { field.value(of: $0) }
        case .label(let key): context.host.labels[key]
        case .annotation(let key): context.host.annotations[key]
        case .isoName: context.iso?.name
        case .isoTargetIQN: context.iso?.targetIQN
        case .isoPortal: context.iso?.portal
        case .isoPortalPort: context.iso.map { String($0.portalPort) }
        case .serverURL: context.server.url
        case .serverBootconfigURL: context.server.bootconfigURL
        }
    }

    /// Whether any value the slot can take for this context (each NIC's, for NIC fields) is one
    /// the predicate picks: the control-character check of `.none` escaping.
    func anyValue(in context: RenderContext, where predicate: (String) -> Bool) -> Bool {
        if case .nic(let field) = self { return context.host.nics.contains { predicate(field.value(of: $0)) } }
        return value(in: context, nic: nil).map(predicate) ?? false
    }
}

extension TemplateSlot.NICField {
    func value(of nic: RenderContext.NIC) -> String {
        switch self {
        case .mac: nic.mac
        case .ip: nic.ip
        case .role: nic.role
        case .hostname: nic.hostname
        case .network: nic.network
        }
    }
}
