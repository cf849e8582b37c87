/// Where an ISO is served over iSCSI, as iPXE's SAN URI (RFC 4173):
/// `iscsi:<portal>:<protocol>:<port>:<lun>:<iqn>`.
public struct ISCSITarget: Sendable, Hashable {
    public var portal: String
    /// Nil or 3260 leaves the field empty (iPXE's default is 3260).
    public var port: Int?
    /// Nil leaves the field empty (LUN 0). tgt puts a controller at LUN 0 and the ISO at LUN 1,
    /// where an empty LUN fails with "Could not open SAN device", so give it when it is not 0.
    public var lun: Int?
    public var iqn: String

    public init(portal: String, port: Int? = nil, lun: Int? = nil, iqn: String) {
        self.portal = portal
        self.port = port
        self.lun = lun
        self.iqn = iqn
    }

    /// Problems with the values, empty when the URI can be written.
    public func problems() -> [String] {
        var problems: [String] = []
        if let p = IPXEValue.checkPortal(portal) { problems.append(p) }
        if let p = IPXEValue.checkIQN(iqn) { problems.append(p) }
        if let port, !(1...65535).contains(port) { problems.append("port \(port) is out of range 1-65535") }
        if let lun, !(0...0xFFFF).contains(lun) { problems.append("LUN \(lun) is out of range 0-65535") }
        return problems
    }

    /// The SAN URI. The LUN is written in hex, as iPXE reads it (`scsi_parse_lun`); the protocol
    /// field stays empty (iPXE ignores it; only TCP, "6", exists).
    public var uri: String {
        let portField = port.flatMap { $0 == 3260 ? nil : String($0) } ?? ""
        let lunField = lun.map { String($0, radix: 16) } ?? ""
        return "iscsi:\(portal)::\(portField):\(lunField):\(iqn)"
    }
}
