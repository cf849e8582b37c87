import Foundation
import NIOCore

/// An upload's body as it arrives (REST only): chunks are read one at a time, so the server
/// holds one chunk of a multi-GB ISO, never the ISO (the transport's backpressure stops reading
/// the socket while a chunk is being written).
public final class StreamedBody: @unchecked Sendable {
    private let nextChunk: () async throws -> ByteBuffer?
    /// The request's `Content-Length`, when it sent one.
    public let declaredLength: UInt64?

    public init<S: AsyncSequence>(_ sequence: S, declaredLength: UInt64?) where S.Element == ByteBuffer {
        let box = IteratorBox(sequence.makeAsyncIterator())
        nextChunk = { try await box.next() }
        self.declaredLength = declaredLength
    }

    public func next() async throws -> ByteBuffer? { try await nextChunk() }

    private final class IteratorBox<I: AsyncIteratorProtocol> where I.Element == ByteBuffer {
        var iterator: I
        init(_ iterator: I) { self.iterator = iterator }
        func next() async throws -> ByteBuffer? { try await iterator.next() }
    }
}

/// ISO files: upload (phases Pending → Uploading → Ready / Error, on watch), reading files
/// inside an ISO, and keeping the folder and the store in step at start.
extension Service {
    /// bootgate keeps the files itself unless it fronts mkube (which has its own folder).
    public var managesISOFiles: Bool { !(store is MkubeUpstream) }

    /// How an upload's body is framed.
    enum UploadFraming {
        case multipart(boundary: String)
        case raw

        static let rawTypes: Set<String> = ["", "application/octet-stream", "application/x-iso9660-image", "application/x-cd-image", "application/vnd.efi.iso"]
        static let howTo = "send the ISO as multipart/form-data with the field \"iso\" (curl -F iso=@file.iso) or as the raw body with Content-Type: application/octet-stream (curl -T file.iso -X POST)"

        init(contentType: String?) throws(APIError) {
            let type = contentType ?? ""
            if let boundary = MultipartStream.boundary(of: type) {
                self = .multipart(boundary: boundary)
                return
            }
            let bare = type.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
            if bare == "multipart/form-data" { throw .badRequest("reading multipart stream: the Content-Type has no boundary parameter; \(Self.howTo)") }
            guard Self.rawTypes.contains(bare) else { throw .unsupportedMediaType("an ISO upload cannot be \(bare); \(Self.howTo)") }
            self = .raw
        }
    }

    /// Streams an upload into the ISO's file. The ISO is `Uploading` (a committed write, so
    /// watchers see it) while the body arrives; the old file serves until the new one is
    /// complete, on disk and an ISO image. On any failure, a cut connection included, the old
    /// file stays and the status says why; the upload can simply be sent again.
    public func uploadISO(_ key: ObjectKey, contentType: String?, body: StreamedBody) async throws(APIError) -> ResourceObject {
        guard managesISOFiles else {
            throw APIError(code: 501, reason: "NotImplemented", message: "in front of mkube, ISOs are uploaded to mkube itself (POST <mkube>/api/v1/iscsi-cdroms/\(key.name)/upload)")
        }
        guard let iso = index.object(key) else { throw .notFound(key) }
        let framing = try UploadFraming(contentType: contentType)
        let limit = settings.maxISOSize
        if let declared = body.declaredLength, declared > limit {
            throw APIError(code: 413, reason: "RequestEntityTooLarge", message: "the upload declares \(declared) bytes; the limit is \(limit >> 20) MiB (--max-iso-size)")
        }
        guard isoFiles.beginUpload(key.name) else {
            throw .conflict(key, "an upload of this ISO is already in progress; send it again once that one has ended")
        }
        defer { isoFiles.endUpload(key.name) }
        let fileName = ISOLibrary.fileName(of: iso)
        let finalPath = isoFiles.path(fileName: fileName)
        let hadFile = FileManager.default.fileExists(atPath: finalPath)
        _ = try await detached { [self] () async throws(APIError) in
            try await modify(key) { current throws(APIError) in
                var json = current.json
                json.set("Uploading", at: ["status", "phase"])
                json.set(nil, at: ["status", "message"])
                return json
            }
        }
        let started = Timestamp.seconds()
        do throws(APIError) {
            let file = try ISOUploadFile(library: isoFiles, fileName: fileName, limit: limit)
            defer { file.discard() }
            try await receive(body, framing: framing, into: file)
            let sha = try await file.finishWriting()
            let image: ISO9660Image
            do {
                image = try ISO9660Image(source: try ISOFile(path: file.temporaryPath))
            } catch {
                throw .badRequest("the upload is not a usable ISO image: \(error.message)")
            }
            try file.commit()
            let size = file.size, entries = image.bootEntries, path = finalPath
            return try await detached { [self] () async throws(APIError) -> ResourceObject in
                try await modify(key) { current throws(APIError) in
                    var json = current.json
                    json.set("Ready", at: ["status", "phase"])
                    json.set(.string(path), at: ["status", "isoPath"])
                    json.set(.int(Int64(size)), at: ["status", "isoSize"])
                    json.set(.string(sha), at: ["status", "sha256"])
                    json.set(.string(Timestamp.milliseconds(at: Timestamp.nowMilliseconds())), at: ["status", "uploadedAt"])
                    json.set(.array(entries.map(\.json)), at: ["status", "bootEntries"])
                    json.set(nil, at: ["status", "message"])
                    return json
                }
            }
        } catch {
            let keeps = hadFile && FileManager.default.fileExists(atPath: finalPath)
            let note = "the upload started at \(started) failed: \(error.message)" + (keeps ? "; the previous file still serves" : "")
            logger.warning("ISO \(key.name): \(note)")
            _ = try? await detached { [self] () async throws(APIError) in
                try await modify(key) { current throws(APIError) in
                    var json = current.json
                    json.set(.string(keeps ? "Ready" : "Error"), at: ["status", "phase"])
                    json.set(.string(note), at: ["status", "message"])
                    return json
                }
            }
            throw error
        }
    }

    /// Body chunks into the file: the `iso` field of a multipart body, or the raw body.
    private func receive(_ body: StreamedBody, framing: UploadFraming, into file: ISOUploadFile) async throws(APIError) {
        var parser: MultipartStream?
        if case .multipart(let boundary) = framing { parser = MultipartStream(boundary: boundary, field: "iso") }
        var received: UInt64 = 0
        while true {
            let chunk: ByteBuffer?
            do {
                chunk = try await body.next()
            } catch {
                throw .badRequest("the upload was cut off after \(received) bytes (\(error))")
            }
            guard let chunk else { break }
            received += UInt64(chunk.readableBytes)
            if var p = parser {
                let events: [MultipartStream.Event]
                do {
                    events = try p.feed(chunk.readableBytesView)
                } catch {
                    throw .badRequest("reading multipart stream: \(Self.text(error))")
                }
                parser = p
                for case .data(let bytes) in events { try file.append(bytes) }
            } else {
                try file.append(chunk.readableBytesView)
            }
        }
        if let declared = body.declaredLength, received < declared {
            throw .badRequest("the upload was cut off after \(received) of \(declared) bytes")
        }
        if let p = parser {
            do { try p.finish() } catch { throw .badRequest("reading multipart stream: \(Self.text(error))") }
            guard p.sawField else {
                let seen = p.fieldsSeen.map { "\"\($0)\"" }.joined(separator: ", ")
                throw .badRequest("no iso field found in multipart form (fields sent: \(seen.isEmpty ? "none" : seen)); send the file as the field \"iso\" (curl -F iso=@file.iso)")
            }
        }
        guard file.size > 0 else { throw .badRequest("the upload holds no bytes: \(UploadFraming.howTo)") }
    }

    static func text(_ failure: MultipartStream.Failure) -> String {
        switch failure { case .malformed(let m): m }
    }

    /// Runs a store write outside the request's task: a client that hangs up cancels its
    /// request, and the status must still say what happened to the upload.
    func detached<T: Sendable>(_ work: @escaping @Sendable () async throws(APIError) -> T) async throws(APIError) -> T {
        let task = Task { () async -> Result<T, APIError> in
            do throws(APIError) { return .success(try await work()) } catch { return .failure(error) }
        }
        return try await task.value.get()
    }

    /// The hosts on an ISO whose declared firmware its boot entries do not serve.
    public func firmwareWarnings(iso name: String) -> [String] {
        index.read { s in s.hosts(bootingISO: name).compactMap { FirmwareRules.warning($0, s) } }
    }

    // MARK: files inside an ISO

    /// The parsed image of a Ready ISO (mkube answers 409 for any other phase).
    public func isoImage(_ key: ObjectKey) throws(APIError) -> ISO9660Image {
        guard let iso = index.object(key) else { throw .notFound(key) }
        let phase = iso.string("status", "phase")
        guard phase == "Ready" else { throw .conflict(key, "iSCSI CDROM \"\(key.name)\" is not ready (phase: \(phase))") }
        let path = isoFiles.path(of: iso)
        do {
            return try ISO9660Image(source: try ISOFile(path: path))
        } catch {
            throw .conflict(key, "its file \(path) cannot be read as an ISO: \(error.message)")
        }
    }

    // MARK: derive

    /// mkube's `derive`: a new ISO whose file is a copy of `base`'s with files replaced or
    /// deleted, created Ready (size, hash and boot entries of the new file), `derivedFrom` base
    /// and the base's `bootConfigs`. The base's file is only read.
    func deriveISO(from base: ObjectKey, name: String, description: String?, version: String?, ops: [ISO9660Patcher.Op]) async throws(APIError) -> ResourceObject {
        guard managesISOFiles else {
            throw APIError(code: 501, reason: "NotImplemented", message: "in front of mkube, derive on mkube itself (POST <mkube>/api/v1/iscsi-cdroms/\(base.name)/derive)")
        }
        guard !name.isEmpty else { throw .badRequest("derive needs the new ISO's name (\"name\")") }
        if let problem = ObjectRules.nameProblem(name) { throw .badRequest("name: \(problem)") }
        guard let source = index.object(base) else { throw .notFound(base) }
        let phase = source.string("status", "phase")
        guard phase == "Ready" else { throw .conflict(base, "iSCSI CDROM \"\(base.name)\" is not ready (phase: \(phase))") }
        let key = ObjectKey(.iscsiCdrom, name: name)
        if index.object(key) != nil { throw .alreadyExists(key) }
        let fileName = name + ".iso"
        guard !FileManager.default.fileExists(atPath: isoFiles.path(fileName: fileName)) else {
            throw .conflict(key, "\(isoFiles.path(fileName: fileName)) already exists; delete it or pick another name")
        }
        guard isoFiles.beginUpload(name) else { throw .conflict(key, "a derive or upload of \"\(name)\" is already in progress") }
        defer { isoFiles.endUpload(name) }
        let copy = try ISOUploadFile(library: isoFiles, fileName: fileName, limit: .max)
        defer { copy.discard() }
        let original: ISOFile
        do { original = try ISOFile(path: isoFiles.path(of: source)) } catch { throw .conflict(base, "its file cannot be read: \(error.message)") }
        var offset: UInt64 = 0
        while offset < original.size {
            let chunk: [UInt8]
            do { chunk = try original.read(at: offset, count: ISOUploadFile.bufferSize) } catch { throw .internalError("copying \(base.name)'s file: \(error.message)") }
            if chunk.isEmpty { break }
            try copy.append(chunk)
            offset += UInt64(chunk.count)
        }
        _ = try await copy.finishWriting()
        do {
            try ISO9660Patcher(path: copy.temporaryPath).apply(ops)
        } catch {
            switch error {
            case .notFound(let m), .notADirectory(let m): throw .badRequest("derive: \(m)")
            case .notISO9660, .damaged: throw .conflict(base, "its file is not a usable ISO: \(error.message)")
            case .io: throw .internalError("derive: \(error.message)")
            }
        }
        try copy.commit()
        var spec = JSONObject([("isoFile", .string(fileName)), ("derivedFrom", .string(base.name))])
        if let description, !description.isEmpty { spec["description"] = .string(description) }
        if let version, !version.isEmpty { spec["version"] = .string(version) }
        if !source.bootConfigs.isEmpty { spec["bootConfigs"] = .array(source.bootConfigs.map { .string($0) }) }
        let body: JSONValue = .object(JSONObject([("metadata", .object(JSONObject([("name", .string(name))]))), ("spec", .object(spec))]))
        do {
            return try await create(.iscsiCdrom, namespace: nil, body: body).object
        } catch {
            unlink(isoFiles.path(fileName: fileName))
            throw error
        }
    }

    // MARK: start and delete

    /// At start: temporary files of uploads a crash interrupted go, and an ISO left `Uploading`
    /// gets the phase of the file that is in place (inspected again: the crash may have come
    /// between the rename and the status write).
    public func recoverISOUploads() async {
        guard managesISOFiles else { return }
        // Replicas on etcd may share the folder: another one's upload is not this one's leftover.
        let shared = store is EtcdStore, quiet: TimeInterval = 600
        for name in isoFiles.removeLeftovers(olderThan: shared ? quiet : 0) { logger.notice("removed \(name), left by an interrupted upload") }
        for iso in index.read({ $0.all(.iscsiCdrom) }) where iso.string("status", "phase") == "Uploading" {
            if shared, isoFiles.uploadInProgress(fileName: ISOLibrary.fileName(of: iso), within: quiet) { continue }
            await adoptFile(iso.key, note: "an upload was interrupted by a restart")
        }
    }

    /// mkube's scanner: every `every`, an ISCSICdrom for each `*.iso` in the folder that none
    /// names, named from the file (`ISOFolderScan`), without boot configs. Its file is adopted
    /// at once (size, hash, boot entries) and, with `--export tgt`, exported.
    func startISOScan(every: Duration) {
        guard managesISOFiles else { return }
        Task { [weak self] in
            var warned: Set<String> = []
            while true {
                guard let self else { return }
                await self.scanISOFolder(warned: &warned)
                try? await Task.sleep(for: every)
            }
        }
    }

    /// One pass. `warned`: files already logged as left alone.
    func scanISOFolder(warned: inout Set<String>) async {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: isoFiles.directory)) ?? []
        let (tracked, names) = index.read { s in
            let isos = s.all(.iscsiCdrom)
            return (Set(isos.map(ISOLibrary.fileName(of:))), Set(isos.map(\.name)))
        }
        for file in files.sorted() where ISOFolderScan.isCandidate(file) && !tracked.contains(file) {
            let name = ISOFolderScan.objectName(for: file)
            guard !name.isEmpty, !names.contains(name) else {
                if warned.insert(file).inserted {
                    logger.warning("ISO folder scan: \(file) has no ISCSICdrom and none can be named after it (\(name.isEmpty ? "no usable name" : "\(name) is taken")); create one with spec.isoFile \(file)")
                }
                continue
            }
            let body: JSONValue = .object(JSONObject([("metadata", .object(JSONObject([("name", .string(name))]))),
                                                      ("spec", .object(JSONObject([("isoFile", .string(file))])))]))
            do throws(APIError) {
                _ = try await create(.iscsiCdrom, namespace: nil, body: body, options: Self.writeOptions(Actor(name: "bootgate", transport: "iso-scan")))
                logger.notice("ISO folder scan: created ISCSICdrom \(name) for \(file)")
            } catch {
                if warned.insert(file).inserted { logger.warning("ISO folder scan: \(file): \(error.message)") }
            }
        }
    }

    /// Sets the status from the file in the folder (size, hash, boot entries), or `Pending`/`Error`
    /// when there is none. For ISOs created over a file that is already there, as mkube does.
    func adoptFile(_ key: ObjectKey, note: String?) async {
        guard let iso = index.object(key) else { return }
        let path = isoFiles.path(of: iso)
        let found: Result<ISOLibrary.Inspection, ISO9660Error>? = FileManager.default.fileExists(atPath: path) ? Result { () throws(ISO9660Error) in try isoFiles.inspect(fileAt: path) } : nil
        _ = try? await modify(key) { current throws(APIError) in
            var json = current.json
            json.set(.string(path), at: ["status", "isoPath"])
            switch found {
            case .success(let f)?:
                json.set("Ready", at: ["status", "phase"])
                json.set(.int(Int64(f.size)), at: ["status", "isoSize"])
                json.set(.string(f.sha256), at: ["status", "sha256"])
                json.set(.array(f.bootEntries.map(\.json)), at: ["status", "bootEntries"])
                if current.string("status", "sha256") != f.sha256 { json.set(.string(Timestamp.milliseconds(at: Timestamp.nowMilliseconds())), at: ["status", "uploadedAt"]) }
                json.set(note.map { .string($0 + "; the file in place serves") }, at: ["status", "message"])
            case .failure(let e)?:
                json.set("Error", at: ["status", "phase"])
                json.set(.string("\(path) is not a usable ISO: \(e.message)"), at: ["status", "message"])
            case nil:
                json.set(note == nil ? "Pending" : "Error", at: ["status", "phase"])
                json.set(note.map { .string($0 + "; no file is in place, upload it again") }, at: ["status", "message"])
            }
            return json
        }
    }

    /// After an ISO is deleted: its file goes too, unless asked to keep it or another ISO uses it.
    func removeFile(of deleted: ResourceObject, keep: Bool) {
        guard managesISOFiles, !keep else { return }
        let name = ISOLibrary.fileName(of: deleted)
        let shared = index.read { $0.all(.iscsiCdrom) }.contains { ISOLibrary.fileName(of: $0) == name }
        guard !shared else { return }
        unlink(isoFiles.path(fileName: name))
    }
}
