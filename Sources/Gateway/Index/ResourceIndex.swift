import Synchronization

/// The in-memory view every read is served from, kept current from the store's change log.
/// The boot path looks hosts up here by MAC and IP without touching the disk.
public final class ResourceIndex: Sendable {
    public struct State: Sendable {
        public var revision: Int64 = 0
        public var objects: [ResourceKind: [ObjectKey: ResourceObject]] = [:]
        /// Normalised MAC (boot MAC and NIC MACs) → hosts.
        public var hostsByMAC: [String: Set<ObjectKey>] = [:]
        /// `spec.ip` and `spec.nics[].ip` → hosts, with whether it is the primary IP.
        public var hostsByIP: [String: Set<ObjectKey>] = [:]
        public var hostsByNICIP: [String: Set<ObjectKey>] = [:]
        /// `spec.bootConfigRef` and `spec.image` → hosts, so reference checks are not scans.
        public var hostsByConfig: [String: Set<ObjectKey>] = [:]
        public var hostsByImage: [String: Set<ObjectKey>] = [:]
        /// Every host as the config path reads it.
        public var bootHosts: [ObjectKey: BootHost] = [:]
        /// Counts the changes an iPXE script can depend on: every change but a host's status
        /// (its boot counters). Scripts cached under one count are good while it stands.
        public var scriptEpoch: Int64 = 0

        public func object(_ key: ObjectKey) -> ResourceObject? { objects[key.kind]?[key] }
        public func all(_ kind: ResourceKind) -> [ResourceObject] { Array((objects[kind] ?? [:]).values) }

        /// The hosts with an address, by `spec.ip` first, then `spec.nics[].ip`.
        public func hostKeys(forIP ip: String) -> Set<ObjectKey> {
            if let keys = hostsByIP[ip], !keys.isEmpty { return keys }
            return hostsByNICIP[ip] ?? []
        }

        /// Hosts that reference a config through `bootConfigRef`.
        public func hosts(referencingConfig name: String) -> [ResourceObject] {
            (hostsByConfig[name] ?? []).sorted().compactMap { object($0) }
        }
        public func hosts(bootingISO name: String) -> [ResourceObject] {
            (hostsByImage[name] ?? []).sorted().compactMap { object($0) }
        }
        /// `status.assignedTo` of a config: the names of the hosts referencing it. Derived here
        /// when read, never stored, so a host write does not rewrite its config.
        public func hostNames(usingConfig name: String) -> [String] {
            Array(Set((hostsByConfig[name] ?? []).map(\.name))).sorted()
        }
        public func isos(listingConfig name: String) -> [ResourceObject] {
            all(.iscsiCdrom).filter { $0.bootConfigs.contains(name) }.sorted { $0.key < $1.key }
        }

        /// Puts an object; true for a host whose config may now render differently (not a status
        /// update: boot counters are no input to it), for `Service.precheck`.
        @discardableResult
        mutating func put(_ object: ResourceObject) -> Bool {
            let old = self.object(object.key)
            let isHost = object.kind == .bareMetalHost
            // Scripts depend on a host's spec; a status update leaves them and every lookup table
            // (all built from the spec) as they are.
            let sameSpec = isHost && old.map { $0.json["spec"] == object.json["spec"] } == true
            // …and on its boot-method annotations (`BootAnnotation`), which a status update never touches.
            let sameScript = sameSpec && old.map { Self.bootAnnotations($0) == Self.bootAnnotations(object) } == true
            // Events feed no script: a storm's event batches must not retire cached scripts.
            if !sameScript, !object.kind.isEvent { scriptEpoch += 1 }
            let sameInputs = sameSpec && old.map { old in
                old.json["metadata"]?["labels"] == object.json["metadata"]?["labels"]
                    && old.json["metadata"]?["annotations"] == object.json["metadata"]?["annotations"]
            } == true
            if let old, sameSpec || !isHost || Self.lookupFields(old) == Self.lookupFields(object) {
                objects[object.kind, default: [:]][object.key] = object
            } else {
                if let old { remove(old) }
                objects[object.kind, default: [:]][object.key] = object
                if isHost { addLookups(object) }
            }
            if isHost, !sameInputs { bootHosts[object.key] = BootHost(object) }
            return isHost && !sameInputs
        }

        private mutating func addLookups(_ host: ResourceObject) {
            for mac in Self.macs(of: host) { hostsByMAC[mac, default: []].insert(host.key) }
            if !host.ip.isEmpty { hostsByIP[host.ip, default: []].insert(host.key) }
            for nic in host.nics where !nic.ip.isEmpty { hostsByNICIP[nic.ip, default: []].insert(host.key) }
            if !host.bootConfigRef.isEmpty { hostsByConfig[host.bootConfigRef, default: []].insert(host.key) }
            if !host.image.isEmpty { hostsByImage[host.image, default: []].insert(host.key) }
        }

        static func bootAnnotations(_ o: ResourceObject) -> [String: String] {
            o.annotations.filter { BootAnnotation.all.contains($0.key) }
        }

        mutating func remove(_ object: ResourceObject) {
            if !object.kind.isEvent { scriptEpoch += 1 }
            objects[object.kind]?[object.key] = nil
            guard object.kind == .bareMetalHost else { return }
            bootHosts[object.key] = nil
            for mac in Self.macs(of: object) { Self.drop(object.key, from: &hostsByMAC, at: mac) }
            if !object.ip.isEmpty { Self.drop(object.key, from: &hostsByIP, at: object.ip) }
            for nic in object.nics where !nic.ip.isEmpty { Self.drop(object.key, from: &hostsByNICIP, at: nic.ip) }
            if !object.bootConfigRef.isEmpty { Self.drop(object.key, from: &hostsByConfig, at: object.bootConfigRef) }
            if !object.image.isEmpty { Self.drop(object.key, from: &hostsByImage, at: object.image) }
        }

        private static func drop(_ key: ObjectKey, from map: inout [String: Set<ObjectKey>], at index: String) {
            map[index]?.remove(key)
            if map[index]?.isEmpty == true { map[index] = nil }
        }

        /// The hosts whose config a config or ISO goes into.
        func hostsUsing(_ object: ResourceObject) -> Set<ObjectKey> {
            switch object.kind {
            case .bareMetalHost, .bootEvent, .auditEvent: []
            case .bootConfig: hostsByConfig[object.name] ?? []
            case .iscsiCdrom: hostsByImage[object.name] ?? []
            }
        }

        /// What the lookup tables are built from.
        static func lookupFields(_ host: ResourceObject) -> [String] {
            [host.bootMAC, host.ip, host.bootConfigRef, host.image] + host.nics.flatMap { [$0.mac, $0.ip] }
        }

        /// A host's MACs, normalised. mkube's placeholder `00:00:00:00:00:00` (several hosts carry
        /// it) is none: never matched by `/ipxe`, never a uniqueness conflict.
        static func macs(of host: ResourceObject) -> Set<String> {
            var out = Set<String>()
            for raw in [host.bootMAC] + host.nics.map(\.mac) {
                if let m = MACAddress.normalize(raw), m != MACAddress.placeholder { out.insert(m) }
            }
            return out
        }
    }

    private let state = Mutex(State())
    /// `State.scriptEpoch`, readable without the lock: a cached script's check on the boot path.
    private let epoch = Atomic<Int64>(0)

    public init() {}

    public func load(_ snapshot: StoreSnapshot) {
        state.withLock { s in
            let epoch = s.scriptEpoch
            s = State()
            for o in snapshot.objects { s.put(o) }
            s.revision = snapshot.revision
            s.scriptEpoch += epoch + 1 // never a count an earlier state had
            self.epoch.store(s.scriptEpoch, ordering: .releasing)
        }
    }

    /// Applies committed changes; returns the hosts whose config may now render differently
    /// (the host's own fields, or what a template reads of its config or ISO), for
    /// `Service.precheck`. A label on a config changes no host.
    @discardableResult
    public func apply(_ changes: [StoredChange]) -> Set<ObjectKey> {
        state.withLock { s in
            var affected: Set<ObjectKey> = []
            for c in changes {
                let new = c.type == .deleted ? nil : c.object
                if c.object.kind != .bareMetalHost, RenderInputs.differ(s.object(c.object.key), new) {
                    affected.formUnion(s.hostsUsing(c.object))
                }
                if c.type == .deleted {
                    s.remove(c.object)
                } else if s.put(c.object) {
                    affected.insert(c.object.key)
                }
                s.revision = max(s.revision, c.revision)
            }
            epoch.store(s.scriptEpoch, ordering: .releasing)
            return affected.filter { s.bootHosts[$0] != nil }
        }
    }

    /// Changes only after the state it describes is in place, so a script cached under the
    /// current value was written from a state no older than any reader's.
    public var scriptEpoch: Int64 { epoch.load(ordering: .acquiring) }

    /// Runs `body` on the current state under the lock: keep it short.
    public func read<T: Sendable, E: Error>(_ body: (borrowing State) throws(E) -> T) throws(E) -> T {
        try state.withLock { (s: inout State) throws(E) -> T in try body(s) }
    }

    public var revision: Int64 { state.withLock { $0.revision } }
    public func object(_ key: ObjectKey) -> ResourceObject? { state.withLock { $0.object(key) } }
    public func count(_ kind: ResourceKind) -> Int { state.withLock { $0.objects[kind]?.count ?? 0 } }
}
