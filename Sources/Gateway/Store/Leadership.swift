import Foundation

/// Work that one replica at a time must do (driving BMCs: two replicas acting on one change
/// of `spec.online` would power a host on twice, or reset it twice). `whileLeading` runs the
/// work while this process leads, cancels it when the lead is lost, and tries again; it
/// returns when its task is cancelled.
public protocol Leadership: Sendable {
    func whileLeading(_ work: @escaping @Sendable () async -> Void) async
}

/// One process owns the store (SQLite's `StoreLock`): it always leads.
public struct SoleLeadership: Leadership {
    public init() {}
    public func whileLeading(_ work: @escaping @Sendable () async -> Void) async { await work() }
}
