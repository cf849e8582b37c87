/// What each Ignition config spec version (3.0.0 … 3.6.0) allows: for every object, its keys,
/// their JSON types and which are required.
///
/// Written from the spec documents (coreos.github.io/ignition/configuration-v3_N) as a base
/// (3.0.0) plus each version's additions, so a reader can follow the spec's changelog. Object
/// names follow the upstream schema's definition paths (`storage/disk`); objects declared inline
/// there are named `parent.key` (`storage/node.user`) and inline array items `parent[]`.
/// RenderersTests compares these tables with the upstream JSON schemas, key for key.
struct IgnitionSpec: Sendable {
    indirect enum FieldType: Sendable, Hashable, CustomStringConvertible {
        case string, integer, boolean
        /// An object described by the named definition.
        case object(String)
        case array(FieldType)
        /// The type, or JSON null (Ignition treats null as absent).
        case nullable(FieldType)

        /// Compact form also used by the schema test: `string?`, `array<object:storage/disk>`.
        var description: String {
            switch self {
            case .string: "string"
            case .integer: "integer"
            case .boolean: "boolean"
            case .object(let name): "object:\(name)"
            case .array(let item): "array<\(item)>"
            case .nullable(.object(let name)): "object?:\(name)"
            case .nullable(let inner): "\(inner)?"
            }
        }
    }

    struct Definition: Sendable {
        var fields: [(name: String, type: FieldType)]
        var required: [String]

        func type(of key: String) -> FieldType? { fields.first { $0.name == key }?.type }

        mutating func set(_ name: String, _ type: FieldType) {
            if let index = fields.firstIndex(where: { $0.name == name }) {
                fields[index].type = type
            } else {
                fields.append((name, type))
            }
        }
    }

    struct Version: Sendable, Hashable, Comparable, CustomStringConvertible {
        var major: Int, minor: Int, patch: Int
        var description: String { "\(major).\(minor).\(patch)" }
        static func < (a: Version, b: Version) -> Bool { (a.major, a.minor, a.patch) < (b.major, b.minor, b.patch) }

        /// `3.4.0` exactly: digits only, no pre-release or build suffix.
        init?(_ text: String) {
            let parts = text.split(separator: ".", omittingEmptySubsequences: false)
            guard parts.count == 3,
                  parts.allSatisfy({ !$0.isEmpty && $0.count <= 6 && $0.allSatisfy { $0.isASCII && $0.isNumber } }),
                  let major = Int(parts[0]), let minor = Int(parts[1]), let patch = Int(parts[2])
            else { return nil }
            self.init(major: major, minor: minor, patch: patch)
        }

        init(major: Int, minor: Int, patch: Int) {
            self.major = major
            self.minor = minor
            self.patch = patch
        }
    }

    let version: Version
    let definitions: [String: Definition]
    /// Source URL schemes this version accepts (kept, not rebuilt: every source is checked).
    let sourceSchemes: Set<String>

    init(version: Version, definitions: [String: Definition]) {
        self.version = version
        self.definitions = definitions
        var schemes: Set<String> = ["http", "https", "tftp", "s3", "data"]
        if version >= Version(major: 3, minor: 2, patch: 0) { schemes.insert("gs") }
        if version >= Version(major: 3, minor: 4, patch: 0) { schemes.insert("arn") }
        sourceSchemes = schemes
    }

    /// Hash functions accepted in `verification.hash` (3.0.0 knows only sha512).
    var hashFunctions: [String: Int] {
        version.minor == 0 ? ["sha512": 128] : ["sha512": 128, "sha256": 64]
    }

    static let supportedVersions: [Version] = (0...6).map { Version(major: 3, minor: $0, patch: 0) }

    static func forVersion(_ version: Version) -> IgnitionSpec? {
        all.first { $0.version == version }
    }

    static let all: [IgnitionSpec] = {
        var specs: [IgnitionSpec] = []
        var defs = v3_0
        specs.append(IgnitionSpec(version: Version(major: 3, minor: 0, patch: 0), definitions: defs))
        for (minor, change) in [(1, to3_1), (2, to3_2), (3, to3_3), (4, to3_4), (5, to3_5), (6, to3_6)] {
            change(&defs)
            specs.append(IgnitionSpec(version: Version(major: 3, minor: minor, patch: 0), definitions: defs))
        }
        return specs
    }()

    // MARK: - Tables

    private static let str = FieldType.string
    private static let strN = FieldType.nullable(.string)
    private static let int = FieldType.integer
    private static let intN = FieldType.nullable(.integer)
    private static let boolN = FieldType.nullable(.boolean)
    private static func ref(_ name: String) -> FieldType { .object(name) }
    private static func list(_ item: FieldType) -> FieldType { .array(item) }
    private static func def(_ fields: KeyValuePairs<String, FieldType>, required: [String] = []) -> Definition {
        Definition(fields: fields.map { ($0.key, $0.value) }, required: required)
    }

    /// Fields every storage node (file, directory, link) has.
    private static let nodeFields: KeyValuePairs<String, FieldType> = [
        "path": str, "overwrite": boolN, "user": ref("storage/node.user"), "group": ref("storage/node.group"),
    ]

    private static func node(_ extra: KeyValuePairs<String, FieldType>, required: [String] = []) -> Definition {
        Definition(fields: nodeFields.map { ($0.key, $0.value) } + extra.map { ($0.key, $0.value) }, required: ["path"] + required)
    }

    private static let v3_0: [String: Definition] = [
        "": def(["ignition": ref("ignition"), "storage": ref("storage"), "systemd": ref("systemd"), "passwd": ref("passwd")], required: ["ignition"]),
        "verification": def(["hash": strN]),
        "ignition": def(["version": str, "config": ref("ignition/ignition-config"), "timeouts": ref("ignition/timeouts"), "security": ref("ignition/security")]),
        "ignition/ignition-config": def(["merge": list(ref("ignition/config-reference")), "replace": ref("ignition/config-reference")]),
        "ignition/security": def(["tls": ref("ignition/security.tls")]),
        "ignition/security.tls": def(["certificateAuthorities": list(.nullable(ref("ignition/ca-reference")))]),
        "ignition/config-reference": def(["source": strN, "verification": ref("verification")], required: ["source"]),
        "ignition/ca-reference": def(["source": str, "verification": ref("verification")], required: ["source"]),
        "ignition/timeouts": def(["httpResponseHeaders": intN, "httpTotal": intN]),
        "storage": def([
            "disks": list(ref("storage/disk")), "raid": list(ref("storage/raid")), "filesystems": list(ref("storage/filesystem")),
            "files": list(ref("storage/file")), "directories": list(ref("storage/directory")), "links": list(ref("storage/link")),
        ]),
        "storage/disk": def(["device": str, "wipeTable": boolN, "partitions": list(ref("storage/partition"))], required: ["device"]),
        "storage/raid": def(["name": str, "level": str, "spares": intN, "devices": list(str), "options": list(str)], required: ["name", "level", "devices"]),
        "storage/filesystem": def([
            "path": strN, "device": str, "format": strN, "options": list(str), "wipeFilesystem": boolN, "label": strN, "uuid": strN,
        ], required: ["device"]),
        "storage/file": node(["mode": intN, "contents": ref("storage/file-contents"), "append": list(ref("storage/file-contents"))]),
        "storage/directory": node(["mode": intN]),
        "storage/link": node(["target": str, "hard": boolN], required: ["target"]),
        "storage/partition": def([
            "label": strN, "number": int, "sizeMiB": intN, "startMiB": intN, "typeGuid": strN, "guid": strN,
            "wipePartitionEntry": boolN, "shouldExist": boolN,
        ]),
        "storage/file-contents": def(["compression": strN, "source": strN, "verification": ref("verification")]),
        "storage/node": node([:]),
        "storage/node.user": def(["id": intN, "name": strN]),
        "storage/node.group": def(["id": intN, "name": strN]),
        "systemd": def(["units": list(ref("systemd/unit"))]),
        "systemd/unit": def(["name": str, "enabled": boolN, "mask": boolN, "contents": strN, "dropins": list(ref("systemd/dropin"))], required: ["name"]),
        "systemd/dropin": def(["name": str, "contents": strN], required: ["name"]),
        "passwd": def(["users": list(ref("passwd/user")), "groups": list(ref("passwd/group"))]),
        "passwd/user": def([
            "name": str, "passwordHash": strN, "sshAuthorizedKeys": list(str), "uid": intN, "gecos": strN, "homeDir": strN,
            "noCreateHome": boolN, "primaryGroup": strN, "groups": list(str), "noUserGroup": boolN, "system": boolN,
            "noLogInit": boolN, "shell": strN,
        ], required: ["name"]),
        "passwd/group": def(["name": str, "gid": intN, "passwordHash": strN, "system": boolN], required: ["name"]),
    ]

    /// 3.1.0: one `resource` type for every fetched thing (with HTTP headers), proxies, mount options.
    private static func to3_1(_ d: inout [String: Definition]) {
        d["resource"] = def(["source": strN, "compression": strN, "httpHeaders": list(ref("httpHeaders[]")), "verification": ref("verification")])
        d["httpHeaders[]"] = def(["name": str, "value": strN], required: ["name"])
        d["ignition"]?.set("proxy", ref("ignition/proxy"))
        d["ignition/proxy"] = def(["httpProxy": strN, "httpsProxy": strN, "noProxy": list(strN)])
        d["ignition/ignition-config"] = def(["merge": list(ref("resource")), "replace": ref("resource")])
        d["ignition/security.tls"] = def(["certificateAuthorities": list(ref("resource"))])
        d["ignition/config-reference"] = nil
        d["ignition/ca-reference"] = nil
        d["storage/file-contents"] = nil
        d["storage/filesystem"]?.set("mountOptions", list(str))
        d["storage/file"]?.set("contents", ref("resource"))
        d["storage/file"]?.set("append", list(ref("resource")))
    }

    /// 3.2.0: LUKS volumes, partition resize, `shouldExist` for users and groups.
    private static func to3_2(_ d: inout [String: Definition]) {
        d["storage"]?.set("luks", list(ref("storage/luks")))
        d["storage/luks"] = def([
            "name": str, "label": strN, "uuid": strN, "device": strN, "keyFile": ref("resource"), "wipeVolume": boolN,
            "clevis": .nullable(ref("storage/luks.clevis")), "options": list(str),
        ], required: ["name"])
        d["storage/luks.clevis"] = def([
            "custom": .nullable(ref("storage/luks.clevis.custom")), "tpm2": boolN, "tang": list(ref("storage/tang")), "threshold": intN,
        ])
        d["storage/luks.clevis.custom"] = def(["pin": str, "config": str, "needsNetwork": boolN], required: ["pin", "config"])
        d["storage/tang"] = def(["url": str, "thumbprint": strN])
        d["storage/partition"]?.set("resize", boolN)
        d["passwd/user"]?.set("shouldExist", boolN)
        d["passwd/group"]?.set("shouldExist", boolN)
    }

    /// 3.3.0: kernel arguments, clevis as named types, optional RAID level and link target.
    private static func to3_3(_ d: inout [String: Definition]) {
        d[""]?.set("kernelArguments", ref("kernelArguments"))
        d["kernelArguments"] = def(["shouldExist": list(str), "shouldNotExist": list(str)])
        d["storage/raid"]?.set("level", strN)
        d["storage/raid"]?.required = ["name"]
        d["storage/luks"]?.set("clevis", ref("storage/clevis"))
        d["storage/luks.clevis"] = nil
        d["storage/luks.clevis.custom"] = nil
        d["storage/clevis"] = def(["custom": ref("storage/clevisCustom"), "tpm2": boolN, "tang": list(ref("storage/tang")), "threshold": intN])
        d["storage/clevisCustom"] = def(["pin": strN, "config": strN, "needsNetwork": boolN])
        d["storage/link"]?.set("target", strN)
        d["storage/link"]?.required = ["path"]
    }

    /// 3.4.0: `ignition.version` required, LUKS discard and open options, tang advertisements.
    private static func to3_4(_ d: inout [String: Definition]) {
        d["ignition"]?.required = ["version"]
        d["ignition/proxy"]?.set("noProxy", list(str))
        d["storage/luks"]?.set("discard", boolN)
        d["storage/luks"]?.set("openOptions", list(str))
        d["storage/tang"]?.set("advertisement", strN)
    }

    /// 3.5.0: IBM CEX secure keys for LUKS.
    private static func to3_5(_ d: inout [String: Definition]) {
        d["storage/luks"]?.set("cex", ref("storage/cex"))
        d["storage/cex"] = def(["enabled": boolN])
    }

    /// 3.6.0: no structural change from 3.5.0 in the upstream schema.
    private static func to3_6(_ d: inout [String: Definition]) {}
}
