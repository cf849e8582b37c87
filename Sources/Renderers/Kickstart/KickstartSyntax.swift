/// What Fedora's kickstart accepts, as tables.
///
/// Source: pykickstart 3.78, `pykickstart/handlers/f43.py` (`F43Handler.commandMap`) and
/// `parser.py` (`setupSections`), for Fedora 43 (the release the spec installs). Commands marked
/// there as `DeprecatedCommand` or `RemovedCommand` are listed apart. Regenerate by listing
/// `makeVersion(F43).commands` when moving to a newer Fedora.
enum KickstartSyntax {
    /// Commands with an effect in Fedora 43.
    static let commands: Set<String> = [
        "authselect", "autopart", "bootc", "bootloader", "btrfs", "cdrom", "clearpart", "cmdline", "driverdisk", "eula",
        "fcoe", "firewall", "firstboot", "graphical", "group", "halt", "harddrive", "hmc", "ignoredisk", "iscsi",
        "iscsiname", "keyboard", "lang", "liveimg", "logging", "logvol", "mediacheck", "mount", "network", "nfs",
        "ostreecontainer", "ostreesetup", "part", "partition", "poweroff", "raid", "rdp", "realm", "reboot", "repo",
        "reqpart", "rescue", "rootpw", "selinux", "services", "shutdown", "skipx", "snapshot", "sshkey", "sshpw", "text",
        "timesource", "timezone", "updates", "url", "user", "volgroup", "xconfig", "zerombr", "zfcp", "zipl",
    ]

    /// Accepted by the parser but ignored by the installer; ksvalidator fails on them.
    static let deprecated: Set<String> = ["module", "nvdimm", "vnc"]

    /// Refused by Fedora 43's parser.
    static let removed: Set<String> = ["auth", "authconfig", "autostep", "device", "deviceprobe", "dmraid", "install", "method", "multipath"]

    /// Commands that may appear many times (pykickstart gives them a data list).
    static let repeatable: Set<String> = [
        "btrfs", "driverdisk", "fcoe", "group", "iscsi", "logvol", "mount", "network", "part", "partition", "raid",
        "repo", "snapshot", "sshkey", "sshpw", "timesource", "user", "volgroup", "zfcp",
    ]

    /// Names that are one command in pykickstart: using two of a family is a repeat.
    static let families: [[String]] = [
        ["reboot", "poweroff", "halt", "shutdown"],
        ["cmdline", "graphical", "text"],
    ]

    /// Commands that cannot be used together (`conflictingCommands` in pykickstart).
    static let conflicts: [String: [String]] = [
        "autopart": ["part", "partition", "raid", "volgroup", "logvol", "reqpart", "mount"],
        "mount": ["autopart", "part", "partition", "raid", "volgroup", "logvol", "reqpart"],
        "bootc": ["ostreesetup", "ostreecontainer"],
        "ostreecontainer": ["ostreesetup", "bootc"],
        "ostreesetup": ["ostreecontainer", "bootc"],
    ]

    /// Both directions of `conflicts`, sorted for stable messages.
    static func conflicting(with command: String) -> [String] {
        let forward = conflicts[command] ?? []
        let backward = conflicts.filter { $0.value.contains(command) }.map(\.key)
        return Array(Set(forward + backward)).sorted()
    }

    /// Section headers, each closed by `%end`.
    static let sections: Set<String> = ["%packages", "%pre", "%pre-install", "%post", "%onerror", "%traceback", "%addon", "%anaconda", "%certificate"]

    /// Sections pykickstart still reads but warns about.
    static let deprecatedSections: [String: String] = ["%traceback": "use %onerror instead"]

    /// The family key used when counting uses of a single-use command.
    static func family(of command: String) -> String {
        families.first { $0.contains(command) }?.joined(separator: "/") ?? command
    }
}
