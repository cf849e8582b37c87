import Foundation
import Logging

/// Leadership through one etcd key held under a short lease: taken only when absent, renewed
/// while held (a new lease each time, put only while the key still names this replica). A
/// leader that cannot renew stops its work at once; another replica takes the key once its
/// lease has run out, within `ttl`.
final class EtcdLeadership: Leadership {
    let client: EtcdClient
    let key: String
    let replica: String
    let ttl: Int
    let logger: Logger
    let what: String

    init(client: EtcdClient, key: String, what: String, ttl: Int = 6, logger: Logger) {
        self.client = client
        self.key = key
        self.what = what
        self.ttl = ttl
        self.logger = logger
        replica = (ProcessInfo.processInfo.hostName) + "/" + String(UUID().uuidString.prefix(8))
    }

    func whileLeading(_ work: @escaping @Sendable () async -> Void) async {
        while !Task.isCancelled {
            if await put(onlyIf: .absent) {
                logger.info("\(what): this replica (\(replica)) leads")
                await withTaskGroup(of: Void.self) { group in
                    group.addTask { await work() }
                    group.addTask { await self.renewUntilLost() }
                    await group.next()
                    group.cancelAll()
                }
                if Task.isCancelled { return }
                logger.warning("\(what): this replica (\(replica)) lost the lead; another takes it within \(ttl) s")
            }
            try? await Task.sleep(for: .seconds(Double(ttl) / 3))
        }
    }

    private func renewUntilLost() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: .seconds(Double(ttl) / 3))
            if Task.isCancelled { return }
            if await !put(onlyIf: .mine) { return }
        }
    }

    enum Condition { case absent, mine }

    /// Puts the key naming this replica under a fresh lease, if the condition holds.
    private func put(onlyIf condition: Condition) async -> Bool {
        do throws(EtcdClient.Failure) {
            let lease = try await client.call("/v3/lease/grant", ["TTL": .string(String(ttl))])
            guard let id = lease["ID"] else { return false }
            let compare: JSONValue = switch condition {
            case .absent: ["target": "CREATE", "key": EtcdClient.b64(key), "result": "EQUAL", "create_revision": "0"]
            case .mine: ["target": "VALUE", "key": EtcdClient.b64(key), "result": "EQUAL", "value": EtcdClient.b64(replica)]
            }
            let answer = try await client.call("/v3/kv/txn", ["compare": [compare],
                                                             "success": [["request_put": ["key": EtcdClient.b64(key), "value": EtcdClient.b64(replica), "lease": id]]]])
            return answer["succeeded"]?.boolValue == true
        } catch {
            if condition == .mine { logger.warning("\(what): the lead cannot be renewed: \(error.message)") }
            return false
        }
    }
}
