/// JSON merge patch (RFC 7386): objects merge recursively, `null` removes a key, anything else
/// replaces the target.
public enum MergePatch {
    public static func apply(_ patch: JSONValue, to target: JSONValue) -> JSONValue {
        guard case .object(let patchObject) = patch else { return patch }
        var result = target.objectValue ?? JSONObject()
        for (key, value) in patchObject {
            if value.isNull {
                result[key] = nil
            } else {
                result[key] = apply(value, to: result[key] ?? .null)
            }
        }
        return .object(result)
    }

    /// mkube's PUT for BareMetalHost decodes the body onto the stored object: like a merge patch,
    /// except that `null` leaves the stored value alone.
    public static func overlay(_ body: JSONValue, onto target: JSONValue) -> JSONValue {
        guard case .object(let bodyObject) = body else { return body.isNull ? target : body }
        var result = target.objectValue ?? JSONObject()
        for (key, value) in bodyObject where !value.isNull {
            result[key] = overlay(value, onto: result[key] ?? .null)
        }
        return .object(result)
    }
}
