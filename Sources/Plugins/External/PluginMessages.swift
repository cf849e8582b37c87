import Renderers

/// One request to a plugin, written as JSON to its stdin. See docs/plugins.md.
struct PluginRequest: Encodable, Sendable {
    static let protocolVersion = 1

    enum Operation: String, Encodable, Sendable { case describe, validate, render }

    var `protocol` = PluginRequest.protocolVersion
    var op: Operation
    var format: String
    var files: [String: String]?
    var file: String?
    var context: PluginContext?
    var accept: String?

    static func describe(format: String) -> PluginRequest {
        PluginRequest(op: .describe, format: format)
    }

    static func validate(format: String, files: [String: String]) -> PluginRequest {
        PluginRequest(op: .validate, format: format, files: files, context: PluginContext(.sample))
    }

    static func render(format: String, file: String, files: [String: String], context: RenderContext,
                       options: RenderOptions) -> PluginRequest {
        PluginRequest(op: .render, format: format, files: files, file: file, context: PluginContext(context),
                      accept: options.accept)
    }
}

/// `RenderContext` as plugins see it: plain JSON, `iso` present and `null` for local boots.
struct PluginContext: Encodable, Sendable {
    struct NIC: Encodable, Sendable {
        var mac, ip, role, hostname, network: String
    }
    struct Host: Encodable, Sendable {
        var name, namespace, hostname, mac, ip: String
        var nics: [NIC]
        var labels: [String: String]
        var annotations: [String: String]
    }
    struct ISO: Encodable, Sendable {
        var name, targetIQN, portal: String
        var portalPort: Int
    }
    struct Server: Encodable, Sendable {
        var url, bootconfigURL: String
    }

    var host: Host
    var iso: ISO?
    var server: Server

    init(_ context: RenderContext) {
        let host = context.host
        self.host = Host(name: host.name, namespace: host.namespace, hostname: host.hostname, mac: host.mac, ip: host.ip,
                         nics: host.nics.map { NIC(mac: $0.mac, ip: $0.ip, role: $0.role, hostname: $0.hostname, network: $0.network) },
                         labels: host.labels, annotations: host.annotations)
        self.iso = context.iso.map { ISO(name: $0.name, targetIQN: $0.targetIQN, portal: $0.portal, portalPort: $0.portalPort) }
        self.server = Server(url: context.server.url, bootconfigURL: context.server.bootconfigURL)
    }

    enum CodingKeys: String, CodingKey { case host, iso, server }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(host, forKey: .host)
        // Explicit null: plugins can tell "boots its disk" from a missing field.
        try container.encode(iso, forKey: .iso)
        try container.encode(server, forKey: .server)
    }
}

/// `{"error": "…"}`, which any operation may answer instead of its normal response.
struct PluginErrorResponse: Decodable {
    var error: String?
}

struct PluginDescribeResponse: Decodable {
    var `protocol`: Int?
    var format: String?
    var contentType: String
    var mainFileNames: [String]?
    var variables: [TemplateVariable]?
}

struct PluginValidateResponse: Decodable {
    var diagnostics: [Diagnostic]
}

struct PluginRenderResponse: Decodable {
    /// Base64 of the rendered bytes.
    var body: String?
    /// The rendered file as UTF-8 text, for plugins that render text; `body` wins if both are set.
    var text: String?
    var contentType: String?
    var diagnostics: [Diagnostic]?
    /// The client cannot take this config (the boot path answers 406).
    var notAcceptable: Bool?
}
