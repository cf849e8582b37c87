import Renderers

/// The JSON merge patch `bootgate apply` sends for an object that exists, worked out as kubectl's
/// client-side apply does for kinds without a strategic-merge schema: what the manifest
/// (`modified`) adds or changes against the live object (`current`), plus a null for every field
/// the previous manifest (`original`, from the last-applied annotation) had and this one has
/// not. Fields only the server or another writer set (status, labels added by hand) are left
/// alone; arrays are replaced whole, as merge patch does.
public enum ThreeWayMergePatch {
    public static let lastAppliedAnnotation = "kubectl.kubernetes.io/last-applied-configuration"

    /// The patch; an empty object when there is nothing to change.
    public static func patch(original: JSONValue?, modified: JSONValue, current: JSONValue) -> JSONValue {
        var out = changes(from: current, to: modified)
        if let original { merge(deletions(from: original, to: modified), into: &out) }
        return .object(out)
    }

    /// Additions and changes only: keys of `modified` whose value differs in `current`.
    static func changes(from current: JSONValue, to modified: JSONValue) -> JSONObject {
        guard case .object(let m) = modified else { return JSONObject() }
        let c = current.objectValue ?? JSONObject()
        var out = JSONObject()
        for (key, value) in m {
            let now = c[key]
            if value == .null {
                // An explicit null in a manifest deletes, as in a merge patch.
                if now != nil, now != .null { out[key] = .null }
                continue
            }
            guard now != value else { continue }
            if case .object = value, case .object? = now {
                let inner = changes(from: now!, to: value)
                if !inner.isEmpty { out[key] = .object(inner) }
            } else {
                out[key] = value
            }
        }
        return out
    }

    /// Deletions only: keys `original` had that `modified` has not, as nulls.
    static func deletions(from original: JSONValue, to modified: JSONValue) -> JSONObject {
        guard case .object(let o) = original else { return JSONObject() }
        let m = modified.objectValue ?? JSONObject()
        var out = JSONObject()
        for (key, value) in o {
            guard let next = m[key] else {
                out[key] = .null
                continue
            }
            if case .object = value, case .object = next {
                let inner = deletions(from: value, to: next)
                if !inner.isEmpty { out[key] = .object(inner) }
            }
        }
        return out
    }

    static func merge(_ extra: JSONObject, into out: inout JSONObject) {
        for (key, value) in extra {
            if case .object(let inner) = value, case .object(var existing)? = out[key] {
                merge(inner, into: &existing)
                out[key] = .object(existing)
            } else if out[key] == nil {
                out[key] = value
            }
        }
    }

    /// The manifest as it is sent: the last-applied annotation set to the manifest itself
    /// (without that annotation), as kubectl writes it. The server takes BMC passwords out of it.
    public static func annotated(_ manifest: JSONValue) -> JSONValue {
        var plain = manifest
        plain.set(nil, at: ["metadata", "annotations", lastAppliedAnnotation])
        if plain.value(at: ["metadata", "annotations"])?.objectValue?.isEmpty == true {
            plain.set(nil, at: ["metadata", "annotations"])
        }
        var out = manifest
        out.set(.string(JSONWriter.string(plain)), at: ["metadata", "annotations", lastAppliedAnnotation])
        return out
    }

    /// The previous manifest, from a live object's annotation; nil when it has none (an
    /// object created otherwise: then nothing is deleted, as kubectl does).
    public static func lastApplied(_ current: JSONValue) -> JSONValue? {
        guard let text = current.value(at: ["metadata", "annotations", lastAppliedAnnotation])?.stringValue else { return nil }
        return try? JSONParser.parse(text)
    }
}
