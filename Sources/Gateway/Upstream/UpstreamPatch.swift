/// The merge patch mkube's PATCH takes to turn one object into another. mkube decodes a PATCH
/// onto its stored object with Go's JSON decoder, so `null` is a no-op on a string, number or
/// bool: a field bootgate removed is sent as its zero value (`""`, `false`, `0`) instead.
/// Objects merge key by key; arrays are sent whole.
enum UpstreamPatch {
    static func diff(from old: JSONValue, to new: JSONValue) -> JSONValue {
        guard let o = old.objectValue, let n = new.objectValue else { return new }
        var out = JSONObject()
        for (key, value) in n where o[key] != value {
            if let before = o[key], before.objectValue != nil, value.objectValue != nil {
                out[key] = diff(from: before, to: value)
            } else {
                out[key] = value
            }
        }
        for (key, before) in o where n[key] == nil {
            out[key] = zero(of: before)
        }
        return .object(out)
    }

    static func zero(of value: JSONValue) -> JSONValue {
        switch value {
        case .string: .string("")
        case .bool: .bool(false)
        case .int, .double: .int(0)
        case .object, .array, .null: .null
        }
    }
}
