import Foundation

/// The command line, program name first. Swift's runtime finds argv by walking back from
/// `environ`; a library preloaded to edit the environment at load (libfaketime, which the
/// clock-jump tests run the server under) leaves that empty, so the kernel's copy is read then.
enum ProcessArguments {
    static let all: [String] = {
        if !CommandLine.arguments.isEmpty { return CommandLine.arguments }
        guard let bytes = FileManager.default.contents(atPath: "/proc/self/cmdline"), !bytes.isEmpty else { return [] }
        // Each argument ends with a NUL, an empty one included.
        return bytes.dropLast().split(separator: 0, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
    }()
}
