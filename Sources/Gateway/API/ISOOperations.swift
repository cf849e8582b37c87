import Foundation

/// The ISO file routes of mkube (reference §2.3): upload, files inside an ISO, derive.
enum ISOOperations {
    static let nameParam = Operation.Parameter("name", "ISCSICdrom name", in: .path, required: true)

    static func all() -> [Operation] {
        let tag = ResourceKind.iscsiCdrom.rawValue
        var upload = Operation(id: "iscsicdroms.upload", method: .post, path: "/api/v1/iscsi-cdroms/{name}/upload",
                               summary: "Upload the ISO's file: multipart field `iso` (curl -F iso=@file.iso) or the raw body; streamed to the ISO folder, phase Uploading then Ready",
                               tag: tag, parameters: [nameParam],
                               body: .init(schema: "ISOUpload", contentTypes: ["multipart/form-data", "application/octet-stream"], required: true),
                               responses: [.init(200, "Stored; the ISO with its size, sha256 and boot entries", schema: tag),
                                           .init(400, "Not multipart with an `iso` field, cut off, or not an ISO image", schema: "Status"),
                                           .init(404, "No such ISO", schema: "Status"),
                                           .init(409, "Another upload of this ISO is in progress", schema: "Status"),
                                           .init(413, "Larger than --max-iso-size", schema: "Status"),
                                           .init(415, "Neither multipart/form-data nor application/octet-stream", schema: "Status")]) { service, req throws(APIError) in
            guard let body = req.bodyStream else {
                throw .badRequest("iscsicdroms.upload streams the ISO: send it over REST, POST /api/v1/iscsi-cdroms/\(req.pathValue("name"))/upload (curl -F iso=@file.iso)")
            }
            let iso = try await service.uploadISO(ObjectKey(.iscsiCdrom, name: req.pathValue("name")), contentType: req.contentType, body: body)
            return .resource(iso, status: 200, warnings: service.firmwareWarnings(iso: iso.name))
        }
        upload.streamsBody = true

        let files = Operation(id: "iscsicdroms.files", method: .get, path: "/api/v1/iscsi-cdroms/{name}/files",
                              summary: "Read a file inside the ISO (Range supported) or, with list=true, list a folder: [{name, size, isDir}]",
                              tag: tag, parameters: [nameParam, .init("path", "Path inside the ISO, e.g. /images/pxeboot/vmlinuz", required: true),
                                                     .init("list", "List the folder at path", type: "boolean"),
                                                     .init("Range", "bytes=FIRST-LAST (one range)", in: .header)],
                              body: nil,
                              responses: [.init(200, "The file's bytes, or the folder's entries", schema: nil, contentTypes: ["application/octet-stream", "application/json"]),
                                          .init(206, "Part of the file", schema: nil, contentTypes: ["application/octet-stream"]),
                                          .init(404, "No such ISO or path", schema: "Status"),
                                          .init(409, "The ISO is not Ready", schema: "Status"),
                                          .init(416, "The range is outside the file", schema: "Status")]) { service, req throws(APIError) in
            try Self.files(service, req)
        }
        let derive = Operation(id: "iscsicdroms.derive", method: .post, path: "/api/v1/iscsi-cdroms/{name}/derive",
                               summary: "A new ISO from this one's file with files replaced or deleted (content base64); created Ready",
                               tag: tag, parameters: [nameParam], body: .init(schema: "DeriveRequest", contentTypes: ["application/json"], required: true),
                               responses: [.init(201, "The new ISO", schema: tag), .init(400, "A bad operation, path or content", schema: "Status"),
                                           .init(404, "No such ISO", schema: "Status"), .init(409, "The base is not Ready, or the name exists", schema: "Status")]) { service, req throws(APIError) in
            let body = try RequestBody.decode(req)
            var ops: [ISO9660Patcher.Op] = []
            for (i, op) in (body["operations"]?.arrayValue ?? []).enumerated() {
                let kind = op["op"]?.stringValue ?? "", path = op["path"]?.stringValue ?? ""
                guard path.hasPrefix("/") else { throw .badRequest("operations[\(i)].path must be an absolute path inside the ISO, got \"\(path)\"") }
                switch kind {
                case "replace":
                    guard let text = op["content"]?.stringValue, let bytes = Data(base64Encoded: text) else {
                        throw .badRequest("operations[\(i)].content must be the new file's bytes in base64")
                    }
                    ops.append(.replace(path: path, content: Array(bytes)))
                case "delete":
                    ops.append(.delete(path: path))
                case "add":
                    throw .badRequest("operations[\(i)]: \"add\" is not supported (it would rebuild the folder's records in every tree); replace an existing file instead")
                default:
                    throw .badRequest("operations[\(i)].op must be replace or delete, got \"\(kind)\"")
                }
            }
            let iso = try await service.deriveISO(from: ObjectKey(.iscsiCdrom, name: req.pathValue("name")), name: body["name"]?.stringValue ?? "",
                                                  description: body["description"]?.stringValue, version: body["version"]?.stringValue, ops: ops)
            return .resource(iso, status: 201, warnings: [])
        }
        return [upload, files, derive]
    }

    static func files(_ service: Service, _ req: OperationRequest) throws(APIError) -> OperationResult {
        let key = ObjectKey(.iscsiCdrom, name: req.pathValue("name"))
        let path = req.query["path"] ?? "/"
        let image = try service.isoImage(key)
        func notFound(_ e: ISO9660Error) -> APIError {
            switch e {
            case .notFound(let m), .notADirectory(let m): APIError(code: 404, reason: "NotFound", message: "ISO \"\(key.name)\": \(m)")
            default: .internalError("ISO \"\(key.name)\": \(e.message)")
            }
        }
        if req.flag("list") {
            let entries: [ISO9660Entry]
            do { entries = try image.list(path) } catch { throw notFound(error) }
            return .json(.array(entries.map { e in
                .object(JSONObject([("name", .string(e.name)), ("size", .int(Int64(e.size))), ("isDir", .bool(e.isDirectory))]))
            }), status: 200)
        }
        let entry: ISO9660Entry
        do { entry = try image.entry(at: path) } catch { throw notFound(error) }
        guard !entry.isDirectory else { throw APIError(code: 400, reason: "BadRequest", message: "ISO \"\(key.name)\": \(path) is a folder; add list=true to list it") }
        var slice = FileSlice(source: image.source, start: entry.byteOffset, length: entry.size, status: 200,
                              headers: [("Accept-Ranges", "bytes")])
        if let range = req.headers["range"] {
            guard let (first, last) = FileSlice.parseRange(range, size: entry.size) else {
                throw APIError(code: 416, reason: "RequestedRangeNotSatisfiable", message: "range \"\(range)\" is outside \(path) (\(entry.size) bytes)")
            }
            slice.start = entry.byteOffset + first
            slice.length = last - first + 1
            slice.status = 206
            slice.headers.append(("Content-Range", "bytes \(first)-\(last)/\(entry.size)"))
        }
        return .file(slice)
    }
}

/// Bytes of a file inside an ISO, sent in pieces by the transport (a kernel or initrd of tens of
/// MB is never held whole).
public struct FileSlice: Sendable {
    public var source: any ISOByteSource
    public var start: UInt64
    public var length: UInt64
    public var status: Int
    public var headers: [(String, String)]
    public var contentType = "application/octet-stream"
    static let chunk = 256 * 1024

    /// One `bytes=` range: `a-b`, `a-` or `-n`; nil when it cannot be served.
    static func parseRange(_ header: String, size: UInt64) -> (UInt64, UInt64)? {
        let text = header.trimmingCharacters(in: .whitespaces)
        guard text.lowercased().hasPrefix("bytes="), size > 0 else { return nil }
        let spec = text.dropFirst(6)
        guard !spec.contains(","), let dash = spec.firstIndex(of: "-") else { return nil }
        let a = spec[..<dash].trimmingCharacters(in: .whitespaces), b = spec[spec.index(after: dash)...].trimmingCharacters(in: .whitespaces)
        if a.isEmpty {
            guard let n = UInt64(b), n > 0 else { return nil }
            return (size - min(n, size), size - 1)
        }
        guard let first = UInt64(a), first < size else { return nil }
        if b.isEmpty { return (first, size - 1) }
        guard let last = UInt64(b), last >= first else { return nil }
        return (first, min(last, size - 1))
    }
}
