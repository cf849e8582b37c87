import Foundation

/// Who may run what: the one check every transport passes through (`OperationRunner` for REST,
/// JSON-RPC per method, WebSocket and the boot lane's inline routes; `page` for the web page's
/// files and unknown paths).
///
/// Without a token file everything is open, as on a loopback-only default install; the boot
/// networks and the CORS rules apply either way. With one, every request but the boot path and
/// `/healthz` needs a bearer token, and its role decides what it may do. The boot endpoints
/// stay open (firmware cannot send tokens) but only to `--boot-network` addresses when set.
public struct AccessPolicy: Sendable {
    public let tokens: TokenStore?
    public let bootNetworks: [CIDR]

    public init(tokens: TokenStore? = nil, bootNetworks: [CIDR] = []) {
        self.tokens = tokens
        self.bootNetworks = bootNetworks
    }

    /// What an operation needs, read from the operation table: nothing is declared per handler.
    enum Need: Equatable {
        /// Firmware and installers: open, limited to the boot networks.
        case boot
        /// Files inside ISOs: open to the boot networks (machines fetch kernels and initrds the
        /// way they reach the ISO over iSCSI, without a token); any role elsewhere.
        case bootOrRead
        /// Liveness probes.
        case open
        case read
        /// `/metrics`: a scraper on the same machine needs no token; elsewhere any role.
        case metrics
        /// Hosts' fields within the caller's `HostWriteScope`.
        case hostWrite
        /// Refresh requests on hosts.
        case hostAction
        case admin
    }

    static let bootOperations: Set<String> = ["boot.chain", "boot.ipxe", "boot.config", "boot.complete", "boot.ipxeBySourceIP", "boot.localboot"]
    static let openOperations: Set<String> = ["system.health"]
    static let bootOrReadOperations: Set<String> = ["iscsicdroms.files"]
    static let metricsOperations: Set<String> = ["system.metrics"]
    static let hostWrites: Set<String> = ["baremetalhosts.patch", "baremetalhosts.replace"]
    // configchecks renders every host's config: not something a viewer may start at will.
    static let hostActions: Set<String> = ["baremetalhosts.refresh", "baremetalhosts.refreshAll", "baremetalhosts.power", "configs.renderEveryHost"]

    static func need(_ op: Operation) -> Need {
        if bootOperations.contains(op.id) { return .boot }
        if openOperations.contains(op.id) { return .open }
        if bootOrReadOperations.contains(op.id) { return .bootOrRead }
        if metricsOperations.contains(op.id) { return .metrics }
        if hostActions.contains(op.id) { return .hostAction }
        if op.method == .get { return .read }
        if hostWrites.contains(op.id) { return .hostWrite }
        return .admin
    }

    /// What an operation needs, in words, for the OpenAPI document (`x-bootgate-access`).
    static func describe(_ op: Operation) -> (text: String, needsToken: Bool) {
        switch op.access ?? need(op) {
        case .boot: return ("boot path: no token; limited to --boot-network when set", false)
        case .open: return ("open", false)
        case .bootOrRead: return ("no token from --boot-network addresses (any address when none is set); elsewhere any role", false)
        case .read: return ("any role; includeSecrets=true needs bmc-agent or admin", true)
        case .metrics: return ("any role; no token from loopback", true)
        case .hostWrite: return ("admin; operator and bmc-agent for their host fields only (docs/security.md)", true)
        case .hostAction: return ("operator or admin", true)
        case .admin: return ("admin", true)
        }
    }

    /// The request with its grant, or 401 (no or unknown token) / 403 (role or address).
    func authorize(_ op: Operation, _ request: OperationRequest) throws(APIError) -> OperationRequest {
        var req = request
        let need = op.access ?? Self.need(op)
        switch need {
        case .boot:
            guard bootNetworks.isEmpty || bootNetworks.contains(where: { $0.contains(req.remoteIP) }) else {
                throw Self.forbidden("\(op.id) is served to the boot networks only (--boot-network)")
            }
            return req
        case .open:
            return req
        case .bootOrRead:
            let fromBootNetwork = bootNetworks.isEmpty ? tokens == nil || req.headers["authorization"] == nil : bootNetworks.contains(where: { $0.contains(req.remoteIP) })
            if fromBootNetwork { return req }
        case .metrics:
            if Self.isLoopback(req.remoteIP) { return req }
        case .read, .hostWrite, .hostAction, .admin:
            break
        }
        guard let caller = try authenticate(req.headers["authorization"]) else { return req }
        req.grant.caller = caller
        if req.flag("includeSecrets"), !caller.role.readsSecrets {
            throw Self.forbidden("role \(caller.role.rawValue) may not read secrets (includeSecrets=true needs bmc-agent or admin)")
        }
        switch need {
        case .read, .boot, .open, .bootOrRead, .metrics:
            break
        case .hostWrite:
            guard let scope = caller.role.hostWriteScope else { break }
            if scope.paths.isEmpty { throw Self.forbidden("role \(caller.role.rawValue) may not change hosts (\(op.id))") }
            req.grant.hostScope = scope
        case .hostAction:
            guard caller.role == .operator || caller.role == .admin else {
                throw Self.forbidden("role \(caller.role.rawValue) may not run \(op.id); it needs operator or admin")
            }
        case .admin:
            guard caller.role == .admin else { throw Self.forbidden("role \(caller.role.rawValue) may not run \(op.id); it needs admin") }
        }
        return req
    }

    /// The web page's files are open: they hold no data, and a browser cannot attach a token to
    /// a page load. Anything else that no operation serves (a 404 to be) needs a token, so an
    /// anonymous client learns nothing from probing paths.
    func authorizePage(isAsset: Bool, authorization: String?) throws(APIError) {
        if isAsset { return }
        _ = try authenticate(authorization)
    }

    /// The token of an `Authorization: Bearer …` header.
    static func bearerToken(_ authorization: String?) -> String? {
        guard let header = authorization, header.count > 7, header.prefix(7).lowercased() == "bearer " else { return nil }
        return header.dropFirst(7).trimmingCharacters(in: .whitespaces)
    }

    /// The caller a token names; nil when no token file is configured (everything open).
    func authenticate(_ authorization: String?) throws(APIError) -> Caller? {
        guard let tokens else { return nil }
        guard let token = Self.bearerToken(authorization) else {
            throw Self.unauthorized("this bootgate needs a bearer token (Authorization: Bearer <token>); `bootgate token create` makes one")
        }
        guard let entry = tokens.lookup(token) else { throw Self.unauthorized("the bearer token is not valid (unknown or revoked)") }
        return Caller(name: entry.name, role: entry.role)
    }

    static func isLoopback(_ ip: String) -> Bool {
        ip.hasPrefix("127.") || ip == "::1" || ip.hasPrefix("::ffff:127.")
    }

    static func unauthorized(_ message: String) -> APIError { APIError(code: 401, reason: "Unauthorized", message: message) }
    static func forbidden(_ message: String) -> APIError { APIError(code: 403, reason: "Forbidden", message: message) }
}

/// Who made a request, as its token says.
public struct Caller: Sendable, Equatable {
    public var name: String
    public var role: Role
}

/// What the access check allowed, carried with the request to the operation.
public struct Grant: Sendable {
    /// nil without a token file.
    public var caller: Caller?
    /// nil: any field of a host may change.
    public var hostScope: HostWriteScope?
    public init() {}
}
