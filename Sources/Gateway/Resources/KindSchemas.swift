import Renderers

/// The three boot resources in mkube's exact JSON keys (reference: mkube-boot-api.md §1),
/// plus bootgate's additions, each marked "bootgate:" in its description.
public enum KindSchemas {
    static let objectMeta = ObjectSchema([
        Field("name", .string, .omitEmpty),
        Field("generateName", .string),
        Field("namespace", .string),
        Field("selfLink", .string),
        Field("uid", .string, .omitEmpty, "bootgate: set on create, never changes"),
        Field("resourceVersion", .string, .omitEmpty, "bootgate: store-wide revision of the last write"),
        Field("generation", .int, .omitEmpty, "bootgate: incremented on every spec change"),
        Field("creationTimestamp", .string, .always, "RFC 3339, UTC, second precision"),
        Field("deletionTimestamp", .string),
        Field("deletionGracePeriodSeconds", .int),
        Field("labels", .map(.string)),
        Field("annotations", .map(.string)),
        Field("ownerReferences", .array(.any)),
        Field("finalizers", .array(.string)),
        Field("managedFields", .array(.any)),
    ])

    static let bmc = ObjectSchema([
        Field("address", .string, .omitEmpty, "IPMI address"),
        Field("mac", .string),
        Field("hostname", .string),
        Field("network", .string),
        Field("username", .string),
        Field("password", .string, .omitEmpty, "Secret: returned only with ?includeSecrets=true"),
        Field("disableCertificateVerification", .bool, .omitEmpty, "bootgate: Redfish over HTTPS accepts the BMC's certificate unchecked (as Metal3)"),
    ])

    static let nicSpec = ObjectSchema([
        Field("mac", .string, .always),
        Field("ip", .string),
        Field("role", .string, .always),
        Field("network", .string),
        Field("hostname", .string),
    ])

    static let hostSpec = ObjectSchema([
        Field("bmc", .object(bmc), .always),
        Field("bootMACAddress", .string, .always, "MAC of the PXE NIC"),
        Field("online", .bool, .omitNull, "Desired power state"),
        Field("image", .string, .omitEmpty, "ISCSICdrom name, \"localboot\" or empty"),
        Field("network", .string),
        Field("ip", .string, .omitEmpty, "Static IP; the key for source-IP config lookups"),
        Field("hostname", .string),
        Field("nextServer", .string),
        Field("bootFile", .string),
        Field("bootFileEfi", .string),
        Field("bootConfigRef", .string, .omitEmpty, "BootConfig name served to this host"),
        Field("disk", .string),
        Field("bootMode", .string),
        Field("template", .string),
        Field("ignition", .any, .ifPresent),
        Field("kickstart", .string),
        Field("nics", .array(.object(nicSpec))),
        Field("localBoot", .string(allowed: LocalBootMethod.allCases.map(\.rawValue)), .omitEmpty,
              "bootgate: how iPXE boots the local disk (exit, exit1, sanboot-disk); default is the server's --local-boot"),
        Field("firmware", .string(allowed: ["uefi", "bios"]), .omitEmpty,
              "bootgate: uefi or bios; the mode of the one-shot network boot set before powering into an install image"),
    ])

    static let hardware = ObjectSchema([
        Field("manufacturer", .string), Field("productName", .string), Field("serialNumber", .string),
        Field("biosVersion", .string), Field("cpuModel", .string), Field("cpuCount", .int),
        Field("totalMemoryGB", .number), Field("diskInfo", .string), Field("lastInventory", .string),
    ])

    static let nicInfo = ObjectSchema([
        Field("mac", .string, .always), Field("network", .string), Field("ip", .string),
    ])

    static let hostStatus = ObjectSchema([
        Field("phase", .string, .always),
        Field("poweredOn", .bool, .always),
        Field("ip", .string),
        Field("lastBoot", .string, .omitEmpty, "RFC 3339 time of the last iPXE script served"),
        Field("bootCount", .int, .omitEmpty, "iPXE scripts served to this host"),
        Field("errorMessage", .string),
        Field("availableImages", .array(.string)),
        Field("hardware", .object(hardware), .omitNull),
        Field("networkInterfaces", .map(.object(nicInfo))),
        Field("state", .string),
        Field("lastStateChange", .string),
        Field("operatorVersion", .string),
        Field("serialActive", .bool),
        Field("ipmiReachable", .bool),
        Field("conditions", .array(.object(condition)), .omitEmpty, "bootgate: BMCConnected (whether the last BMC call went through, and why not)"),
    ])

    static let condition = ObjectSchema([
        Field("type", .string, .always), Field("status", .string, .always), Field("reason", .string),
        Field("message", .string), Field("lastTransitionTime", .string),
    ])

    static let bootConfigSpec = ObjectSchema([
        Field("format", .string, .always, "ignition, kickstart, cloud-init, custom, or a plugin's format"),
        Field("description", .string),
        Field("data", .map(.string), .always, "file name → content; may use {{…}} template variables"),
    ])

    static let bootConfigStatus = ObjectSchema([
        Field("phase", .string, .always),
        Field("assignedTo", .array(.string), .omitEmpty, "Names of hosts referencing this config (kept by bootgate)"),
    ])

    static let cdromSpec = ObjectSchema([
        Field("isoFile", .string, .always),
        Field("description", .string),
        Field("version", .string),
        Field("readOnly", .bool, .always),
        Field("bootConfigs", .array(.string), .omitEmpty, "BootConfig names compatible with this ISO"),
        Field("derivedFrom", .string),
    ])

    static let subscriber = ObjectSchema([
        Field("name", .string, .always), Field("initiatorIQN", .string), Field("since", .string, .always),
    ])

    static let bootEntry = ObjectSchema([
        Field("platform", .string, .always, "bios, efi, ppc, mac or 0xNN (El Torito platform id)"),
        Field("emulation", .string, .always, "none, floppy-1.2, floppy-1.44, floppy-2.88 or hdd"),
        Field("bootable", .bool, .always),
    ])

    static let cdromStatus = ObjectSchema([
        Field("phase", .string, .always, "Pending (no file), Uploading, Ready, Error (see message)"),
        Field("isoPath", .string, .always),
        Field("isoSize", .int),
        Field("sha256", .string, .omitEmpty, "bootgate: SHA-256 (hex) of the file in place"),
        Field("uploadedAt", .string, .omitEmpty, "bootgate: when the file in place was stored (RFC 3339, milliseconds)"),
        Field("message", .string, .omitEmpty, "bootgate: why the phase is Error, or why the last upload failed while the previous file still serves"),
        Field("bootEntries", .array(.object(bootEntry)), .omitNull, "bootgate: the ISO's El Torito boot entries"),
        Field("targetIQN", .string, .always, "Reported by the iSCSI target; empty until then"),
        Field("portalIP", .string, .always),
        Field("portalPort", .int, .always),
        Field("lun", .int, .omitEmpty, "bootgate: LUN of the ISO on the target (tgt uses 1)"),
        Field("routerosID", .string),
        Field("subscribers", .array(.object(subscriber))),
    ])

    static func resource(spec: ObjectSchema, status: ObjectSchema) -> ObjectSchema {
        ObjectSchema([
            Field("kind", .string, .always, "The kind's name"),
            Field("apiVersion", .string, .always, "v1"),
            Field("metadata", .object(objectMeta), .always, "Name, namespace, labels, annotations and the store's bookkeeping"),
            Field("spec", .object(spec), .always, "What the object should be; written by clients"),
            Field("status", .object(status), .always, "What was observed; written by bootgate, the BMC agents and the iSCSI target"),
        ])
    }

    public static let bareMetalHost = resource(spec: hostSpec, status: hostStatus)
    public static let bootConfig = resource(spec: bootConfigSpec, status: bootConfigStatus)
    public static let iscsiCdrom = resource(spec: cdromSpec, status: cdromStatus)

    static func event(_ fields: [Field]) -> ObjectSchema {
        ObjectSchema([
            Field("kind", .string, .always),
            Field("apiVersion", .string, .always),
            Field("metadata", .object(objectMeta), .always),
            Field("time", .string, .always, "bootgate: RFC 3339 with milliseconds"),
        ] + fields)
    }

    /// bootgate's own: one boot step (its name sorts by time).
    public static let bootEvent = event([
        Field("type", .string, .always, "ipxe, ipxe-refused, config, config-refused, boot-complete, power, power-failed"),
        Field("host", .string, .always, "namespace/name of the host, empty when none matched"),
        Field("mac", .string, .always),
        Field("ip", .string, .always),
        Field("detail", .string, .always),
    ])

    static let auditUser = ObjectSchema([
        Field("name", .string, .always, "The token's name, or \"anonymous\" without a token file"),
        Field("role", .string, .omitEmpty),
        Field("address", .string, .omitEmpty, "The caller's address"),
        Field("transport", .string, .omitEmpty, "rest, jsonrpc, boot"),
    ])

    static let auditObject = ObjectSchema([
        Field("kind", .string, .always), Field("namespace", .string, .omitEmpty), Field("name", .string, .always), Field("uid", .string, .omitEmpty),
    ])

    /// bootgate's own: one write, committed with it. Admins only.
    public static let auditEvent = event([
        Field("verb", .string, .always, "create, update, patch, delete, boot-complete"),
        Field("user", .object(auditUser), .always),
        Field("object", .object(auditObject), .always),
        Field("patch", .array(.any), .always, "RFC 6902 operations from the old object to the new; secrets redacted, long values summarised"),
        Field("resourceVersionBefore", .string, .omitEmpty, "Empty for a create"),
        Field("resourceVersionAfter", .string, .omitEmpty, "The commit's revision: the audit event's own resourceVersion"),
    ])
}
