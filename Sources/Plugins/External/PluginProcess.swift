import Dispatch
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// What one run of a plugin executable produced.
struct PluginRunResult: Sendable {
    enum Ending: Sendable, Equatable {
        case exited(Int32)
        case signaled(Int32)
        /// Killed by us at the deadline.
        case timedOut
        /// Killed by us once stdout passed the limit.
        case outputTooLarge
        case launchFailed(String)
    }

    var ending: Ending
    var stdout: [UInt8]
    var stderr: [UInt8]
    var stderrTruncated: Bool
}

/// Runs a plugin executable once: request on stdin, response on stdout, within `PluginLimits`.
///
/// The blocking work (spawn, poll, wait) happens on a thread of its own, never on the Swift
/// concurrency pool, so a hung plugin cannot starve the server's tasks. The request goes
/// through an unlinked temporary file rather than a pipe: the plugin may read it or not, and we
/// never block on, or take SIGPIPE from, a plugin that stops reading.
enum PluginProcess {
    static func run(executable: String, input: [UInt8], limits: PluginLimits) async -> PluginRunResult {
        await withCheckedContinuation { continuation in
            let thread = Thread {
                continuation.resume(returning: runBlocking(executable: executable, input: input, limits: limits))
            }
            thread.name = "bootgate-plugin"
            thread.start()
        }
    }

    static func runBlocking(executable: String, input: [UInt8], limits: PluginLimits) -> PluginRunResult {
        func failed(_ why: String) -> PluginRunResult {
            PluginRunResult(ending: .launchFailed(why), stdout: [], stderr: [], stderrTruncated: false)
        }

        let stdinFile: FileHandle
        switch makeInputFile(input) {
        case .success(let handle): stdinFile = handle
        case .failure(let errorText): return failed("cannot buffer the request: \(errorText)")
        }
        let stdoutPipe = Pipe()
        let stderrPipe = Pipe()
        let process = Process()
        let executableURL = URL(fileURLWithPath: executable)
        process.executableURL = executableURL
        process.arguments = []
        process.environment = pluginEnvironment()
        process.currentDirectoryURL = executableURL.deletingLastPathComponent()
        process.standardInput = stdinFile
        process.standardOutput = stdoutPipe
        process.standardError = stderrPipe
        let exit = ExitSignal()
        process.terminationHandler = { _ in exit.signal() }

        // Threads created from the concurrency pool block most signals, and a spawned child
        // inherits its parent thread's mask: a plugin would start with SIGTERM, SIGALRM, SIGCHLD
        // and more blocked. Foundation cannot reset the mask at spawn, so open it on this thread
        // just for the spawn (the kernel offers process-wide signals to the main thread first).
        var allowAll = sigset_t()
        var previousMask = sigset_t()
        sigemptyset(&allowAll)
        pthread_sigmask(SIG_SETMASK, &allowAll, &previousMask)
        defer { pthread_sigmask(SIG_SETMASK, &previousMask, nil) }
        do {
            try process.run()
            pthread_sigmask(SIG_SETMASK, &previousMask, nil)
        } catch {
            try? stdinFile.close()
            try? stdoutPipe.fileHandleForReading.close()
            try? stderrPipe.fileHandleForReading.close()
            return failed(launchErrorText(error, executable: executable))
        }
        try? stdinFile.close()

        let pid = process.processIdentifier
        let outFD = stdoutPipe.fileHandleForReading.fileDescriptor
        let errFD = stderrPipe.fileHandleForReading.fileDescriptor
        setNonBlocking(outFD)
        setNonBlocking(errFD)

        let deadline = DispatchTime.now() + dispatchInterval(limits.timeout)
        var collector = OutputCollector(maxOutput: limits.maxOutputBytes, maxError: limits.maxErrorBytes)
        var outOpen = true
        var errOpen = true
        var stopped: PluginRunResult.Ending?

        pumping: while outOpen || errOpen {
            if exit.isSet {
                // The plugin is gone; take what is already in the pipes. A grandchild that still
                // holds them open must not keep us waiting for EOF.
                if outOpen, collector.drain(outFD, into: .stdout) == .overflow { stopped = .outputTooLarge }
                if errOpen { _ = collector.drain(errFD, into: .stderr) }
                break pumping
            }
            let now = DispatchTime.now()
            if now >= deadline {
                stopped = .timedOut
                break pumping
            }
            // Short slices so an exit is noticed even while a grandchild keeps the pipes open.
            let remainingMs = (deadline.uptimeNanoseconds - now.uptimeNanoseconds) / 1_000_000
            let waitMs = Int32(min(50, max(1, remainingMs)))
            var fds: [pollfd] = []
            if outOpen { fds.append(pollfd(fd: outFD, events: Int16(POLLIN), revents: 0)) }
            if errOpen { fds.append(pollfd(fd: errFD, events: Int16(POLLIN), revents: 0)) }
            let ready = poll(&fds, nfds_t(fds.count), waitMs)
            if ready < 0 {
                if errno == EINTR { continue }
                break pumping
            }
            for entry in fds where entry.revents != 0 {
                if entry.fd == outFD {
                    switch collector.drain(outFD, into: .stdout) {
                    case .open: break
                    case .closed: outOpen = false
                    case .overflow:
                        stopped = .outputTooLarge
                        break pumping
                    }
                } else if collector.drain(errFD, into: .stderr) == .closed {
                    errOpen = false
                }
            }
        }

        if stopped == nil, !exit.wait(until: deadline) {
            // Closed its output but kept running.
            stopped = .timedOut
        }
        if stopped != nil, pid > 1 {
            kill(pid, SIGKILL)
            // Foundation starts the child as the leader of its own process group: take down
            // anything it spawned too.
            kill(-pid, SIGKILL)
            // SIGKILL cannot be ignored; the bound only guards against a process stuck in the kernel.
            if !exit.wait(until: .now() + .seconds(2)) {
                // Foundation's reaper still refers to the Process without owning it; keep it
                // alive rather than let a late exit touch freed memory.
                _ = Unmanaged.passRetained(process)
            }
        }
        try? stdoutPipe.fileHandleForReading.close()
        try? stderrPipe.fileHandleForReading.close()

        let ending: PluginRunResult.Ending
        if let stopped {
            ending = stopped
        } else if process.terminationReason == .uncaughtSignal {
            ending = .signaled(process.terminationStatus)
        } else {
            ending = .exited(process.terminationStatus)
        }
        return PluginRunResult(ending: ending, stdout: collector.stdout, stderr: collector.stderr,
                               stderrTruncated: collector.stderrTruncated)
    }

    /// The plugin sees only these variables of the server's environment, so secrets given to
    /// bootgate through its environment do not leak into third-party code.
    static func pluginEnvironment() -> [String: String] {
        let inherited = ProcessInfo.processInfo.environment
        var environment: [String: String] = [:]
        for key in ["PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR"] {
            if let value = inherited[key] { environment[key] = value }
        }
        if environment["PATH"] == nil { environment["PATH"] = "/usr/local/bin:/usr/bin:/bin" }
        environment["BOOTGATE_PLUGIN_PROTOCOL"] = String(PluginRequest.protocolVersion)
        return environment
    }

    /// An unlinked temporary file holding `bytes`, positioned at its start.
    static func makeInputFile(_ bytes: [UInt8]) -> Result<FileHandle, InputFileError> {
        let directory = ProcessInfo.processInfo.environment["TMPDIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
        var template = Array("\(directory)/bootgate-plugin-XXXXXX".utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { buffer -> Int32 in
            guard let base = buffer.baseAddress else { return -1 }
            return mkstemp(base)
        }
        guard fd >= 0 else { return .failure(InputFileError(text: "mkstemp in \(directory): \(errnoText())")) }
        template.withUnsafeBufferPointer { buffer in
            if let base = buffer.baseAddress { _ = unlink(base) }
        }
        var written = 0
        while written < bytes.count {
            let count = bytes.withUnsafeBytes { raw -> Int in
                guard let base = raw.baseAddress else { return 0 }
                return write(fd, base + written, bytes.count - written)
            }
            if count < 0 {
                if errno == EINTR { continue }
                let text = errnoText()
                close(fd)
                return .failure(InputFileError(text: "write: \(text)"))
            }
            written += count
        }
        lseek(fd, 0, SEEK_SET)
        return .success(FileHandle(fileDescriptor: fd, closeOnDealloc: true))
    }

    struct InputFileError: Error, CustomStringConvertible {
        var text: String
        var description: String { text }
    }

    static func launchErrorText(_ error: any Error, executable: String) -> String {
        if access(executable, F_OK) != 0 { return "no such file" }
        if access(executable, X_OK) != 0 { return "not executable" }
        return "\(error)"
    }

    static func setNonBlocking(_ fd: Int32) {
        let flags = fcntl(fd, F_GETFL)
        if flags >= 0 { _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK) }
    }

    static func dispatchInterval(_ duration: Duration) -> DispatchTimeInterval {
        let (seconds, attoseconds) = duration.components
        let nanoseconds = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        guard !nanoseconds.overflow, nanoseconds.partialValue < Int64(Int.max / 2) else { return .seconds(Int(Int32.max)) }
        return .nanoseconds(Int(max(0, nanoseconds.partialValue + attoseconds / 1_000_000_000)))
    }

    static func errnoText() -> String {
        String(cString: strerror(errno))
    }
}

/// Collects stdout in full (up to the limit) and the head of stderr.
struct OutputCollector {
    enum Stream { case stdout, stderr }
    enum State { case open, closed, overflow }

    let maxOutput: Int
    let maxError: Int
    var stdout: [UInt8] = []
    var stderr: [UInt8] = []
    var stderrTruncated = false
    private var buffer = [UInt8](repeating: 0, count: 65536)

    init(maxOutput: Int, maxError: Int) {
        self.maxOutput = maxOutput
        self.maxError = maxError
    }

    /// Reads everything available now from a non-blocking descriptor.
    mutating func drain(_ fd: Int32, into stream: Stream) -> State {
        while true {
            let count = buffer.withUnsafeMutableBytes { raw -> Int in
                guard let base = raw.baseAddress else { return 0 }
                return read(fd, base, raw.count)
            }
            if count == 0 { return .closed }
            if count < 0 {
                if errno == EINTR { continue }
                if errno == EAGAIN || errno == EWOULDBLOCK { return .open }
                return .closed
            }
            switch stream {
            case .stdout:
                stdout.append(contentsOf: buffer[0..<count])
                if stdout.count > maxOutput { return .overflow }
            case .stderr:
                // Keep reading past the limit so the plugin never blocks on a full stderr pipe.
                let room = maxError - stderr.count
                if room > 0 { stderr.append(contentsOf: buffer[0..<min(room, count)]) }
                if count > room { stderrTruncated = true }
            }
        }
    }
}

/// Set once by Foundation's termination handler; waited on by the run's thread.
final class ExitSignal: @unchecked Sendable {
    private let lock = NSLock()
    private var done = false
    private let semaphore = DispatchSemaphore(value: 0)

    func signal() {
        lock.lock()
        done = true
        lock.unlock()
        semaphore.signal()
    }

    var isSet: Bool {
        lock.lock()
        defer { lock.unlock() }
        return done
    }

    /// True when the process has exited by `deadline`.
    func wait(until deadline: DispatchTime) -> Bool {
        if isSet { return true }
        if semaphore.wait(timeout: deadline) == .success {
            semaphore.signal() // let later waits see it too
            return true
        }
        return isSet
    }
}
