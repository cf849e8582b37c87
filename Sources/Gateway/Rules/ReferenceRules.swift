/// The spec's validation across resources (boot-architecture.md, "Validation"), checked against
/// the index in the same critical section as the commit:
/// 1. a host's `image` is empty, `localboot`, or an existing ISCSICdrom;
/// 2. its `bootConfigRef`, when set, names an existing BootConfig;
/// 3. on an ISO, the ref must be in the ISO's `bootConfigs`, and empty when that list is empty;
/// 4. with `localboot` any existing config may be referenced;
/// 5. nothing referenced can be deleted or unlisted while in use, and every listed config exists.
enum ReferenceRules {
    typealias State = ResourceIndex.State

    static func check(_ object: ResourceObject, previous: ResourceObject?, _ state: State) throws(APIError) {
        switch object.kind {
        case .bareMetalHost: try checkHost(object, state)
        case .iscsiCdrom: try checkISO(object, previous: previous, state)
        case .bootConfig: break
        }
    }

    static func checkHost(_ host: ResourceObject, _ state: State) throws(APIError) {
        let image = host.image
        let ref = host.bootConfigRef
        let who = "host \(host.key)"
        var causes: [APIError.Cause] = []

        var iso: ResourceObject?
        if !image.isEmpty && image != localBootImage {
            iso = state.object(ObjectKey(.iscsiCdrom, name: image))
            if iso == nil {
                causes.append(.init(field: "spec.image", message: "\(who): ISCSICdrom \"\(image)\" does not exist; choose one of: \((state.all(.iscsiCdrom).map(\.name).sorted() + [localBootImage]).joined(separator: ", ")), or leave it empty"))
            }
        }
        if !ref.isEmpty, state.object(ObjectKey(.bootConfig, name: ref)) == nil {
            let all = state.all(.bootConfig).map(\.name).sorted()
            causes.append(.init(field: "spec.bootConfigRef", message: "\(who): BootConfig \"\(ref)\" does not exist; existing configs: \(all.isEmpty ? "none" : all.joined(separator: ", "))"))
        } else if let iso, !ref.isEmpty {
            let allowed = iso.bootConfigs
            if allowed.isEmpty {
                causes.append(.init(field: "spec.bootConfigRef", message: "\(who): ISO \"\(iso.name)\" takes no boot config (its spec.bootConfigs is empty), so bootConfigRef must be empty, not \"\(ref)\""))
            } else if !allowed.contains(ref) {
                causes.append(.init(field: "spec.bootConfigRef", message: "\(who): BootConfig \"\(ref)\" is not compatible with ISO \"\(iso.name)\"; allowed configs: \(allowed.joined(separator: ", "))"))
            }
        }
        if !causes.isEmpty { throw .invalid(.bareMetalHost, host.name, causes) }

        // Two hosts with one MAC would make /ipxe ambiguous.
        for mac in ResourceIndex.State.macs(of: host) {
            let others = (state.hostsByMAC[mac] ?? []).filter { $0 != host.key }.sorted()
            if !others.isEmpty {
                throw .conflict(host.key, "MAC \(mac) is already used by host \(others.map(\.description).joined(separator: ", "))")
            }
        }
    }

    static func checkISO(_ iso: ResourceObject, previous: ResourceObject?, _ state: State) throws(APIError) {
        let missing = iso.bootConfigs.filter { state.object(ObjectKey(.bootConfig, name: $0)) == nil }
        if !missing.isEmpty {
            let all = state.all(.bootConfig).map(\.name).sorted()
            throw .invalid(.iscsiCdrom, iso.name, [.init(field: "spec.bootConfigs", message: "ISO \"\(iso.name)\" lists BootConfig \(missing.map { "\"\($0)\"" }.joined(separator: ", ")) which does not exist; existing configs: \(all.isEmpty ? "none" : all.joined(separator: ", "))")])
        }
        // A host on this ISO must keep a compatible config.
        let users = state.hosts(bootingISO: iso.name)
        var broken: [String] = []
        for host in users where !host.bootConfigRef.isEmpty && !iso.bootConfigs.contains(host.bootConfigRef) {
            broken.append("host \(host.key) uses \"\(host.bootConfigRef)\"")
        }
        if !broken.isEmpty {
            throw .conflict(iso.key, "cannot remove configs from ISO \"\(iso.name)\" that hosts on it use: \(broken.joined(separator: "; ")); change those hosts first")
        }
    }

    static func checkDelete(_ object: ResourceObject, _ state: State) throws(APIError) {
        var referrers: [String] = []
        switch object.kind {
        case .bootConfig:
            referrers += state.hosts(referencingConfig: object.name).map { "host \($0.key)" }
            referrers += state.isos(listingConfig: object.name).map { "ISO \($0.name)" }
        case .iscsiCdrom:
            referrers += state.hosts(bootingISO: object.name).map { "host \($0.key)" }
            referrers += (object.json.value(at: ["status", "subscribers"])?.arrayValue ?? []).compactMap { $0["name"]?.stringValue }.map { "subscriber \($0)" }
        case .bareMetalHost:
            break
        }
        if !referrers.isEmpty {
            throw .conflict(object.key, "cannot delete \(object.kind.rawValue) \"\(object.name)\": still referenced by \(referrers.joined(separator: ", ")); remove those references first")
        }
    }
}
