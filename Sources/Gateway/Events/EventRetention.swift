/// How long events are kept, per event kind: at most `maxCount` and none older than `maxAge`.
/// Old events are deleted in batches by the event flush (`Service.trimEvents`): once the count
/// passes `maxCount` by a twentieth (so each trim is a batch, not a delete per new event), the
/// oldest go down to `maxCount`; events past `maxAge` go whenever a flush runs (at least once a
/// minute, `Service.startEventRetention`).
public struct EventRetention: Sendable, Equatable {
    public var maxCount: Int
    public var maxAge: Duration

    public init(maxCount: Int, maxAge: Duration) {
        self.maxCount = max(1, maxCount)
        self.maxAge = maxAge
    }

    /// How far past `maxCount` the count may go before a trim.
    var slack: Int { max(1, maxCount / 20) }

    /// The names to delete, given every name of the kind sorted oldest first (names sort by
    /// time, `EventName`) and the time now.
    func expired(_ sortedNames: [String], nowMilliseconds: Int64) -> ArraySlice<String> {
        let ageMS = maxAge.components.seconds * 1000 + maxAge.components.attoseconds / 1_000_000_000_000_000
        let cutoff = nowMilliseconds - ageMS
        var old = 0
        while old < sortedNames.count, (EventName.milliseconds(sortedNames[old]) ?? 0) < cutoff { old += 1 }
        let overCount = sortedNames.count > maxCount + slack ? sortedNames.count - maxCount : 0
        return sortedNames.prefix(max(old, overCount))
    }

    public static let bootDefault = EventRetention(maxCount: 10_000, maxAge: .seconds(7 * 24 * 3600))
    public static let auditDefault = EventRetention(maxCount: 50_000, maxAge: .seconds(90 * 24 * 3600))
}
