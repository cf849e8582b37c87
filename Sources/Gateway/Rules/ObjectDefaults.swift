/// The defaults mkube applies on create and the way its PUT merges, kept so mkube clients see
/// the same objects (reference: mkube-boot-api.md §2).
enum ObjectDefaults {
    static func onCreate(_ kind: ResourceKind, _ json: inout JSONValue) {
        func isEmpty(_ path: [String]) -> Bool { (json.value(at: path)?.stringValue ?? "").isEmpty }
        switch kind {
        case .bareMetalHost:
            if isEmpty(["status", "phase"]) { json.set("Registering", at: ["status", "phase"]) }
            if !isEmpty(["spec", "bmc", "address"]) {
                // mkube's create default; credentials are never returned unless asked for.
                if isEmpty(["spec", "bmc", "username"]) { json.set("ADMIN", at: ["spec", "bmc", "username"]) }
                if isEmpty(["spec", "bmc", "password"]) { json.set("ADMIN", at: ["spec", "bmc", "password"]) }
            }
        case .bootConfig:
            if isEmpty(["spec", "format"]) { json.set("custom", at: ["spec", "format"]) }
            if isEmpty(["status", "phase"]) { json.set("Active", at: ["status", "phase"]) }
        case .bootEvent, .auditEvent:
            break
        case .iscsiCdrom:
            let name = json.value(at: ["metadata", "name"])?.stringValue ?? ""
            json.set(true, at: ["spec", "readOnly"])
            if isEmpty(["spec", "isoFile"]) { json.set(.string(name + ".iso"), at: ["spec", "isoFile"]) }
            if isEmpty(["status", "phase"]) { json.set("Pending", at: ["status", "phase"]) }
            if isEmpty(["status", "isoPath"]) {
                json.set(.string("/raid1/iso/" + (json.value(at: ["spec", "isoFile"])?.stringValue ?? "")), at: ["status", "isoPath"])
            }
            if (json.value(at: ["status", "portalPort"])?.intValue ?? 0) == 0 { json.set(.int(3260), at: ["status", "portalPort"]) }
        }
    }

    /// PUT: a host's body is decoded onto the stored object (mkube keeps unsent fields); the other
    /// kinds are replaced, keeping the stored status when the body's `status.phase` is empty.
    static func onReplace(_ kind: ResourceKind, body: JSONValue, current: JSONValue) -> JSONValue {
        var result: JSONValue
        switch kind {
        case .bareMetalHost:
            result = MergePatch.overlay(body, onto: current)
        case .bootConfig, .iscsiCdrom, .bootEvent, .auditEvent:
            result = body
            if (body.value(at: ["status", "phase"])?.stringValue ?? "").isEmpty {
                result.set(current["status"], at: ["status"])
            }
            if (body.value(at: ["metadata", "creationTimestamp"])?.stringValue ?? "").isEmpty {
                result.set(current.value(at: ["metadata", "creationTimestamp"]), at: ["metadata", "creationTimestamp"])
            }
        }
        return keepIdentity(result, current: current)
    }

    /// Name, namespace, uid, creation time and generation belong to the stored object.
    static func keepIdentity(_ json: JSONValue, current: JSONValue) -> JSONValue {
        var result = json
        for field in ["name", "namespace", "uid", "generation"] {
            result.set(current.value(at: ["metadata", field]), at: ["metadata", field])
        }
        if (result.value(at: ["metadata", "creationTimestamp"])?.stringValue ?? "").isEmpty {
            result.set(current.value(at: ["metadata", "creationTimestamp"]), at: ["metadata", "creationTimestamp"])
        }
        result.set(nil, at: ["metadata", "resourceVersion"])
        return result
    }
}
