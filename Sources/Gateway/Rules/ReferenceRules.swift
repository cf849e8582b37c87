/// The spec's validation across resources (boot-architecture.md, "Validation"), checked against
/// the index in the same critical section as the commit:
/// 1. a host's `image` is empty, `localboot`, or an existing ISCSICdrom;
/// 2. its `bootConfigRef`, when set, names an existing BootConfig;
/// 3. on an ISO, the ref must be in the ISO's `bootConfigs`, and empty when that list is empty;
/// 4. with `localboot` any existing config may be referenced;
/// 5. nothing referenced can be deleted or unlisted while in use, and every listed config exists.
///
/// Real mkube data already breaks these (mkube never checked them), so writes ratchet: a write
/// that leaves an existing violation as it was is accepted with a warning; one that introduces
/// a new violation is refused.
enum ReferenceRules {
    typealias State = ResourceIndex.State

    /// One broken rule. `id` names the rule and what breaks it, so the same violation before and
    /// after a write compares equal whatever else the message says.
    struct Violation: Equatable {
        enum Kind { case invalid, conflict }
        var id: String
        var kind: Kind
        var cause: APIError.Cause
    }

    /// Refuses a write that breaks a rule it did not break before; the warnings for the
    /// violations it leaves as they were.
    static func check(_ object: ResourceObject, previous: ResourceObject?, _ state: State) throws(APIError) -> [String] {
        let now = violations(object, state)
        guard !now.isEmpty else { return [] }
        let before = previous.map { violations($0, state).map(\.id) } ?? []
        let new = now.filter { !before.contains($0.id) }
        if new.isEmpty { return now.map { "left as it was: \($0.cause.message)" } }
        let causes = new.map(\.cause)
        if new.allSatisfy({ $0.kind == .conflict }) {
            throw .conflict(object.key, conflictMessage(object, causes.map(\.message)))
        }
        throw .invalid(object.kind, object.name, causes)
    }

    /// The hosts an ISO change would strand, summarised: a rack on one ISO is hundreds of them.
    static func conflictMessage(_ object: ResourceObject, _ messages: [String]) -> String {
        guard object.kind == .iscsiCdrom else { return messages.joined(separator: "; ") }
        let shown = messages.prefix(isoHostsShown).joined(separator: "; ")
        let more = messages.count > isoHostsShown ? " and \(messages.count - isoHostsShown) more hosts" : ""
        return "cannot remove configs from ISO \"\(object.name)\" that hosts on it use: \(shown)\(more); change those hosts first"
    }

    static let isoHostsShown = 5

    static func violations(_ object: ResourceObject, _ state: State) -> [Violation] {
        switch object.kind {
        case .bareMetalHost: hostViolations(object, state)
        case .iscsiCdrom: isoViolations(object, state)
        case .bootConfig: configViolations(object, state)
        case .bootEvent, .auditEvent: []
        }
    }

    static func hostViolations(_ host: ResourceObject, _ state: State) -> [Violation] {
        let image = host.image
        let ref = host.bootConfigRef
        let who = "host \(host.key)"
        var out: [Violation] = []
        func add(_ id: String, _ kind: Violation.Kind, _ field: String, _ message: String) {
            out.append(Violation(id: id, kind: kind, cause: .init(field: field, message: message)))
        }

        var iso: ResourceObject?
        if !image.isEmpty && image != localBootImage {
            iso = state.object(ObjectKey(.iscsiCdrom, name: image))
            if iso == nil {
                add("image-missing:\(image)", .invalid, "spec.image", "\(who): ISCSICdrom \"\(image)\" does not exist; choose one of: \((state.all(.iscsiCdrom).map(\.name).sorted() + [localBootImage]).joined(separator: ", ")), or leave it empty")
            }
        }
        if !ref.isEmpty, state.object(ObjectKey(.bootConfig, name: ref)) == nil {
            let all = state.all(.bootConfig).map(\.name).sorted()
            add("config-missing:\(ref)", .invalid, "spec.bootConfigRef", "\(who): BootConfig \"\(ref)\" does not exist; existing configs: \(all.isEmpty ? "none" : all.joined(separator: ", "))")
        } else if let iso, !ref.isEmpty {
            let allowed = iso.bootConfigs
            if allowed.isEmpty {
                add("iso-takes-none:\(iso.name):\(ref)", .invalid, "spec.bootConfigRef", "\(who): ISO \"\(iso.name)\" takes no boot config (its spec.bootConfigs is empty), so bootConfigRef must be empty, not \"\(ref)\"")
            } else if !allowed.contains(ref) {
                add("config-not-listed:\(iso.name):\(ref)", .invalid, "spec.bootConfigRef", "\(who): BootConfig \"\(ref)\" is not compatible with ISO \"\(iso.name)\"; allowed configs: \(allowed.joined(separator: ", "))")
            }
        }
        // Two hosts with one MAC would make /ipxe ambiguous (the all-zero placeholder is no MAC).
        for mac in ResourceIndex.State.macs(of: host).sorted() {
            let others = (state.hostsByMAC[mac] ?? []).filter { $0 != host.key }.sorted()
            if !others.isEmpty {
                add("mac:\(mac)", .conflict, "spec.bootMACAddress", "MAC \(mac) is already used by host \(others.map(\.description).joined(separator: ", "))")
            }
        }
        // Two hosts with one address would make the config path ambiguous: the installer of
        // either gets a 409 instead of its config.
        if !host.ip.isEmpty {
            let others = (state.hostsByIP[host.ip] ?? []).filter { $0 != host.key }.sorted()
            if !others.isEmpty {
                add("ip:\(host.ip)", .conflict, "spec.ip", "IP \(host.ip) is already used by host \(others.map(\.description).joined(separator: ", ")); /api/v1/bootconfig could not tell them apart")
            }
        }
        if let next = host.annotations[BootHandOff.nextConfigAnnotation], !next.isEmpty, state.object(ObjectKey(.bootConfig, name: next)) == nil {
            add("next-missing:\(next)", .invalid, "metadata.annotations[\(BootHandOff.nextConfigAnnotation)]", "\(who): the next config \"\(next)\" does not exist, so boot-complete would be refused; existing configs: \(existingConfigs(state))")
        }
        return out
    }

    /// A config's declared follow-up (`bootgate.io/next-boot-config`) must exist.
    static func configViolations(_ config: ResourceObject, _ state: State) -> [Violation] {
        guard let next = config.annotations[BootHandOff.nextConfigAnnotation], !next.isEmpty,
              state.object(ObjectKey(.bootConfig, name: next)) == nil else { return [] }
        return [Violation(id: "next-missing:\(next)", kind: .invalid,
                          cause: .init(field: "metadata.annotations[\(BootHandOff.nextConfigAnnotation)]", message: "BootConfig \"\(config.name)\" names \"\(next)\" as the next config after boot-complete, which does not exist; existing configs: \(existingConfigs(state))"))]
    }

    static func existingConfigs(_ state: State) -> String {
        let all = state.all(.bootConfig).map(\.name).sorted()
        return all.isEmpty ? "none" : all.joined(separator: ", ")
    }

    /// What lets a host table be written but not boot as meant: warned about on every write and
    /// read of the host, in its preview and in the violations list, never refused (a rack is
    /// often set up in steps: hosts first, the ISO's target later).
    static func advisories(_ object: ResourceObject, _ state: State) -> [String] {
        guard object.kind == .bareMetalHost else { return [] }
        let image = object.image
        guard !image.isEmpty, image != localBootImage, let iso = state.object(ObjectKey(.iscsiCdrom, name: image)) else { return [] }
        var out: [String] = []
        if object.bootConfigRef.isEmpty, !iso.bootConfigs.isEmpty {
            out.append("host \(object.key) boots ISO \"\(iso.name)\", which takes a config (\(iso.bootConfigs.joined(separator: ", "))), but has no spec.bootConfigRef: its installer will get 404 from /api/v1/bootconfig")
        }
        if iso.string("status", "targetIQN").isEmpty {
            out.append("host \(object.key) boots ISO \"\(iso.name)\", which has no iSCSI target yet (status.targetIQN is empty): /ipxe will explain and exit instead of booting it")
        }
        if let firmware = FirmwareRules.warning(object, state) { out.append(firmware) }
        return out
    }

    static func isoViolations(_ iso: ResourceObject, _ state: State) -> [Violation] {
        var out: [Violation] = []
        let missing = iso.bootConfigs.filter { state.object(ObjectKey(.bootConfig, name: $0)) == nil }
        if !missing.isEmpty {
            let all = state.all(.bootConfig).map(\.name).sorted()
            out.append(Violation(id: "iso-lists-missing:\(missing.sorted())", kind: .invalid,
                                 cause: .init(field: "spec.bootConfigs", message: "ISO \"\(iso.name)\" lists BootConfig \(missing.map { "\"\($0)\"" }.joined(separator: ", ")) which does not exist; existing configs: \(all.isEmpty ? "none" : all.joined(separator: ", "))")))
        }
        // A host on this ISO must keep a compatible config.
        for host in state.hosts(bootingISO: iso.name) where !host.bootConfigRef.isEmpty && !iso.bootConfigs.contains(host.bootConfigRef) {
            out.append(Violation(id: "iso-host:\(host.key):\(host.bootConfigRef)", kind: .conflict,
                                 cause: .init(field: "spec.bootConfigs", message: "host \(host.key) uses \"\(host.bootConfigRef)\"")))
        }
        return out
    }

    // MARK: what a check read

    /// The objects and usages the check of a put (or, `new` nil, a delete) read, and the
    /// usages and MACs it changes: the commit's conditions on a store shared by replicas.
    static func reads(_ new: ResourceObject?, previous: ResourceObject?, _ state: State) -> ReadSet {
        var reads = ReadSet(asOf: state.revision)
        guard let kind = (new ?? previous)?.kind else { return reads }
        switch kind {
        case .bareMetalHost:
            let before = previous.map(used(by:)) ?? [], after = new.map(used(by:)) ?? []
            reads.objects = after.sorted()
            reads.uses = before.symmetricDifference(after).sorted()
            let held = previous.map(claims(of:)) ?? [], wanted = new.map(claims(of:)) ?? []
            if let new { reads.claims = wanted.sorted().map { ($0, new.key) } }
            reads.releases = held.subtracting(wanted).sorted()
        case .iscsiCdrom:
            let before = Set(previous?.bootConfigs ?? []), after = Set(new?.bootConfigs ?? [])
            reads.objects = after.sorted().map { ObjectKey(.bootConfig, name: $0) }
            reads.uses = before.symmetricDifference(after).sorted().map { ObjectKey(.bootConfig, name: $0) }
            // Hosts on it were checked against its config list (or, on delete, counted).
            if new == nil || before != after { reads.usersOf = [(new ?? previous)!.key] }
        case .bootConfig:
            if new == nil { reads.usersOf = [previous!.key] }
            if let next = new?.annotations[BootHandOff.nextConfigAnnotation], !next.isEmpty { reads.objects = [ObjectKey(.bootConfig, name: next)] }
        case .bootEvent, .auditEvent:
            break
        }
        return reads
    }

    /// What a host holds alone (its MACs, its `spec.ip`), as claim names for the store.
    static func claims(of host: ResourceObject) -> Set<String> {
        var out = Set(ResourceIndex.State.macs(of: host).map { "mac/\($0)" })
        if !host.ip.isEmpty { out.insert("ip/\(host.ip)") }
        return out
    }

    /// The config and ISO a host uses.
    static func used(by host: ResourceObject) -> Set<ObjectKey> {
        var out: Set<ObjectKey> = []
        if !host.image.isEmpty, host.image != localBootImage { out.insert(ObjectKey(.iscsiCdrom, name: host.image)) }
        if !host.bootConfigRef.isEmpty { out.insert(ObjectKey(.bootConfig, name: host.bootConfigRef)) }
        return out
    }

    static func checkDelete(_ object: ResourceObject, _ state: State) throws(APIError) {
        var referrers: [String] = []
        switch object.kind {
        case .bootConfig:
            referrers += state.hosts(referencingConfig: object.name).map { "host \($0.key)" }
            referrers += state.isos(listingConfig: object.name).map { "ISO \($0.name)" }
            referrers += state.all(.bootConfig).filter { $0.annotations[BootHandOff.nextConfigAnnotation] == object.name }
                .map { "config \($0.name) (as its next config)" }.sorted()
        case .iscsiCdrom:
            referrers += state.hosts(bootingISO: object.name).map { "host \($0.key)" }
            referrers += (object.json.value(at: ["status", "subscribers"])?.arrayValue ?? []).compactMap { $0["name"]?.stringValue }.map { "subscriber \($0)" }
        case .bareMetalHost, .bootEvent, .auditEvent:
            break
        }
        if !referrers.isEmpty {
            throw .conflict(object.key, "cannot delete \(object.kind.rawValue) \"\(object.name)\": still referenced by \(referrers.joined(separator: ", ")); remove those references first")
        }
    }
}
