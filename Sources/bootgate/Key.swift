import ArgumentParser
import Foundation
import Gateway

struct Key: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Manage the key that seals BMC passwords at rest (DATA/secret.key).",
        subcommands: [Rotate.self])

    struct Rotate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Re-seal every BMC password under a new key; the old key no longer opens the store.",
            discussion: """
            With a server running on the folder, the server does it (it notices DATA/secret.key.next \
            within a second) and goes on serving; this waits for it to finish. With none, this opens \
            the store and does it. Stopped half-way (a crash, kill -9), both keys stay and everything \
            stays readable; run it again, or start the server, to finish. Only the SQLite store: \
            on etcd, secrets stay sealed under the key the replicas share.
            """)

        @Option(help: "Data folder (SQLite store).") var data = "./data"
        @Option(help: "Seconds to wait for a running server to finish.") var timeout = 600
        @Option(help: "Rows re-sealed per transaction (writes wait for at most one batch).") var batchSize = 200

        func run() async throws {
            guard FileManager.default.fileExists(atPath: data + "/bootgate.sqlite") else {
                throw ValidationError("no SQLite store in \(data): key rotate re-seals the embedded store only (an etcd store's secrets stay under the key its replicas share)")
            }
            let files = SecretKeyFiles(directory: data)
            if SQLiteStore.isInUse(directory: data) {
                try await rotateThroughServer(files)
                return
            }
            let store: SQLiteStore
            do {
                store = try SQLiteStore(directory: data, lockWait: .zero)
            } catch {
                // A server started meanwhile: it does the rotation.
                if SQLiteStore.isInUse(directory: data) { return try await rotateThroughServer(files) }
                throw ValidationError("\(error)")
            }
            do {
                let report = try await store.rotateSecretKey(batchSize: max(1, batchSize))
                await store.close()
                print(report)
            } catch {
                await store.close()
                throw ValidationError("\(error) (both keys are kept; run it again to finish)")
            }
        }

        private func rotateThroughServer(_ files: SecretKeyFiles) async throws {
            let key = try files.beginRotation()
            print("a server has \(data) open: it re-seals the store under key \(key.keyID) while it serves")
            let deadline = ContinuousClock.now + .seconds(timeout)
            while files.rotationPending {
                guard ContinuousClock.now < deadline else {
                    throw ValidationError("the server has not finished after \(timeout) s (see its log); both keys are kept, and it goes on")
                }
                try await Task.sleep(for: .milliseconds(200))
            }
            let current = try SecretSealer.keyFile(files.current)
            guard current.keyID == key.keyID else { throw ValidationError("secret.key is not the new key \(key.keyID): another rotation ran meanwhile") }
            print("done: the store is sealed under key \(key.keyID); the old key is gone")
        }
    }
}
