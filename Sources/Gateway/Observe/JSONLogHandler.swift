import Foundation
import Logging
import Renderers
import Synchronization

/// `--log-format json`: one JSON object per line on standard error — `time` (RFC 3339 with
/// milliseconds), `level`, `logger`, `message`, and the metadata as strings — for log shippers
/// that would otherwise parse text.
public struct JSONLogHandler: LogHandler {
    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    private let label: String
    private let write: @Sendable ([UInt8]) -> Void

    public init(label: String, write: @escaping @Sendable ([UInt8]) -> Void = JSONLogHandler.standardError) {
        self.label = label
        self.write = write
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(level: Logger.Level, message: Logger.Message, metadata explicit: Logger.Metadata?, source: String, file: String, function: String, line: UInt) {
        var all = metadata
        if let provided = metadataProvider?.get() { all.merge(provided) { _, new in new } }
        if let explicit { all.merge(explicit) { _, new in new } }
        var o = JSONObject([("time", .string(Timestamp.milliseconds(at: Timestamp.nowMilliseconds()))), ("level", .string(level.rawValue)),
                            ("logger", .string(label)), ("message", .string(message.description))])
        for (k, v) in all.sorted(by: { $0.key < $1.key }) where o[k] == nil { o[k] = Self.json(v) }
        write(JSONWriter.bytes(.object(o)) + [0x0A])
    }

    static func json(_ v: Logger.Metadata.Value) -> JSONValue {
        switch v {
        case .string(let s): .string(s)
        case .stringConvertible(let c): .string(c.description)
        case .array(let a): .array(a.map(json))
        case .dictionary(let d): .object(JSONObject(d.sorted { $0.key < $1.key }.map { ($0.key, json($0.value)) }))
        }
    }

    /// One `write(2)` per line, so lines from several threads never interleave.
    public static let standardError: @Sendable ([UInt8]) -> Void = { bytes in
        bytes.withUnsafeBufferPointer { p in
            var off = 0
            while off < p.count {
                let n = Foundation.write(2, p.baseAddress! + off, p.count - off)
                if n <= 0 { return }
                off += n
            }
        }
    }
}
