import Dispatch
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Runs a short-lived tool (ipmitool) to its end or its deadline, whichever comes first. The
/// blocking wait happens on a thread of its own, never on the concurrency pool: sixteen BMCs
/// that do not answer must not take sixteen of the pool's few threads.
struct CommandRunner: Sendable {
    struct Output: Sendable {
        var status: Int32
        var stdout: String
        var stderr: String
        var timedOut: Bool
    }

    enum Failure: Error, Sendable {
        case launch(String)
    }

    var executable: String
    var deadline: Duration

    /// `environment` replaces the parent's (secrets go there, never into the arguments, which any
    /// local user can read in /proc).
    func run(_ arguments: [String], environment: [String: String]) async throws(Failure) -> Output {
        let result: Result<Output, Failure> = await withCheckedContinuation { continuation in
            let thread = Thread { continuation.resume(returning: runBlocking(arguments, environment: environment)) }
            thread.name = "bootgate-bmc"
            thread.start()
        }
        return try result.get()
    }

    private func runBlocking(_ arguments: [String], environment: [String: String]) -> Result<Output, Failure> {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: resolvedExecutable())
        process.arguments = arguments
        process.environment = environment
        process.standardInput = FileHandle.nullDevice
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        // A child inherits its thread's signal mask, and threads of the concurrency pool block
        // most signals; open the mask for the spawn so the tool's own timers work.
        var allowAll = sigset_t(), previous = sigset_t()
        sigemptyset(&allowAll)
        pthread_sigmask(SIG_SETMASK, &allowAll, &previous)
        do {
            try process.run()
        } catch {
            pthread_sigmask(SIG_SETMASK, &previous, nil)
            return .failure(.launch("\(executable): \(error.localizedDescription)"))
        }
        pthread_sigmask(SIG_SETMASK, &previous, nil)
        let killer = Killer(pid: process.processIdentifier)
        let seconds = Double(deadline.components.seconds) + Double(deadline.components.attoseconds) / 1e18
        DispatchQueue.global().asyncAfter(deadline: .now() + seconds) { killer.fire() }
        // Both pipes are read to their end before the wait: tools print little, but a full pipe
        // would otherwise block the child forever. Killing the child closes them.
        let group = DispatchGroup()
        nonisolated(unsafe) var errData = Data()
        DispatchQueue.global().async(group: group) { errData = err.fileHandleForReading.readDataToEndOfFile() }
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        process.waitUntilExit()
        let timedOut = killer.finish()
        return .success(Output(status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                               stderr: String(decoding: errData, as: UTF8.self), timedOut: timedOut))
    }

    private func resolvedExecutable() -> String {
        if executable.contains("/") { return executable }
        for dir in ["/usr/bin", "/usr/sbin", "/usr/local/bin", "/usr/local/sbin", "/bin", "/sbin"] {
            let path = dir + "/" + executable
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return "/usr/bin/" + executable
    }

    /// Kills the child at the deadline unless it has already been reaped (its pid could be reused).
    private final class Killer: @unchecked Sendable {
        private let lock = NSLock()
        private let pid: Int32
        private var done = false
        private var fired = false
        init(pid: Int32) { self.pid = pid }

        func fire() {
            lock.lock()
            defer { lock.unlock() }
            guard !done else { return }
            fired = true
            kill(pid, SIGKILL)
        }

        /// Returns whether the deadline killed it.
        func finish() -> Bool {
            lock.lock()
            defer { lock.unlock() }
            done = true
            return fired
        }
    }
}
