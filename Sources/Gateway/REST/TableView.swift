import Foundation

/// kubectl's server-side printing: with `Accept: …;as=Table;…` lists, gets and watch events
/// come back as `meta.k8s.io/v1` Tables with the columns an operator wants to see.
enum TableView {
    struct Column {
        var name: String
        var type = "string"
        var priority = 0
        var description = ""
        var cell: (ResourceObject) -> JSONValue
    }

    static func wanted(_ accept: String?) -> Bool { accept?.contains("as=Table") ?? false }

    /// What each row's `object` holds (`includeObject`): kubectl asks for `Object` when it
    /// sorts (`--sort-by` reads the field from there), `Metadata` is the default.
    enum IncludeObject: String, Sendable { case none = "None", metadata = "Metadata", object = "Object" }

    /// The Table wanted, if any: nil unless the Accept header asks for one.
    static func format(accept: String?, query: [String: String]) -> IncludeObject? {
        guard wanted(accept) else { return nil }
        return query["includeObject"].flatMap { IncludeObject(rawValue: $0) } ?? .metadata
    }

    static func columns(_ kind: ResourceKind, now: Date) -> [Column] {
        let name = Column(name: "Name", description: "Object name") { .string($0.name) }
        let age = Column(name: "Age", description: "Time since creation") { .string(ageText($0.creationTimestamp, now: now)) }
        switch kind {
        case .bareMetalHost:
            return [
                name,
                Column(name: "MAC", description: "Boot MAC address") { .string($0.bootMAC) },
                Column(name: "IP", description: "spec.ip, else status.ip") { o in .string(o.ip.isEmpty ? o.string("status", "ip") : o.ip) },
                Column(name: "ISO", description: "ISCSICdrom booted, or localboot") { o in .string(o.image.isEmpty ? localBootImage : o.image) },
                Column(name: "Config", description: "BootConfig served") { .string($0.bootConfigRef) },
                Column(name: "Power", description: "status.poweredOn") { o in .string(o.json.value(at: ["status", "poweredOn"])?.boolValue == true ? "on" : "off") },
                Column(name: "Phase", description: "status.phase") { .string($0.string("status", "phase")) },
                Column(name: "Boots", type: "integer", description: "iPXE scripts served") { .int($0.json.value(at: ["status", "bootCount"])?.intValue ?? 0) },
                Column(name: "Last Boot", priority: 1, description: "status.lastBoot") { .string($0.string("status", "lastBoot")) },
                Column(name: "Network", priority: 1, description: "spec.network") { .string($0.string("spec", "network")) },
                Column(name: "IPMI", priority: 1, description: "spec.bmc.address") { .string($0.string("spec", "bmc", "address")) },
                age,
            ]
        case .bootConfig:
            return [
                name,
                Column(name: "Format", description: "spec.format") { .string($0.format) },
                Column(name: "Files", description: "spec.data file names") { .string($0.data.keys.sorted().joined(separator: ",")) },
                Column(name: "Assigned", type: "integer", description: "Hosts using it") { .int(Int64($0.strings("status", "assignedTo").count)) },
                Column(name: "Description", description: "spec.description") { o in
                    let d = o.string("spec", "description")
                    return .string(d.count > 40 ? String(d.prefix(37)) + "..." : d)
                },
                age,
            ]
        case .iscsiCdrom:
            return [
                name,
                Column(name: "Version", description: "spec.version") { .string($0.string("spec", "version")) },
                Column(name: "Phase", description: "status.phase") { .string($0.string("status", "phase")) },
                Column(name: "Target IQN", description: "status.targetIQN") { .string($0.string("status", "targetIQN")) },
                Column(name: "Configs", description: "spec.bootConfigs") { .string($0.bootConfigs.joined(separator: ",")) },
                Column(name: "ISO Size", priority: 1, description: "status.isoSize") { .int($0.json.value(at: ["status", "isoSize"])?.intValue ?? 0) },
                age,
            ]
        case .bootEvent:
            return [
                Column(name: "Time", description: "time") { .string($0.string("time")) },
                Column(name: "Type", description: "type") { .string($0.string("type")) },
                Column(name: "Host", description: "host") { .string($0.string("host")) },
                Column(name: "IP", description: "ip") { .string($0.string("ip")) },
                Column(name: "Detail", description: "detail") { o in
                    let d = o.string("detail")
                    return .string(d.count > 60 ? String(d.prefix(57)) + "..." : d)
                },
                Column(name: "MAC", priority: 1, description: "mac") { .string($0.string("mac")) },
                name,
            ]
        case .auditEvent:
            return [
                Column(name: "Time", description: "time") { .string($0.string("time")) },
                Column(name: "User", description: "user.name") { .string($0.string("user", "name")) },
                Column(name: "Verb", description: "verb") { .string($0.string("verb")) },
                Column(name: "Kind", description: "object.kind") { .string($0.string("object", "kind")) },
                Column(name: "Object", description: "object.namespace/object.name") { o in
                    let ns = o.string("object", "namespace")
                    return .string(ns.isEmpty ? o.string("object", "name") : ns + "/" + o.string("object", "name"))
                },
                Column(name: "Changes", type: "integer", description: "patch operations") { .int(Int64($0.json["patch"]?.arrayValue?.count ?? 0)) },
                name,
            ]
        }
    }

    static func table(_ kind: ResourceKind, _ objects: [ResourceObject], revision: Int64?, include: IncludeObject = .metadata,
                      listMeta extra: JSONObject? = nil) -> JSONValue {
        let cols = columns(kind, now: Date())
        let defs: [JSONValue] = cols.map { c in
            .object(JSONObject([("name", .string(c.name)), ("type", .string(c.type)), ("format", .string(c.name == "Name" ? "name" : "")),
                                ("description", .string(c.description)), ("priority", .int(Int64(c.priority)))]))
        }
        let rows: [JSONValue] = objects.map { o in
            var meta = JSONObject([("name", .string(o.name))])
            if !o.namespace.isEmpty { meta["namespace"] = .string(o.namespace) }
            for k in ["uid", "resourceVersion", "creationTimestamp"] { meta[k] = o.json.value(at: ["metadata", k]) }
            var row = JSONObject([("cells", .array(cols.map { $0.cell(o) }))])
            switch include {
            case .none: break
            case .metadata:
                row["object"] = .object(JSONObject([("kind", "PartialObjectMetadata"), ("apiVersion", "meta.k8s.io/v1"), ("metadata", .object(meta))]))
            case .object:
                row["object"] = o.json
            }
            return .object(row)
        }
        var listMeta = extra ?? JSONObject()
        if let revision { listMeta["resourceVersion"] = .string(String(revision)) }
        return .object(JSONObject([("kind", "Table"), ("apiVersion", "meta.k8s.io/v1"), ("metadata", .object(listMeta)),
                                   ("columnDefinitions", .array(defs)), ("rows", .array(rows))]))
    }

    static func ageText(_ timestamp: String, now: Date) -> String {
        guard let created = try? Date(timestamp, strategy: .iso8601) else { return "<unknown>" }
        let s = max(0, Int(now.timeIntervalSince(created)))
        switch s {
        case ..<120: return "\(s)s"
        case ..<(120 * 60): return "\(s / 60)m"
        case ..<(48 * 3600): return "\(s / 3600)h"
        default: return "\(s / 86400)d"
        }
    }
}
