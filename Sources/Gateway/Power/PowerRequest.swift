import Foundation

/// A power action asked for without a change of `spec.online` (a restart, or "on" for a host
/// already wanted on), kept on the host as the `bootgate.io/power-request` annotation,
/// `<action>/<unique id>`: the leading replica's controller acts on each new value, so a
/// request made at any replica is done once. The replica that acted copies the value to
/// `bootgate.io/power-request-done`, so a request made while no replica led (the leader had just
/// died) is found and done by the next one.
enum PowerRequest {
    static let annotation = "bootgate.io/power-request"
    static let doneAnnotation = "bootgate.io/power-request-done"

    static func value(_ action: PowerAction) -> String {
        "\(action.rawValue)/\(Timestamp.nowMilliseconds())-\(UUID().uuidString.prefix(8).lowercased())"
    }

    /// When the request was made (the value's first part, in ms since 1970).
    static func madeAt(_ value: String) -> Int64? {
        value.split(separator: "/", maxSplits: 1).last.flatMap { $0.split(separator: "-").first }.flatMap { Int64($0) }
    }

    static func action(_ value: String) -> PowerAction? {
        value.split(separator: "/", maxSplits: 1).first.flatMap { PowerAction(rawValue: String($0)) }
    }
}
