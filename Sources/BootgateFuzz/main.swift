// libFuzzer targets for the parts of bootgate that read untrusted bytes. Built only with
// BOOTGATE_FUZZ=1 (Package.swift; scripts/fuzz.sh builds and runs it). BOOTGATE_FUZZ_TARGET
// picks the target; every argument is libFuzzer's. A target must neither crash, trap nor hang on
// any input, and checks the invariants that are cheap to state: a broken one is a crash, which
// libFuzzer saves as a reproducer.
import Foundation
@testable import Gateway
import Logging
import NIOCore
import Plugins
@testable import Renderers

@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(_ argc: UnsafeMutablePointer<CInt>,
                         _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
                         _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> CInt

enum FuzzTarget: String, CaseIterable {
    case rawRequestHead = "raw-request-head"
    case json
    case ignition
    case kickstart
    case ipxe
    case template
    case jsonrpc

    func run(_ bytes: [UInt8]) {
        switch self {
        case .rawRequestHead: RawRequestHeadTarget.run(bytes)
        case .json: JSONTarget.run(bytes)
        case .ignition: _ = IgnitionValidator.validate(file: "config.ign", bytes: bytes)
        case .kickstart: _ = KickstartValidator.validate(file: "ks.cfg", text: String(decoding: bytes, as: UTF8.self))
        case .ipxe: IPXETarget.run(String(decoding: bytes, as: UTF8.self))
        case .template: TemplateTarget.run(String(decoding: bytes, as: UTF8.self))
        case .jsonrpc: JSONRPCTarget.run(bytes)
        }
    }
}

/// The boot lane's HTTP head parser (`InlineRouteHandler`), which reads connection bytes before
/// NIO does.
enum RawRequestHeadTarget {
    static func run(_ bytes: [UInt8]) {
        let parsed = RawRequestHead.parse(ByteBuffer(bytes: bytes).readableBytesView)
        // The same bytes behind bytes already read (a pipelined request): same answer, so the
        // length is counted from the view's start, not from the buffer's.
        var behind = ByteBuffer(bytes: [UInt8](repeating: UInt8(ascii: "x"), count: 7) + bytes)
        behind.moveReaderIndex(forwardBy: 7)
        let again = RawRequestHead.parse(behind.readableBytesView)
        precondition(describe(parsed) == describe(again), "a head read at offset 7 parsed differently")
        guard case .complete(let head, let length) = parsed else { return }
        // What the lane hands on lies inside what it read and ends the head with a blank line.
        precondition(length >= 18 && length <= bytes.count, "length \(length) outside the \(bytes.count) bytes read")
        precondition(bytes[length - 4..<length].elementsEqual("\r\n\r\n".utf8), "the head does not end with CRLF CRLF")
        precondition(head.target.hasPrefix("/"), "target without /")
        precondition(head.headers.allSatisfy { !$0.name.isEmpty && $0.name == $0.name.lowercased() }, "header name empty or not lower-cased")
        // The head alone parses to the same head: nothing after it was read.
        let alone = RawRequestHead.parse(ByteBuffer(bytes: bytes[..<length]).readableBytesView)
        precondition(describe(alone) == describe(parsed), "the head alone parsed differently")
    }

    static func describe(_ parsed: RawRequestHead.Parsed) -> String {
        switch parsed {
        case .incomplete: return "incomplete"
        case .unsupported: return "unsupported"
        case .complete(let head, let length):
            return "\(length) \(head.target.debugDescription) \(head.headers.map { "\($0.name)=\($0.value.debugDescription)" })"
        }
    }
}

/// `JSONParser` and `JSONWriter`: what parses is written as JSON that parses again and is written
/// to the same bytes (a double written as an integer reads back as an integer, so values may
/// differ in case while the bytes must not).
enum JSONTarget {
    static func run(_ bytes: [UInt8]) {
        guard let value = try? JSONParser.parse(bytes) else { return }
        let written = JSONWriter.bytes(value)
        let reread: JSONValue
        do {
            reread = try JSONParser.parse(written)
        } catch {
            preconditionFailure("JSONWriter wrote what JSONParser refuses: \(error) in \(String(decoding: written, as: UTF8.self).prefix(200))")
        }
        precondition(JSONWriter.bytes(reread) == written, "JSON written, read and written again changed")
    }
}

/// What goes into iPXE scripts: values checked before they are placed, free text sanitised, and
/// the script checker every served script passes.
enum IPXETarget {
    static func run(_ text: String) {
        _ = IPXEScriptChecker.problems(text)
        _ = IPXEValue.checkIQN(text)
        _ = IPXEValue.checkPortal(text)
        _ = IPXEValue.checkMAC(text)
        if IPXEValue.check(text, field: "value") == nil {
            // A value the check passes is one token iPXE neither splits, cuts nor expands.
            let script = "#!ipxe\nkernel http://boot.test/" + text + "\n"
            let problems = IPXEScriptChecker.problems(script)
            precondition(problems.isEmpty, "a value IPXEValue passed makes a script the checker refuses: \(problems)")
        }
        // A refusal must always be deliverable, whatever the reason says.
        let refusal = IPXEScript.refusal(text)
        let problems = IPXEScriptChecker.problems(refusal)
        precondition(problems.isEmpty, "refusal script refused by the checker: \(problems)")
        let echoed = IPXEValue.sanitise(text)
        precondition(echoed.utf8.allSatisfy { (0x20...0x7E).contains($0) && !"#${}|&\\".utf8.contains($0) }, "sanitise left \(echoed.debugDescription)")
        precondition(!echoed.contains("  ") && !echoed.hasPrefix("-") && !echoed.hasSuffix(" "), "sanitise left \(echoed.debugDescription)")
    }
}

/// Template check (`TemplateEngine.check`) and compiler: content the check accepts compiles, so a
/// config accepted when written renders when a machine boots. The check reads bytes and the
/// compiler Characters (as swift-mustache does), so this holds where every Character is one
/// scalar; a grapheme joining a brace stays refused at render (CompiledTemplateTests).
enum TemplateTarget {
    static func run(_ content: String) {
        let diagnostics = TemplateEngine.check(file: "t", content: content)
        do throws(TemplateScanner.Failure) {
            _ = try TemplateCompiler.compile(content)
        } catch {
            let comparable = content.unicodeScalars.count == content.count
            precondition(!comparable || !diagnostics.isEmpty || !TemplateEngine.isTemplate(content),
                         "the check accepted a template the compiler refuses: line \(error.line): \(error.message)")
        }
    }
}

/// The JSON-RPC request decoder: one request or a batch, each item decoded into an operation
/// request (nothing is run).
enum JSONRPCTarget {
    nonisolated(unsafe) static var server: JSONRPCServer!

    /// A Service on a throw-away SQLite folder: the decoder looks methods up in the operation table.
    static func setUp() {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("bootgate-fuzz-\(getpid())").path
        let done = DispatchSemaphore(value: 0)
        Task {
            do {
                let store = try SQLiteStore(directory: dir)
                let service = try await Service.open(store: store, settings: ServiceSettings(), renderers: RendererRegistry(),
                                                     logger: Logger(label: "fuzz"))
                server = JSONRPCServer(service: service)
            } catch {
                FileHandle.standardError.write(Data("cannot open a store in \(dir): \(error)\n".utf8))
                exit(2)
            }
            done.signal()
        }
        done.wait()
        atexit {
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("bootgate-fuzz-\(getpid())").path
            try? FileManager.default.removeItem(atPath: dir)
        }
    }

    static func run(_ bytes: [UInt8]) {
        guard let value = try? JSONParser.parse(bytes) else { return }
        let caller = JSONRPCServer.Caller(remoteIP: "127.0.0.1", authorization: "Bearer x")
        for item in value.arrayValue ?? [value] {
            _ = server.decode(item, caller: caller)
        }
    }
}

let name = ProcessInfo.processInfo.environment["BOOTGATE_FUZZ_TARGET"] ?? ""
guard let target = FuzzTarget(rawValue: name) else {
    FileHandle.standardError.write(Data("BOOTGATE_FUZZ_TARGET must be one of: \(FuzzTarget.allCases.map(\.rawValue).joined(separator: " "))\n".utf8))
    exit(2)
}
let chosen = target

/// libFuzzer's entry point: its archive's own `main` (which SwiftPM's renamed main replaces at
/// link time) still names it.
@_cdecl("LLVMFuzzerTestOneInput")
func testOneInput(_ data: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    chosen.run(count == 0 ? [] : Array(UnsafeBufferPointer(start: data, count: count)))
    return 0
}

if target == .jsonrpc { JSONRPCTarget.setUp() }
var argc = CommandLine.argc
var argv = CommandLine.unsafeArgv
exit(LLVMFuzzerRunDriver(&argc, &argv, testOneInput))
