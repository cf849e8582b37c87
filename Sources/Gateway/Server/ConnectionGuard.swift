import Foundation
import Logging
import NIOCore
import Synchronization

/// Keeps the server below its file-descriptor limit, so that slow or idle clients cannot lock
/// others (firmware asking `/ipxe` included) out.
///
/// Out of descriptors, NIO's accept loop spins: a failed `accept` leaves its read pending, so
/// the listening socket stays armed and is retried at once (30,000 failing `accept4` calls in
/// 2 s, 100 % of a core, nothing logged, nobody served). So connections are capped below the
/// limit, and a new one beyond the cap closes the connection that has waited longest without a
/// request in progress (idle keep-alive, or a head arriving byte by byte); one whose request is
/// being answered (a watch, an upload) is never chosen. If `accept` fails anyway (descriptors
/// taken elsewhere), the same shedding frees one and the failure is logged, once a minute at most.
public final class ConnectionGuard: Sendable {
    private struct Entry {
        var channel: any Channel
        /// Since when it holds a descriptor without a request in progress; nil while one is.
        var waitingSince: ContinuousClock.Instant?
    }

    private struct State {
        var open: [ObjectIdentifier: Entry] = [:]
        var lastAcceptLog: ContinuousClock.Instant?
        var shed = 0
    }

    private let state = Mutex(State())
    private let configuredMax: Int?
    private let logger: Logger
    /// Descriptors kept for everything else: the store, its WAL, plugins, the listening socket.
    static let reserve = 64
    static let shedPerFailure = 16

    public init(maxConnections: Int? = nil, logger: Logger) {
        self.configuredMax = maxConnections
        self.logger = logger
    }

    /// The cap: configured, else the descriptor limit less the reserve (read each time, so a
    /// limit lowered on the running process applies).
    public var maxConnections: Int {
        if let configuredMax { return configuredMax }
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 1024 }
        return max(16, Int(min(limit.rlim_cur, 1 << 20)) - Self.reserve)
    }

    /// Registers a new connection; when over the cap, closes the longest-waiting one (which
    /// may be this one, if every other is busy).
    func admit(_ channel: any Channel) {
        let cap = maxConnections
        let victim: (any Channel)? = state.withLock { s in
            s.open[ObjectIdentifier(channel)] = Entry(channel: channel, waitingSince: .now)
            guard s.open.count > cap else { return nil }
            s.shed += 1
            return Self.longestWaiting(&s, except: ObjectIdentifier(channel)) ?? s.open.removeValue(forKey: ObjectIdentifier(channel))?.channel
        }
        victim?.close(promise: nil)
    }

    func closed(_ channel: any Channel) {
        _ = state.withLock { $0.open.removeValue(forKey: ObjectIdentifier(channel)) }
    }

    /// Whether the connection may be shed: no request in progress.
    func mark(_ channel: any Channel, waiting: Bool) {
        state.withLock { s in
            let id = ObjectIdentifier(channel)
            guard s.open[id] != nil else { return }
            if waiting {
                if s.open[id]?.waitingSince == nil { s.open[id]?.waitingSince = .now }
            } else {
                s.open[id]?.waitingSince = nil
            }
        }
    }

    /// `accept` failed (EMFILE and the like): free some descriptors, and say so now and then.
    /// Several: after a failure NIO backs off accepting for a second, and then takes a few.
    func acceptFailed(_ error: any Error) {
        let (victims, log, count) = state.withLock { s -> ([any Channel], Bool, Int) in
            let now = ContinuousClock.now
            let log = s.lastAcceptLog.map { now - $0 > .seconds(60) } ?? true
            if log { s.lastAcceptLog = now }
            var victims: [any Channel] = []
            while victims.count < Self.shedPerFailure, let v = Self.longestWaiting(&s, except: nil) { victims.append(v) }
            s.shed += victims.count
            return (victims, log, s.open.count)
        }
        for v in victims { v.close(promise: nil) }
        if log {
            logger.error("accepting connections fails: \(error); \(count) open (cap \(maxConnections)); closing the longest-waiting idle ones")
        }
    }

    public var openCount: Int { state.withLock { $0.open.count } }
    public var shedCount: Int { state.withLock { $0.shed } }

    private static func longestWaiting(_ s: inout State, except: ObjectIdentifier?) -> (any Channel)? {
        var best: (ObjectIdentifier, ContinuousClock.Instant)?
        for (id, e) in s.open where id != except {
            if let since = e.waitingSince, best.map({ since < $0.1 }) ?? true { best = (id, since) }
        }
        guard let best else { return nil }
        return s.open.removeValue(forKey: best.0)?.channel
    }

    /// On the listening socket: hears of failed accepts.
    final class AcceptErrors: ChannelInboundHandler, Sendable {
        typealias InboundIn = any Channel
        let guardian: ConnectionGuard
        init(_ guardian: ConnectionGuard) { self.guardian = guardian }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            if error is IOError { guardian.acceptFailed(error) }
            context.fireErrorCaught(error)
        }
    }
}
