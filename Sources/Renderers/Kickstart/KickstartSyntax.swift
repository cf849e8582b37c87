/// What Fedora's kickstart accepts, as one table: commands → options (with their values),
/// positional arguments and the rules between them; sections and their header options.
///
/// Version: Fedora 43 (the release the spec installs), i.e. pykickstart 3.78's `F43Handler`
/// (`pykickstart/handlers/f43.py`), which is also what `ksvalidator -v F43` checks. Written by
/// reading each command class that handler maps (its `_getParser` and `parse` chain in
/// `pykickstart/commands/*.py`) and `sections.py`; Tests/kickstart compares the verdicts with
/// ksvalidator's on thousands of generated files. When moving to a newer Fedora, diff the new
/// handler's `commandMap` against F43's and update the entries that changed class.
enum KickstartSyntax {
    static let fedoraRelease = "Fedora 43"

    /// Every command with an effect in Fedora 43, by name (`part` and `partition` are one).
    static let commands: [String: KickstartCommandSpec] = {
        var table: [String: KickstartCommandSpec] = [:]
        for spec in commandList { table[spec.name] = spec }
        for (alias, target) in aliases { table[alias] = table[target].map { var s = $0; s.name = alias; return s } }
        return table
    }()

    /// Accepted by the parser but ignored by the installer; ksvalidator fails on them.
    static let deprecated: [String: String] = [
        "module": "enable module streams in %packages (@module:stream) instead",
        "nvdimm": "NVDIMM setup is no longer supported by the installer",
        "vnc": "use rdp for remote graphical installs",
    ]

    /// Refused by Fedora 43's parser, with what replaced them.
    static let removed: [String: String] = [
        "auth": "use authselect", "authconfig": "use authselect", "autostep": "it has no replacement",
        "device": "the installer loads drivers itself", "deviceprobe": "the installer probes devices itself",
        "dmraid": "it has no replacement", "install": "installing is the default; give the source with url, nfs, cdrom, harddrive or liveimg",
        "method": "give the source with url, nfs, cdrom, harddrive or liveimg", "multipath": "it has no replacement",
    ]

    /// Names that are one command in pykickstart: using two of a family is a repeat.
    static let families: [[String]] = [
        ["reboot", "poweroff", "halt", "shutdown"],
        ["cmdline", "graphical", "text"],
        ["part", "partition"],
    ]

    /// Commands that cannot be used together (pykickstart's `conflictingCommands`, which it
    /// checks in both directions).
    static let conflicts: [String: [String]] = [
        "autopart": ["part", "partition", "raid", "volgroup", "logvol", "reqpart", "mount"],
        "mount": ["part", "partition", "raid", "volgroup", "logvol", "reqpart"],
        "bootc": ["ostreesetup", "ostreecontainer"],
        "ostreecontainer": ["ostreesetup"],
    ]

    /// Both directions of `conflicts`, sorted for stable messages.
    static func conflicting(with command: String) -> [String] {
        let forward = conflicts[command] ?? []
        let backward = conflicts.filter { $0.value.contains(command) }.map(\.key)
        return Array(Set(forward + backward)).sorted()
    }

    /// The family key used when counting uses of a single-use command.
    static func family(of command: String) -> String {
        families.first { $0.contains(command) }?.joined(separator: "/") ?? command
    }

    // MARK: - Sections

    /// Section headers, each closed by `%end`, with the options their header takes.
    static let sections: [String: KickstartCommandSpec] = {
        let script = [flag("--erroronfail"), text("--interpreter"), text("--log", "--logfile")]
        var table: [String: KickstartCommandSpec] = [:]
        for name in ["%pre", "%pre-install", "%onerror", "%traceback"] {
            table[name] = KickstartCommandSpec(name: name, options: script)
        }
        table["%post"] = KickstartCommandSpec(name: "%post", options: script + [flag("--nochroot")])
        table["%packages"] = KickstartCommandSpec(name: "%packages", options: [
            flag("--excludedocs"), flag("--ignoremissing"), flag("--default"), flag("--multilib"), flag("--nocore"),
            int("--timeout"), int("--retries"), text("--inst-langs"), flag("--exclude-weakdeps"), flag("--ignorebroken"),
            text("--instLangs").deprecated("use --inst-langs"), flag("--excludeWeakdeps").deprecated("use --exclude-weakdeps"),
        ], rules: [.atMostOne("--default", "--nocore")])
        table["%certificate"] = KickstartCommandSpec(name: "%certificate", options: [
            text("--filename").isRequired(), text("--dir"), text("--type"),
        ], rules: [KickstartRule { $0.given("--dir") || $0.given("--type") ? nil : "one of --dir or --type is required" }])
        // Sections pykickstart passes on to Anaconda's add-ons unread.
        for name in ["%addon", "%anaconda"] { table[name] = KickstartCommandSpec(name: name, reading: .anything) }
        return table
    }()

    /// Sections pykickstart still reads but fails in ksvalidator, with what to use instead.
    static let deprecatedSections: [String: String] = ["%traceback": "use %onerror instead"]

    // MARK: - Commands

    private static let aliases = ["partition": "part"]

    private static let luks: [KickstartOption] = [
        flag("--encrypted"), text("--passphrase"), text("--escrowcert"), flag("--backuppassphrase"), text("--cipher"),
        text("--luks-version"), text("--pbkdf"), int("--pbkdf-memory"), int("--pbkdf-time"), int("--pbkdf-iterations"),
    ]

    private static let pbkdf = KickstartRule.atMostOne("--pbkdf-time", "--pbkdf-iterations")

    /// `--hw-passphrase` only makes sense for OPAL self-encrypting disks (LUKS2 "hw-opal" types).
    private static let hwPassphrase = KickstartRule { invocation in
        guard invocation.given("--hw-passphrase") else { return nil }
        return invocation.given("--encrypted") && (invocation.text("--luks-version") ?? "").hasPrefix("luks2-")
            ? nil : "--hw-passphrase needs --encrypted and a --luks-version of luks2-hw-opal or luks2-hw-opal-only"
    }

    private static let formatOptions = [
        KickstartRule.atMostOne("--fsprofile", "--mkfsoptions"),
        KickstartRule { $0.given("--noformat") && $0.given("--mkfsoptions") ? "--mkfsoptions has no effect with --noformat" : nil },
    ]

    private static let commandList: [KickstartCommandSpec] = [
        KickstartCommandSpec(name: "authselect", reading: .anything),
        KickstartCommandSpec(name: "autopart", options: luks + [
            flag("--nolvm"), choice("--type", ["lvm", "btrfs", "plain", "partition", "thinp"], caseInsensitive: true),
            text("--fstype"), flag("--nohome"), flag("--noboot"), flag("--noswap"), flag("--hibernation"), text("--hw-passphrase"),
        ], rules: [
            pbkdf, .atMostOne("--noswap", "--hibernation"), hwPassphrase,
            KickstartRule { $0.text("--fstype") == "btrfs" ? "--fstype=btrfs is not a file system type here; use --type=btrfs" : nil },
            KickstartRule { invocation in
                // --nolvm is --type=plain; the last of the two wins.
                let type = invocation.order.last { $0 == "--type" || $0 == "--nolvm" }
                let isBtrfs = type == "--type" && invocation.text("--type")?.lowercased() == "btrfs"
                return isBtrfs && invocation.given("--fstype") ? "--fstype cannot be used with --type=btrfs" : nil
            },
        ]),
        KickstartCommandSpec(name: "bootc", options: [text("--stateroot"), text("--source-imgref").isRequired(), text("--target-imgref")]),
        KickstartCommandSpec(name: "bootloader", options: [
            text("--append"), choice("--location", ["mbr", "partition", "none", "boot"]), text("--password"), list("--driveorder"),
            int("--timeout"), text("--default"), flag("--iscrypted"), text("--md5pass"), text("--boot-drive"), flag("--leavebootorder"),
            flag("--extlinux"), flag("--disabled"), flag("--nombr"), flag("--sdboot"),
        ], rules: [
            .atMostOne("--sdboot", "--extlinux"),
            KickstartRule { ($0.text("--boot-drive") ?? "").contains(",") ? "--boot-drive takes one drive" : nil },
        ]),
        KickstartCommandSpec(name: "btrfs", options: [
            flag("--noformat"), flag("--useexisting"), text("--label"), choice("--data", btrfsLevels, caseInsensitive: true),
            choice("--metadata", btrfsLevels, caseInsensitive: true), flag("--subvol"), text("--parent"), text("--name"), text("--mkfsoptions"),
        ], positionals: .init(min: 1, max: nil, what: "a mount point, then the devices of the volume"), rules: [
            KickstartRule { invocation in
                guard invocation.positionals.count < 2 else { return nil }
                return invocation.given("--subvol") ? "a subvolume needs its parent volume after the mount point" : "needs the devices of the volume after the mount point"
            },
            KickstartRule { $0.given("--subvol") && !$0.given("--name") ? "a subvolume needs --name" : nil },
            KickstartRule { ($0.given("--noformat") || $0.given("--useexisting")) && $0.given("--mkfsoptions") ? "--mkfsoptions has no effect with --noformat or --useexisting" : nil },
        ], repeatable: true, identity: { $0.positionals.first.map(normalisedMountPoint) }, identityNoun: "btrfs volume with the mount point"),
        KickstartCommandSpec(name: "cdrom"),
        KickstartCommandSpec(name: "clearpart", options: [
            flag("--all"), flag("--initlabel"), flag("--linux"), flag("--none"), text("--disklabel"), list("--drives"), list("--list"), flag("--cdl"),
        ]),
        displayMode("cmdline"),
        KickstartCommandSpec(name: "driverdisk", options: [text("--source"), text("--biospart")],
                             positionals: .init(min: 0, max: 1, what: "a partition holding the driver disk"), rules: [
            KickstartRule { invocation in
                let given = (invocation.positionals.isEmpty ? [] : ["a partition"]) + ["--source", "--biospart"].filter { invocation.given($0) }
                if given.isEmpty { return "one of a partition, --source or --biospart is required" }
                return given.count > 1 ? "only one of \(given.joined(separator: ", ")) may be given" : nil
            },
        ], repeatable: true),
        KickstartCommandSpec(name: "eula", options: [flag("--agreed", "--agree", "--accepted", "--accept")],
                             rules: [KickstartRule { $0.given("--agreed") ? nil : "needs --agreed" }]),
        KickstartCommandSpec(name: "fcoe", options: [text("--nic").isRequired(), flag("--dcb"), flag("--autovlan")],
                             repeatable: true, identity: { $0.text("--nic") ?? "" }, identityNoun: "FCoE device on the NIC"),
        KickstartCommandSpec(name: "firewall", options: [
            flag("--disable", "--disabled"), flag("--enable", "--enabled"), list("--port"), text("--trust"), list("--service"),
            flag("--ftp"), flag("--http"), flag("--smtp"), flag("--ssh"), list("--remove-service"), flag("--use-system-defaults"),
        ]),
        KickstartCommandSpec(name: "firstboot", options: [flag("--disable", "--disabled"), flag("--enable", "--enabled"), flag("--reconfig")]),
        displayMode("graphical"),
        KickstartCommandSpec(name: "group", options: [text("--name").isRequired(), int("--gid")],
                             repeatable: true, identity: { $0.text("--name") ?? "" }, identityNoun: "group named"),
        reboot("halt"),
        KickstartCommandSpec(name: "harddrive", options: [text("--dir").isRequired(), text("--partition").isRequired()]),
        KickstartCommandSpec(name: "hmc"),
        KickstartCommandSpec(name: "ignoredisk", options: [list("--drives"), list("--only-use")], rules: [.exactlyOne("--drives", "--only-use")]),
        KickstartCommandSpec(name: "iscsi", options: [
            text("--target"), text("--ipaddr").isRequired(), int("--port"), text("--user"), text("--password"),
            text("--reverse-user"), text("--reverse-password"), text("--iface"),
        ], repeatable: true),
        KickstartCommandSpec(name: "iscsiname", positionals: .init(min: 1, max: 1, what: "the initiator name (an IQN)")),
        KickstartCommandSpec(name: "keyboard", options: [text("--vckeymap"), list("--xlayouts"), list("--switch")],
                             positionals: .init(min: 0, max: 1, what: "a keyboard layout"), rules: [
            KickstartRule { invocation in
                invocation.positionals.isEmpty && !invocation.given("--vckeymap") && !invocation.given("--xlayouts")
                    ? "needs a layout: keyboard us, or --vckeymap=… or --xlayouts=…" : nil
            },
        ]),
        KickstartCommandSpec(name: "lang", options: [list("--addsupport")], positionals: .init(min: 1, max: 1, what: "a language, e.g. en_US.UTF-8")),
        KickstartCommandSpec(name: "liveimg", options: [text("--url").isRequired(), text("--proxy"), flag("--noverifyssl"), text("--checksum")]),
        KickstartCommandSpec(name: "logging", options: [text("--host"), text("--port")], rules: [.requires("--port", "--host")]),
        KickstartCommandSpec(name: "logvol", options: luks + [
            text("--fstype"), flag("--grow"), int("--maxsize"), text("--name").isRequired(), flag("--noformat"), int("--percent"),
            flag("--recommended"), int("--size"), flag("--useexisting"), text("--vgname").isRequired(), text("--fsoptions"),
            text("--fsprofile"), text("--label"), flag("--resize"), flag("--hibernation"), flag("--thinpool"), flag("--thin"),
            text("--poolname"), int("--chunksize"), int("--metadatasize"), text("--profile"), int("--cachesize"), text("--cachemode"),
            list("--cachepvs"), text("--mkfsoptions"),
        ], positionals: .init(min: 1, max: 1, what: "a mount point (or swap, none)"), rules: formatOptions + [
            pbkdf,
            KickstartRule { invocation in
                guard invocation.given("--cachesize") || invocation.given("--cachemode") || invocation.given("--cachepvs") else { return nil }
                if isPreexisting(invocation) { return "a cache cannot be added to an existing logical volume" }
                if invocation.given("--thin") { return "thin volumes cannot be cached" }
                if !invocation.given("--cachepvs") { return "a cache needs --cachepvs (the fast physical volumes)" }
                if !invocation.given("--cachesize") { return "a cache needs --cachesize" }
                if let mode = invocation.text("--cachemode"), !mode.isEmpty, mode != "writeback", mode != "writethrough" {
                    return "--cachemode must be writeback or writethrough, found \(mode)"
                }
                return nil
            },
            .atMostOne("--size", "--percent"), .atMostOne("--thin", "--thinpool"), .requires("--thin", "--poolname"),
            KickstartRule { ($0.given("--chunksize") || $0.given("--metadatasize")) && !$0.given("--thinpool") ? "--chunksize and --metadatasize are for thin pools (--thinpool) only" : nil },
            KickstartRule { invocation in
                isPreexisting(invocation) || ["--percent", "--size", "--recommended", "--hibernation"].contains(where: invocation.given)
                    ? nil : "no size given: use one of --size, --percent, --recommended, --hibernation, --useexisting or --noformat"
            },
            KickstartRule { invocation in
                guard invocation.present("--percent"), let percent = invocation.integer("--percent"), !(0...100).contains(percent) else { return nil }
                return "--percent must be between 0 and 100, found \(percent)"
            },
            KickstartRule { $0.given("--resize") && !isPreexisting($0) ? "--resize needs --useexisting" : nil },
            .requires("--resize", "--size"),
        ], repeatable: true, identity: { "\($0.text("--vgname") ?? "")/\($0.text("--name") ?? "")" }, identityNoun: "logical volume"),
        KickstartCommandSpec(name: "mediacheck"),
        KickstartCommandSpec(name: "mount", options: [optional("--reformat"), text("--mkfsoptions"), text("--mountoptions")],
                             positionals: .init(min: 2, max: 2, what: "a device and a mount point"), rules: [
            KickstartRule { invocation in
                let point = invocation.positionals[1]
                return point.lowercased() != "none" && !point.hasPrefix("/") ? "the mount point \(point) is not an absolute path (or none)" : nil
            },
            KickstartRule { !$0.present("--reformat") && $0.given("--mkfsoptions") ? "--mkfsoptions requires --reformat" : nil },
        ], repeatable: true),
        KickstartCommandSpec(name: "network", options: [
            choice("--bootproto", ["dhcp", "bootp", "static", "query", "ibft"]), text("--dhcpclass"), text("--device"), text("--essid"),
            text("--ethtool"), text("--gateway"), text("--hostname"), text("--ip"), text("--mtu"), text("--nameserver"), text("--netmask"),
            flag("--nodns"), bool("--onboot"), text("--wepkey"), flag("--notksdevice"), flag("--noipv4"), flag("--noipv6"), text("--ipv6"),
            flag("--activate"), flag("--nodefroute"), text("--wpakey"), text("--bondslaves"), text("--bondopts"), text("--vlanid"),
            text("--ipv6gateway"), text("--teamslaves"), text("--teamconfig"), text("--interfacename"), text("--bridgeslaves"),
            text("--bridgeopts"), flag("--no-activate"), choice("--bindto", ["mac"]), text("--ipv4-dns-search"), text("--ipv6-dns-search"),
            flag("--ipv4-ignore-auto-dns"), flag("--ipv6-ignore-auto-dns"),
        ], rules: [
            .requires("--bridgeopts", "--bridgeslaves"),
            KickstartRule { invocation in
                guard let options = invocation.text("--bridgeopts"), !options.isEmpty else { return nil }
                let malformed = options.split(separator: ",", omittingEmptySubsequences: false).contains { item in
                    let value = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).dropFirst().first ?? ""
                    return value.isEmpty || value.contains("=")
                }
                return malformed ? "--bridgeopts takes key=value pairs separated by commas" : nil
            },
            KickstartRule { invocation in
                invocation.text("--bindto") == "mac" && invocation.given("--vlanid") && !invocation.given("--bondopts")
                    ? "--bindto=mac is not supported for a VLAN device" : nil
            },
            KickstartRule { invocation in
                guard !invocation.given("--device") else { return nil }
                let needing = ["--ipv4-dns-search", "--ipv6-dns-search", "--ipv4-ignore-auto-dns", "--ipv6-ignore-auto-dns"].filter(invocation.given)
                return needing.isEmpty ? nil : "\(needing.joined(separator: ", ")) requires --device"
            },
        ], repeatable: true, identity: { $0.text("--device") ?? "" }, identityNoun: "network device"),
        KickstartCommandSpec(name: "nfs", options: [text("--server").isRequired(), text("--dir").isRequired(), text("--opts")]),
        KickstartCommandSpec(name: "ostreecontainer", options: [
            text("--stateroot"), text("--url").isRequired(), text("--transport"), text("--remote"), flag("--no-signature-verification"),
        ]),
        KickstartCommandSpec(name: "ostreesetup", options: [
            text("--osname").isRequired(), text("--remote"), text("--url").isRequired(), text("--ref").isRequired(), flag("--nogpg"),
        ], rules: [
            KickstartRule { invocation in
                let url = invocation.text("--url") ?? ""
                return ["file:", "http:", "https:"].contains(where: url.hasPrefix) ? nil : "--url must be a file:, http: or https: URL"
            },
        ]),
        KickstartCommandSpec(name: "part", options: luks + [
            flag("--asprimary"), text("--fstype", "--type"), flag("--grow"), int("--maxsize"), flag("--noformat"), text("--onbiosdisk"),
            text("--ondisk", "--ondrive"), text("--onpart", "--usepart"), flag("--recommended"), int("--size"), text("--fsoptions"),
            text("--label"), text("--fsprofile"), flag("--resize"), flag("--hibernation"), text("--mkfsoptions"), text("--hw-passphrase"),
        ], positionals: .init(min: 1, max: 1, what: "a mount point (or swap, pv.<id>, raid.<id>, biosboot, none)"), rules: formatOptions + [
            hwPassphrase, pbkdf,
            KickstartRule { $0.text("--fstype") == "tmpfs" && ($0.given("--grow") || $0.given("--maxsize")) ? "--fstype=tmpfs cannot be used with --grow or --maxsize" : nil },
            KickstartRule { $0.given("--resize") && !onPartition($0) ? "--resize requires --onpart" : nil },
            .requires("--resize", "--size"),
        ], repeatable: true, identity: { invocation in
            // Several swap partitions are fine; other mount points are used once.
            invocation.positionals.first.flatMap { $0 == "swap" ? nil : normalisedMountPoint($0) }
        }, identityNoun: "partition with the mount point"),
        reboot("poweroff"),
        KickstartCommandSpec(name: "raid", options: luks + [
            text("--device").isRequired(), text("--fstype"), choice("--level", raidLevels, caseInsensitive: true), flag("--noformat"),
            int("--spares"), flag("--useexisting"), text("--fsoptions"), text("--fsprofile"), text("--label"), text("--mkfsoptions"),
            int("--chunksize"),
        ], positionals: .init(min: 1, max: nil, what: "a mount point, then the member partitions"), rules: [
            KickstartRule { invocation in
                let hasMembers = invocation.positionals.count > 1
                if isPreexisting(invocation) { return hasMembers ? "members cannot be given for an existing RAID device (--useexisting, --noformat)" : nil }
                return hasMembers ? nil : "needs the member partitions after the mount point"
            },
        ] + formatOptions + [
            pbkdf,
            KickstartRule { !isPreexisting($0) && !$0.given("--level") ? "a new RAID device needs --level" : nil },
            KickstartRule { isPreexisting($0) && !$0.given("--device") ? "an existing RAID device needs --device" : nil },
        ], repeatable: true, identity: { $0.text("--device") ?? "" }, identityNoun: "RAID device"),
        KickstartCommandSpec(name: "rdp", options: [text("--username"), text("--password")]),
        KickstartCommandSpec(name: "realm", reading: .realm),
        reboot("reboot"),
        KickstartCommandSpec(name: "repo", options: [
            text("--name").isRequired(), text("--baseurl"), text("--mirrorlist"), int("--cost"), list("--excludepkgs"), list("--includepkgs"),
            text("--proxy"), flag("--noverifyssl"), flag("--install"), text("--metalink"), text("--sslcacert"), text("--sslclientcert"),
            text("--sslclientkey"),
        ], rules: [.atMostOne("--mirrorlist", "--baseurl", "--metalink")],
           repeatable: true, identity: { $0.text("--name") ?? "" }, identityNoun: "repository named"),
        KickstartCommandSpec(name: "reqpart", options: [flag("--add-boot")]),
        KickstartCommandSpec(name: "rescue", options: [flag("--nomount"), flag("--romount")], rules: [.atMostOne("--nomount", "--romount")]),
        KickstartCommandSpec(name: "rootpw", options: [flag("--iscrypted"), flag("--lock"), flag("--plaintext"), flag("--allow-ssh")],
                             positionals: .init(min: 0, max: 1, what: "the password"), rules: [
            KickstartRule { invocation in
                (invocation.positionals.first ?? "").isEmpty && !invocation.given("--lock") ? "needs a password (or --lock)" : nil
            },
        ]),
        KickstartCommandSpec(name: "selinux", options: [flag("--disabled"), flag("--enforcing"), flag("--permissive")]),
        KickstartCommandSpec(name: "services", options: [list("--disabled"), list("--enabled")], rules: [
            KickstartRule { $0.given("--disabled") || $0.given("--enabled") ? nil : "needs --enabled or --disabled" },
        ]),
        reboot("shutdown"),
        KickstartCommandSpec(name: "skipx"),
        KickstartCommandSpec(name: "snapshot", options: [
            text("--name").isRequired(), choice("--when", ["pre-install", "post-install"], caseInsensitive: true).isRequired(),
        ], positionals: .init(min: 1, max: 1, what: "the origin, as VG/LV"), rules: [
            KickstartRule { invocation in
                let parts = invocation.positionals[0].split(separator: "/", omittingEmptySubsequences: false)
                return parts.count == 2 && !parts[0].isEmpty && !parts[1].isEmpty ? nil : "the origin \(invocation.positionals[0]) must be VG/LV"
            },
        ], repeatable: true, identity: { $0.text("--name") ?? "" }, identityNoun: "snapshot named"),
        KickstartCommandSpec(name: "sshkey", options: [text("--username").isRequired()],
                             positionals: .init(min: 1, max: 1, what: "the public key (quoted)"),
                             repeatable: true, identity: { $0.text("--username") ?? "" }, identityNoun: "ssh key for the user"),
        KickstartCommandSpec(name: "sshpw", options: [
            text("--username").isRequired(), flag("--iscrypted"), flag("--plaintext"), flag("--lock"), flag("--sshkey"),
        ], positionals: .init(min: 1, max: nil, what: "the password", oneRun: true),
           repeatable: true, identity: { $0.text("--username") ?? "" }, identityNoun: "installer ssh user named"),
        displayMode("text"),
        KickstartCommandSpec(name: "timesource", options: [text("--ntp-server"), text("--ntp-pool"), flag("--ntp-disable"), flag("--nts")],
                             rules: [.exactlyOne("--ntp-server", "--ntp-pool", "--ntp-disable")], repeatable: true),
        KickstartCommandSpec(name: "timezone", options: [
            flag("--utc"), flag("--isUtc").deprecated("use --utc"), flag("--nontp").deprecated("use timesource --ntp-disable"),
            list("--ntpservers").deprecated("use one timesource --ntp-server=… line per server"),
        ], positionals: .init(min: 0, max: 1, what: "a time zone, e.g. Europe/Berlin"), rules: [
            KickstartRule { $0.positionals.isEmpty && $0.order.isEmpty ? "needs a time zone (e.g. timezone Europe/Berlin) or an option such as --utc" : nil },
        ]),
        KickstartCommandSpec(name: "updates", positionals: .init(min: 1, max: 1, what: "the URL of an updates image")),
        KickstartCommandSpec(name: "url", options: [
            text("--url"), text("--mirrorlist"), text("--metalink"), text("--proxy"), flag("--noverifyssl"), text("--sslcacert"),
            text("--sslclientcert"), text("--sslclientkey"),
        ], rules: [.exactlyOne("--url", "--mirrorlist", "--metalink")]),
        KickstartCommandSpec(name: "user", options: [
            text("--homedir"), flag("--iscrypted"), text("--name").isRequired(), text("--password"), text("--shell"), int("--uid"),
            flag("--lock"), flag("--plaintext"), text("--gecos"), int("--gid"), list("--groups"),
        ], repeatable: true, identity: { $0.text("--name") ?? "" }, identityNoun: "user named"),
        KickstartCommandSpec(name: "volgroup", options: [
            flag("--noformat"), flag("--useexisting"), int("--reserved-space"), int("--reserved-percent"), int("--pesize"),
        ], positionals: .init(min: 1, max: nil, what: "a volume group name, then its physical volumes"), unknownOptions: .takenAsArgument, rules: [
            KickstartRule { invocation in
                let hasMembers = invocation.positionals.count > 1
                if isPreexisting(invocation) { return hasMembers ? "physical volumes cannot be given for an existing volume group (--useexisting, --noformat)" : nil }
                return hasMembers ? nil : "needs the physical volumes after the name"
            },
            KickstartRule { ($0.integer("--reserved-space") ?? 0) < 0 ? "--reserved-space cannot be negative" : nil },
            KickstartRule { invocation in
                guard invocation.present("--reserved-percent"), let percent = invocation.integer("--reserved-percent"), !(1...99).contains(percent) else { return nil }
                return "--reserved-percent must be between 1 and 99, found \(percent)"
            },
        ], repeatable: true, identity: { $0.positionals.first }, identityNoun: "volume group named"),
        KickstartCommandSpec(name: "xconfig", options: [text("--defaultdesktop"), flag("--startxonboot")]),
        KickstartCommandSpec(name: "zerombr"),
        KickstartCommandSpec(name: "zfcp", options: [text("--devnum").isRequired(), text("--wwpn"), text("--fcplun")], rules: [
            KickstartRule { $0.given("--wwpn") == $0.given("--fcplun") ? nil : "give --wwpn and --fcplun together, or neither" },
        ], repeatable: true, identity: { "\($0.text("--devnum") ?? "") \($0.text("--wwpn") ?? "") \($0.text("--fcplun") ?? "")" }, identityNoun: "zFCP device"),
        KickstartCommandSpec(name: "zipl", options: [flag("--secure-boot"), flag("--force-secure-boot"), flag("--no-secure-boot")]),
    ]

    private static let btrfsLevels = ["raid0", "0", "raid1", "1", "raid10", "10", "single"]
    private static let raidLevels = ["RAID0", "0", "RAID1", "1", "RAID4", "4", "RAID5", "5", "RAID6", "6", "RAID10", "10"]

    private static func displayMode(_ name: String) -> KickstartCommandSpec {
        KickstartCommandSpec(name: name, options: [flag("--non-interactive")], rules: name == "cmdline"
            ? [KickstartRule { $0.given("--non-interactive") ? "cmdline does not take --non-interactive (it never asks)" : nil }] : [])
    }

    private static func reboot(_ name: String) -> KickstartCommandSpec {
        KickstartCommandSpec(name: name, options: [flag("--eject"), flag("--kexec")])
    }

    /// Uses an existing device instead of creating one (pykickstart's `preexist`).
    private static func isPreexisting(_ invocation: KickstartInvocation) -> Bool {
        invocation.given("--useexisting") || invocation.given("--noformat")
    }

    /// `--onpart` as pykickstart keeps it: without a leading /dev/.
    private static func onPartition(_ invocation: KickstartInvocation) -> Bool {
        guard let value = invocation.text("--onpart") else { return false }
        return !(value.hasPrefix("/dev/") ? String(value.dropFirst(5)) : value).isEmpty
    }

    /// A mount point as pykickstart compares them (`os.path.normpath` for absolute paths).
    static func normalisedMountPoint(_ point: String) -> String {
        guard point.hasPrefix("/") else { return point }
        var parts: [Substring] = []
        for part in point.split(separator: "/") where part != "." {
            if part == "..", !parts.isEmpty { parts.removeLast() } else if part != ".." { parts.append(part) }
        }
        let root = point.hasPrefix("//") && !point.hasPrefix("///") ? "//" : "/"
        return root + parts.joined(separator: "/")
    }

    // MARK: - Table helpers

    private static func flag(_ names: String...) -> KickstartOption { KickstartOption(names: names, kind: .flag) }
    private static func text(_ names: String...) -> KickstartOption { KickstartOption(names: names, kind: .text) }
    private static func list(_ names: String...) -> KickstartOption { KickstartOption(names: names, kind: .list) }
    private static func int(_ names: String...) -> KickstartOption { KickstartOption(names: names, kind: .integer) }
    private static func bool(_ names: String...) -> KickstartOption { KickstartOption(names: names, kind: .boolean) }
    private static func optional(_ names: String...) -> KickstartOption { KickstartOption(names: names, kind: .optionalValue) }
    private static func choice(_ name: String, _ values: [String], caseInsensitive: Bool = false) -> KickstartOption {
        KickstartOption(names: [name], kind: .choice(values, caseInsensitive: caseInsensitive))
    }
}
