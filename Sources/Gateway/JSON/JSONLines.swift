import AsyncHTTPClient

/// A streamed HTTP body of one JSON document a line (mkube's watch, etcd's watch), as documents.
/// Blank lines are skipped (mkube's clients skip them too); a line longer than `maxLine` or one
/// that is not JSON ends the stream with `Failure`.
enum JSONLines {
    struct Failure: Error, Sendable {
        var message: String
    }

    static func documents(of body: HTTPClientResponse.Body, maxLine: Int) -> AsyncThrowingStream<JSONValue, any Error> {
        let (stream, continuation) = AsyncThrowingStream<JSONValue, any Error>.makeStream()
        let task = Task {
            var pending: [UInt8] = []
            do {
                for try await chunk in body {
                    pending.append(contentsOf: chunk.readableBytesView)
                    while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                        let line = pending[..<newline]
                        defer { pending.removeSubrange(...newline) }
                        if line.allSatisfy({ $0 == 0x20 || $0 == 0x0D || $0 == 0x09 }) { continue }
                        guard let doc = try? JSONParser.parse(Array(line)) else {
                            throw Failure(message: "a line that is not JSON: \(String(decoding: line.prefix(200), as: UTF8.self))")
                        }
                        continuation.yield(doc)
                    }
                    if pending.count > maxLine { throw Failure(message: "a line over \(maxLine) bytes") }
                }
                continuation.finish()
            } catch {
                continuation.finish(throwing: error)
            }
        }
        continuation.onTermination = { _ in task.cancel() }
        return stream
    }
}
