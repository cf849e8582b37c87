import Foundation
import Renderers

public enum FieldValidation: String, Sendable, CaseIterable {
    case ignore = "Ignore", warn = "Warn", strict = "Strict"
}

public enum PatchType: String, Sendable {
    /// RFC 7386, also used for plain `application/json` (what pxemanager sends).
    case merge
    /// RFC 6902.
    case json
}

public struct WriteOptions: Sendable {
    public var fieldValidation: FieldValidation = .strict
    public var dryRun = false
    public var includeSecrets = false
    /// The host fields the caller may change; nil for any (`Role.hostWriteScope`).
    public var hostScope: HostWriteScope?
    /// Who asks: named in the write's audit record (`AuditRecord`).
    public var actor = Actor.anonymous
    public init(fieldValidation: FieldValidation = .strict, dryRun: Bool = false, includeSecrets: Bool = false) {
        self.fieldValidation = fieldValidation
        self.dryRun = dryRun
        self.includeSecrets = includeSecrets
    }
}

public struct WriteOutcome: Sendable {
    public var object: ResourceObject
    /// Kubernetes-style warnings (unknown fields under `fieldValidation=Warn`).
    public var warnings: [String]
}

extension Service {
    // MARK: create

    public func create(_ kind: ResourceKind, namespace: String?, body: JSONValue, options: WriteOptions = WriteOptions()) async throws(APIError) -> WriteOutcome {
        var (object, warnings) = try checkBody(kind, body, options: options)
        let meta = object["metadata"]?.objectValue ?? JSONObject()
        var name = meta["name"]?.stringValue ?? ""
        if name.isEmpty, let prefix = meta["generateName"]?.stringValue, !prefix.isEmpty {
            name = prefix + Self.randomSuffix()
        }
        if name.isEmpty { throw .invalid(kind, "", [.init(field: "metadata.name", message: "\(kind.displayName) name is required", reason: "FieldValueRequired")]) }
        let ns: String
        if kind.namespaced {
            let bodyNS = meta["namespace"]?.stringValue ?? ""
            ns = namespace ?? (bodyNS.isEmpty ? "default" : bodyNS)
            if let namespace, !bodyNS.isEmpty, bodyNS != namespace {
                throw .badRequest("metadata.namespace \"\(bodyNS)\" does not match the namespace in the URL \"\(namespace)\"")
            }
        } else {
            ns = ""
        }
        object.set(.string(name), at: ["metadata", "name"])
        object.set(kind.namespaced ? .string(ns) : nil, at: ["metadata", "namespace"])
        object.set(.string(UUID().uuidString.lowercased()), at: ["metadata", "uid"])
        object.set(.int(1), at: ["metadata", "generation"])
        object.set(nil, at: ["metadata", "resourceVersion"])
        if (object.value(at: ["metadata", "creationTimestamp"])?.stringValue ?? "").isEmpty {
            object.set(.string(Self.timestamp()), at: ["metadata", "creationTimestamp"])
        }
        ObjectDefaults.onCreate(kind, &object)
        if kind == .iscsiCdrom, managesISOFiles {
            // bootgate's own folder, not mkube's /raid1/iso (`ISOLibrary`).
            object.set(.string(isoFiles.path(of: ResourceObject(kind: kind, json: object))), at: ["status", "isoPath"])
        }
        let key = ObjectKey(kind, namespace: ns, name: name)
        let finalObject = object
        let outcome = try await serialized { () async throws(APIError) -> WriteOutcome in
            if index.object(key) != nil { throw .alreadyExists(key) }
            let (stored, left) = try await commitChecked(ResourceObject(kind: kind, json: finalObject), previous: nil, options: options, verb: "create")
            return WriteOutcome(object: present(stored, includeSecrets: options.includeSecrets), warnings: warnings + left)
        }
        // An ISO created over a file already in the folder is ready at once (as in mkube).
        if kind == .iscsiCdrom, managesISOFiles, !options.dryRun, FileManager.default.fileExists(atPath: isoFiles.path(of: outcome.object)) {
            await adoptFile(key, note: nil)
            if let now = index.object(key) { return WriteOutcome(object: now, warnings: outcome.warnings) }
        }
        return outcome
    }

    // MARK: replace (PUT)

    public func replace(_ key: ObjectKey, body: JSONValue, options: WriteOptions = WriteOptions()) async throws(APIError) -> WriteOutcome {
        let (object, warnings) = try checkBody(key.kind, body, options: options)
        try checkNameMatches(object, key)
        return try await serialized { () async throws(APIError) -> WriteOutcome in
            guard let current = index.object(key) else { throw .notFound(key) }
            try checkResourceVersion(object, current)
            let merged = ObjectDefaults.onReplace(key.kind, body: object, current: current.json)
            let (stored, left) = try await commitChecked(ResourceObject(kind: key.kind, json: merged), previous: current, options: options, verb: "update")
            return WriteOutcome(object: present(stored, includeSecrets: options.includeSecrets), warnings: warnings + left)
        }
    }

    // MARK: patch

    public func patch(_ key: ObjectKey, patch: JSONValue, type: PatchType, options: WriteOptions = WriteOptions()) async throws(APIError) -> WriteOutcome {
        var warnings: [String] = []
        var mergeBody: JSONValue?
        switch type {
        case .merge:
            guard patch.objectValue != nil else { throw .badRequest("a merge patch must be a JSON object, got \(patch.typeName)") }
            (mergeBody, warnings) = try checkBody(key.kind, patch, options: options, partial: true)
            try checkNameMatches(mergeBody!, key)
        case .json:
            guard patch.arrayValue != nil else { throw .badRequest("a JSON patch must be an array of operations, got \(patch.typeName)") }
        }
        let cleanedMerge = mergeBody
        return try await serialized { () async throws(APIError) -> WriteOutcome in
            guard let current = index.object(key) else { throw .notFound(key) }
            var result: JSONValue
            var patchWarnings = warnings
            if let cleanedMerge {
                try checkResourceVersion(cleanedMerge, current)
                result = MergePatch.apply(cleanedMerge, to: current.json)
            } else {
                do throws(JSONPatch.Failure) {
                    result = try JSONPatch.apply(patch, to: current.json, sealed: SecretSealer.sealedPaths)
                } catch {
                    throw .badRequest("JSON patch failed: \(error.message)")
                }
                let checked = try checkBody(key.kind, result, options: options)
                result = checked.0
                patchWarnings = checked.1
                try checkResourceVersion(result, current)
            }
            try checkNameMatches(result, key)
            result = ObjectDefaults.keepIdentity(result, current: current.json)
            do throws(APIError) {
                let (stored, left) = try await commitChecked(ResourceObject(kind: key.kind, json: result), previous: current, options: options, verb: "patch")
                return WriteOutcome(object: present(stored, includeSecrets: options.includeSecrets), warnings: patchWarnings + left)
            } catch {
                // A patch mixes the caller's values with stored ones: an error quoting a value
                // must not quote a stored secret, wherever the patch put it.
                throw error.redacting(SecretSealer.sealedPaths.compactMap { current.json.value(at: $0)?.stringValue })
            }
        }
    }

    // MARK: read-modify-write

    /// Changes an object from its current state under the write gate, so two such changes
    /// racing each other both land (a subscriber list two clients extend at once).
    public func modify(_ key: ObjectKey, options: WriteOptions = WriteOptions(), verb: String = "update",
                       _ change: @Sendable (ResourceObject) throws(APIError) -> JSONValue) async throws(APIError) -> ResourceObject {
        try await serialized { () async throws(APIError) -> ResourceObject in
            guard let current = index.object(key) else { throw .notFound(key) }
            let json = ObjectDefaults.keepIdentity(try change(current), current: current.json)
            return try await commitChecked(ResourceObject(kind: key.kind, json: json), previous: current, options: options, verb: verb).0
        }
    }

    // MARK: delete

    public func delete(_ key: ObjectKey, options: WriteOptions = WriteOptions()) async throws(APIError) -> ResourceObject {
        try await serialized { () async throws(APIError) -> ResourceObject in
            guard !key.kind.isEvent else { throw .methodNotAllowed("\(key.kind.plural) are deleted by their retention only") }
            guard let current = index.object(key) else { throw .notFound(key) }
            let reads = try index.read { state throws(APIError) -> ReadSet in
                try ReferenceRules.checkDelete(current, state)
                return ReferenceRules.reads(nil, previous: current, state)
            }
            if options.dryRun { return present(current, includeSecrets: options.includeSecrets) }
            let audit = auditRecord("delete", options.actor, key, before: current, after: nil)
            let changes = try await commitWrites([.delete(key, expectedRevision: current.resourceVersion), .put(audit, expectedRevision: nil)], reads: reads)
            return present(changes.first { $0.object.key == key }?.object ?? current, includeSecrets: options.includeSecrets)
        }
    }

    // MARK: shared steps

    /// Checks a body's kind, apiVersion and fields against the schema; applies `fieldValidation`.
    func checkBody(_ kind: ResourceKind, _ body: JSONValue, options: WriteOptions, partial: Bool = false) throws(APIError) -> (JSONValue, [String]) {
        guard body.objectValue != nil else { throw .badRequest("the body must be a JSON object describing a \(kind.rawValue), got \(body.typeName)") }
        if let k = body["kind"]?.stringValue, !k.isEmpty, k != kind.rawValue {
            throw .badRequest("kind \"\(k)\" does not match this endpoint, which takes \(kind.rawValue)")
        }
        if let v = body["apiVersion"]?.stringValue, !v.isEmpty, v != "v1" {
            throw .badRequest("apiVersion \"\(v)\" is not served; use \"v1\"")
        }
        var report = SchemaReport()
        let cleaned = FieldType.object(kind.schema).check(body, path: "", report: &report)
        if !report.typeErrors.isEmpty {
            throw .invalid(kind, body["metadata"]?["name"]?.stringValue ?? "", report.typeErrors.map { e in
                let field = String(e.prefix { $0 != ":" })
                return .init(field: field, message: String(e.dropFirst(field.count + 2)), reason: "FieldValueTypeInvalid")
            })
        }
        var warnings: [String] = []
        if !report.unknown.isEmpty {
            let texts = report.unknown.map { u in
                "unknown field \"\(u.path)\"" + (u.suggestion.map { " (did you mean \"\($0)\"?)" } ?? "")
            }
            switch options.fieldValidation {
            case .strict:
                throw APIError(code: 400, reason: "BadRequest", message: "\(kind.rawValue) in version \"v1\" cannot be handled: " + texts.joined(separator: ", "),
                               kind: kind, name: body["metadata"]?["name"]?.stringValue,
                               causes: report.unknown.map { .init(field: $0.path, message: "unknown field", reason: "FieldValueNotSupported") })
            case .warn: warnings = texts
            case .ignore: break
            }
        }
        return (cleaned, warnings)
    }

    func checkNameMatches(_ body: JSONValue, _ key: ObjectKey) throws(APIError) {
        if let n = body["metadata"]?["name"]?.stringValue, !n.isEmpty, n != key.name {
            throw .badRequest("metadata.name \"\(n)\" does not match the name in the URL \"\(key.name)\"")
        }
        if key.kind.namespaced, let ns = body["metadata"]?["namespace"]?.stringValue, !ns.isEmpty, ns != key.namespace {
            throw .badRequest("metadata.namespace \"\(ns)\" does not match the namespace in the URL \"\(key.namespace)\"")
        }
    }

    /// Optimistic concurrency: a write carrying a resourceVersion applies only to that version.
    func checkResourceVersion(_ body: JSONValue, _ current: ResourceObject) throws(APIError) {
        guard let rv = body["metadata"]?["resourceVersion"]?.stringValue, !rv.isEmpty else { return }
        if rv != String(current.resourceVersion) {
            throw .conflict(current.key, "the object has been modified; resourceVersion \(rv) is stale, the current one is \(current.resourceVersion): read it again and retry")
        }
    }

    /// Validates the new state of one object (its own fields, its format, and every reference,
    /// both ways) and commits it with the bookkeeping writes it implies.
    /// The warnings are the rule violations the write left as they were (`ReferenceRules.check`)
    /// and what keeps the object from booting as meant (`ReferenceRules.advisories`).
    func commitChecked(_ proposed: ResourceObject, previous: ResourceObject?, options: WriteOptions, verb: String) async throws(APIError) -> (ResourceObject, [String]) {
        guard !proposed.kind.isEvent else { throw .methodNotAllowed("\(proposed.kind.plural) are written by bootgate only") }
        var object = proposed
        object.json.set(.string(object.kind.rawValue), at: ["kind"])
        object.json.set("v1", at: ["apiVersion"])
        if let previous {
            if previous.json["spec"] != object.json["spec"] {
                let gen = (previous.json.value(at: ["metadata", "generation"])?.intValue ?? 0) + 1
                object.json.set(.int(gen), at: ["metadata", "generation"])
            }
            HostRules.carryOver(&object, from: previous)
        }
        // Derived when read (`present`): storing it would make every host write rewrite its config.
        if object.kind == .bootConfig { object.json.set(nil, at: ["status", "assignedTo"]) }
        object.json = object.kind.schema.normalize(object.json)
        object.json = Self.withoutSecretsInLastApplied(object.json)
        if let scope = options.hostScope {
            guard let previous else { throw AccessPolicy.forbidden("this role may not create objects") }
            if let field = scope.violation(current: previous.json, proposed: object.json) {
                throw AccessPolicy.forbidden("this role may change only \(scope.fieldNames) of a host; the write changes \(field)")
            }
        }
        if let previous, Self.sameContent(object.json, previous.json) {
            // Nothing changes: no new revision, no watch event (as Kubernetes does).
            return (previous, [])
        }
        var causes = ObjectRules.check(object)
        if object.kind == .bootConfig { causes += await formatCauses(object) }
        // A boot method no renderer registry entry has (a plugin not installed here) is refused
        // when set, not found at boot; one already stored (a plugin removed since) stays.
        if object.kind != .bootConfig, let method = object.annotations[BootAnnotation.method],
           renderers.bootMethods.method(method) == nil, previous?.annotations[BootAnnotation.method] != method {
            causes.append(.init(field: "metadata.annotations[\(BootAnnotation.method)]",
                                message: "no boot method \"\(method)\"; known: \(renderers.bootMethods.names.joined(separator: ", "))"))
        }
        if !causes.isEmpty { throw .invalid(object.kind, object.name, causes) }
        let (warnings, reads) = try index.read { state throws(APIError) in
            (try ReferenceRules.check(object, previous: previous, state) + ReferenceRules.advisories(object, state),
             ReferenceRules.reads(object, previous: previous, state))
        }
        if options.dryRun { return (object, warnings) }
        let audit = auditRecord(verb, options.actor, object.key, before: previous, after: object)
        let changes = try await commitWrites([.put(object, expectedRevision: previous?.resourceVersion), .put(audit, expectedRevision: nil)], reads: reads)
        return (changes.first { $0.object.key == object.key }?.object ?? object, warnings)
    }

    /// Commits, then waits until the store's feed has brought the commit into the index (and
    /// to watchers): the client then reads its own write. Under the write gate, the gate opens
    /// once the store has taken the commit, unless the write depends on one still in flight:
    /// then it waits for those and is checked again (`InFlightWrites`).
    func commitWrites(_ writes: [StoreWrite], reads: ReadSet? = nil) async throws(APIError) -> [StoredChange] {
        let hold = WriteGate.current
        var flight: Int?
        if let hold {
            let footprint = InFlightWrites.Footprint(writes, reads)
            if inFlight.overlaps(footprint, seen: hold.seen.withLock { $0 }) {
                await inFlight.drain()
                var again = APIError.conflict(writes[0].key, "a write it depends on was still being committed; retry")
                again.retryAfterRevision = applied.current
                throw again
            }
            flight = inFlight.add(footprint)
        }
        defer { if let flight { inFlight.remove(flight) } }
        let changes: [StoredChange]
        let started = ContinuousClock.now
        do {
            changes = try await store.commit(writes, reads: reads ?? ReadSet(asOf: index.revision)) { hold?.release() }
            metrics.committed(in: ContinuousClock.now - started)
            let audited = writes.count { if case .put(let o, _) = $0 { o.kind == .auditEvent } else { false } }
            if audited > 0 { metrics.auditRecords.increment(by: audited) }
        } catch {
            switch error {
            case .moved(let revision, let reason):
                var e = APIError.conflict(writes[0].key, "another replica changed what this write was checked against (\(reason)); retry")
                e.retryAfterRevision = revision
                throw e
            case .conflict(let key, _, _):
                throw .conflict(key, "the object changed in the store while this write was validated; retry")
            case .unavailable(let reason):
                var e = APIError(code: 503, reason: "ServiceUnavailable", message: "writes are paused: \(reason)")
                e.retryAfter = 5
                throw e
            case .rejected(let status, let message):
                throw APIError(code: status, reason: APIError.reason(for: status), message: "mkube refused the write: \(message)")
            case .full(let reason):
                logger.error("store commit refused: \(reason)")
                throw .insufficientStorage("nothing was written: \(reason)")
            case .compacted, .io:
                logger.error("store commit failed", metadata: ["error": "\(error)"])
                throw .internalError("the store could not commit the write: \(error)")
            }
        }
        // In front of mkube each write of a commit is its own revision.
        if let revision = changes.map(\.revision).max() { await applied.wait(for: revision) }
        return changes
    }

    /// A BootConfig's files checked by the renderer of its format.
    func formatCauses(_ config: ResourceObject) async -> [APIError.Cause] {
        let format = config.format
        guard let renderer = renderers.renderer(for: format) else {
            return [.init(field: "spec.format", message: "unknown format \"\(format)\"; known formats: \(renderers.formatNames.joined(separator: ", "))",
                          reason: "FieldValueNotSupported")]
        }
        let diagnostics = await renderer.validate(files: config.data)
        return diagnostics.filter { $0.severity == .error }.map { d in
            var field = "spec.data[\(d.file)]"
            if let line = d.line { field += ":\(line)" }
            if let pointer = d.pointer { field += "#\(pointer)" }
            return .init(field: field, message: d.message)
        }
    }

    /// `kubectl apply` keeps the whole manifest it sent in this annotation, password included,
    /// and every read returns annotations: the secret fields are taken out of it before it is
    /// stored. (kubectl's next apply then sends the password again as an addition, which
    /// changes nothing.)
    static let lastAppliedAnnotation = "kubectl.kubernetes.io/last-applied-configuration"

    static func withoutSecretsInLastApplied(_ json: JSONValue) -> JSONValue {
        let path = ["metadata", "annotations", lastAppliedAnnotation]
        guard let text = json.value(at: path)?.stringValue, text.contains("password") else { return json }
        var out = json
        guard var applied = try? JSONParser.parse(Array(text.utf8)) else {
            // Not JSON: it cannot be cleaned, so it is not kept.
            out.set(nil, at: path[...])
            return out
        }
        var changed = false
        for secret in SecretSealer.sealedPaths where applied.value(at: secret) != nil {
            applied.set(nil, at: secret[...])
            changed = true
        }
        if changed { out.set(.string(JSONWriter.string(applied)), at: path[...]) }
        return out
    }

    static func sameContent(_ a: JSONValue, _ b: JSONValue) -> Bool {
        var x = a, y = b
        x.set(nil, at: ["metadata", "resourceVersion"])
        y.set(nil, at: ["metadata", "resourceVersion"])
        return x == y
    }

    static func timestamp() -> String {
        Timestamp.seconds()
    }

    static func randomSuffix() -> String {
        String((0..<5).map { _ in "bcdfghjklmnpqrstvwxz2456789".randomElement()! })
    }
}
