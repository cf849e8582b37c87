import Foundation

/// A power action asked for without a change of `spec.online` (a restart, or "on" for a host
/// already wanted on), kept on the host as the `bootgate.io/power-request` annotation,
/// `<action>/<unique id>`: the leading replica's controller acts on each new value, so a
/// request made at any replica is done once.
enum PowerRequest {
    static let annotation = "bootgate.io/power-request"

    static func value(_ action: PowerAction) -> String {
        "\(action.rawValue)/\(Timestamp.nowMilliseconds())-\(UUID().uuidString.prefix(8).lowercased())"
    }

    static func action(_ value: String) -> PowerAction? {
        value.split(separator: "/", maxSplits: 1).first.flatMap { PowerAction(rawValue: String($0)) }
    }
}
