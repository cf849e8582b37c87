/// What an operator asks of a host's power. On and off are also desired states (`spec.online`);
/// restart is an action only: it happens once, and leaves `spec.online` true.
public enum PowerAction: String, Sendable, CaseIterable {
    case on
    case off
    case restart
}

/// mkube's "install image": any image other than none, `localboot` or `baremetalservices`.
/// Powering on or restarting into one boots the network once first, so the host reaches iPXE
/// and the ISO, and comes back to its disk on the boot after.
enum InstallImage {
    static func matches(_ image: String) -> Bool {
        let i = image.lowercased()
        return !i.isEmpty && i != localBootImage && i != "baremetalservices"
    }
}
