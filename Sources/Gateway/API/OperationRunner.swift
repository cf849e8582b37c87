/// Runs operations for every transport (REST, JSON-RPC over HTTP and WebSocket, the boot lane's
/// inline routes): the access check first, then the handler, and a server failure logged
/// whichever way the request came. Handlers never check access themselves.
public struct OperationRunner: Sendable {
    public let service: Service
    public let policy: AccessPolicy

    public init(service: Service, policy: AccessPolicy = AccessPolicy()) {
        self.service = service
        self.policy = policy
    }

    public func run(_ op: Operation, _ request: OperationRequest) async throws(APIError) -> OperationResult {
        let req = try policy.authorize(op, request)
        // A watch lives as long as its token does.
        if let control = req.watchControl, let token = AccessPolicy.bearerToken(req.headers["authorization"]) {
            policy.tokens?.bind(control, to: token)
        }
        do {
            return try await op.handler(service, req)
        } catch {
            service.noteFailure(of: op.id, error)
            throw error
        }
    }

    /// The inline form, on the connection's event loop: nil when the operation declined (it then
    /// has done nothing and the request goes on to `run`).
    func runInline(_ op: Operation, _ request: OperationRequest) throws(APIError) -> OperationResult? {
        guard let inline = op.inline else { return nil }
        let req = try policy.authorize(op, request)
        do {
            return try inline(service, req)
        } catch {
            service.noteFailure(of: op.id, error)
            throw error
        }
    }
}
