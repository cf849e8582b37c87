/// Makes ISO files reachable as iSCSI CD-ROMs. One implementation per target software (Linux tgt
/// today); `ISOExportController` decides what should be exported and calls these.
public protocol ISOExporter: Sendable {
    /// Short name for logs and `/healthz` (`tgt`).
    var name: String { get }
    /// Every target the target software has now, ours and others'.
    func targets() async throws(ExportError) -> [ExportedTarget]
    /// A new target named `iqn` serving `file` as a read-only CD-ROM.
    func create(iqn: String, file: String) async throws(ExportError) -> ExportedTarget
    /// The target's CD-ROM now reads `file` (opened afresh, even when the path is the same: an
    /// upload renames a new file over the old one, and the target still holds the old one open).
    func replaceFile(of target: ExportedTarget, with file: String) async throws(ExportError) -> ExportedTarget
    /// Removes a target bootgate made (its ISO was deleted).
    func remove(_ target: ExportedTarget) async throws(ExportError)
}

/// One target as the target software reports it.
public struct ExportedTarget: Sendable, Hashable {
    /// The software's own handle (tgt's target id).
    public var id: Int
    public var iqn: String
    /// The CD-ROM's LUN, nil when the target has none.
    public var lun: Int?
    /// The file behind that LUN.
    public var file: String?
    /// Initiators logged in now (tgt's I_T nexuses).
    public var sessions: Int

    public init(id: Int, iqn: String, lun: Int?, file: String?, sessions: Int = 0) {
        self.id = id
        self.iqn = iqn
        self.lun = lun
        self.file = file
        self.sessions = sessions
    }
}

/// Why the target software did not do what was asked.
public struct ExportError: Error, Sendable, CustomStringConvertible {
    /// The software cannot be reached at all (tgtd not running): nothing is known of its targets.
    public var unreachable: Bool
    public var message: String
    public init(unreachable: Bool = false, _ message: String) {
        self.unreachable = unreachable
        self.message = message
    }
    public var description: String { message }
}
