import Foundation

/// What a host write carries over from the stored host, as mkube does.
enum HostRules {
    static let manualPowerAnnotation = "bmh.mkube.io/manual-power"

    static func carryOver(_ object: inout ResourceObject, from previous: ResourceObject) {
        guard object.kind == .bareMetalHost else { return }
        // Credentials cannot be cleared by a write: an empty value keeps the stored one, so a
        // client that read a redacted host and writes it back loses nothing.
        for field in ["username", "password"] {
            let path = ["spec", "bmc", field]
            if (object.json.value(at: path)?.stringValue ?? "").isEmpty, let old = previous.json.value(at: path), !(old.stringValue ?? "").isEmpty {
                object.json.set(old, at: path[...])
            }
        }
        let wasOnline = previous.json.value(at: ["spec", "online"])?.boolValue ?? false
        let isOnline = object.json.value(at: ["spec", "online"])?.boolValue ?? false
        if !wasOnline && isOnline {
            object.json.set(.string(Service.timestamp()), at: ["metadata", "annotations", manualPowerAnnotation])
        } else if wasOnline && !isOnline {
            object.json.set(nil, at: ["metadata", "annotations", manualPowerAnnotation])
            if object.json.value(at: ["metadata", "annotations"])?.objectValue?.isEmpty == true {
                object.json.set(nil, at: ["metadata", "annotations"])
            }
        }
    }
}
