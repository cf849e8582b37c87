/// How an iPXE script hands a host back to its local disk. Firmware differs, so this is chosen
/// per host or platform (reference: boot-anchors.md section 5).
public enum LocalBootMethod: String, Sendable, Codable, CaseIterable {
    /// `exit`: return to the firmware, which tries the next boot device. Works on most UEFI
    /// firmware; some BIOSes halt instead.
    case exit
    /// `exit 1`: return with an error, which makes more firmware move on to the next device
    /// (Foreman's default).
    case exitError = "exit1"
    /// `sanboot --no-describe --drive 0x80`: boot the first BIOS disk from iPXE itself. Legacy
    /// BIOS only; UEFI has no equivalent drive number.
    case sanbootDisk = "sanboot-disk"

    /// The iPXE command line.
    public var command: String {
        switch self {
        case .exit: "exit"
        case .exitError: "exit 1"
        case .sanbootDisk: "sanboot --no-describe --drive 0x80"
        }
    }
}
