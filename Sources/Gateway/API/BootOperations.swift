import Renderers

/// The endpoints booting machines call, plus preview, the boot event list and the renderer list.
enum BootOperations {
    static let ipxeText = "text/plain; charset=utf-8"
    /// What config files are served as, by format (plugins may add others).
    static let configContentTypes = ["application/vnd.coreos.ignition+json", "text/plain", "text/yaml", "application/octet-stream"]

    static func all() -> [Operation] {
        let script = Operation.Response(200, "iPXE script", contentTypes: ["text/plain"])
        return [
            Operation.inline(id: "boot.chain", method: .get, path: "/boot.ipxe", summary: "The chain script firmware loads first: dhcp, then /ipxe with the NIC's MAC", tag: "boot",
                      parameters: [], body: nil, responses: [script], inline: { service, _ throws(APIError) in
                service.metrics.boot(.chain, .served)
                return .bytes(Array(try service.boot.chainScript().utf8), contentType: ipxeText, status: 200, headers: [])
            }),
            handingOff(Operation.inline(id: "boot.ipxe", method: .get, path: "/ipxe", summary: "The iPXE script for a MAC: sanboot the host's ISO, boot the local disk, or explain and exit", tag: "boot",
                      parameters: [.init("mac", "MAC address in any case, separated by ':' or '-' or not at all", required: true)], body: nil,
                      responses: [script, .init(400, "Malformed MAC", schema: "Status")], inline: { service, req throws(APIError) in
                guard let mac = req.query["mac"], !mac.isEmpty else { throw .badRequest("query parameter mac is required, e.g. /ipxe?mac=${netX/mac}") }
                return .bytes(try service.ipxe(mac: mac, record: true, ip: clientIP(service, req)), contentType: ipxeText, status: 200, headers: [])
            })),
            Operation.inline(id: "boot.config", method: .get, path: "/api/v1/bootconfig",
                      summary: "The calling machine's config, found by its source address and rendered for it", tag: "boot",
                      parameters: [.init("file", "Which file of the config, when it has several")], body: nil,
                      responses: [.init(200, "The rendered config", contentTypes: configContentTypes),
                                  .init(404, "No host with that IP, or no config", schema: "Status"), .init(409, "Several hosts with that IP", schema: "Status"),
                                  .init(406, "The client cannot take this config (Ignition spec version)", schema: "Status")],
                      inline: { service, req throws(APIError) in
                try service.configNow(forIP: clientIP(service, req), file: req.query["file"], accept: req.accept).map(configResult)
            }, orElse: { service, req throws(APIError) in
                // Only configs whose renderer is a plugin get here.
                configResult(try await service.config(forIP: clientIP(service, req), file: req.query["file"], accept: req.accept))
            }),
            Operation(id: "boot.complete", method: .post, path: "/api/v1/boot-complete",
                      summary: "The calling machine finished installing: its host switches to localboot and to its next config (the request's, the host's or its installer config's bootgate.io/next-boot-config), else to none", tag: "boot",
                      parameters: [], body: .init(schema: "BootComplete", contentTypes: ["application/json"], required: false),
                      responses: [.init(200, "Switched", schema: "Object"), .init(404, "No host with that IP", schema: "Status")]) { service, req throws(APIError) in
                let next = try nextBootConfig(req)
                let (host, ref) = try await service.bootComplete(ip: clientIP(service, req), nextConfig: next)
                var out = JSONObject([("status", "ok"), ("host", .string(host.name)), ("image", .string(localBootImage))])
                if !ref.isEmpty { out["bootConfigRef"] = .string(ref) }
                return .json(.object(out), status: 200)
            },
            handingOff(Operation.inline(id: "boot.ipxeBySourceIP", method: .get, path: "/api/v1/ipxe/boot",
                      summary: "mkube's iPXE endpoint: the script for the calling machine's source address (exit when nothing matches)", tag: "boot",
                      parameters: [], body: nil, responses: [script], inline: { service, req throws(APIError) in
                let ip = clientIP(service, req)
                guard let host = try? service.boot.host(forIP: ip), let mac = MACAddress.normalize(host.bootMAC) else {
                    return .bytes(Array("#!ipxe\nexit\n".utf8), contentType: ipxeText, status: 200, headers: [])
                }
                return .bytes(try service.ipxe(mac: mac, record: true, ip: ip), contentType: ipxeText, status: 200, headers: [])
            })),
            handingOff(Operation.inline(id: "boot.localboot", method: .get, path: "/api/v1/ipxe/localboot", summary: "mkube's legacy local-boot script", tag: "boot",
                      parameters: [], body: nil, responses: [script], inline: { _, _ throws(APIError) in
                .bytes(Array("#!ipxe\nexit\n".utf8), contentType: ipxeText, status: 200, headers: [])
            })),
            Operation.inline(id: "bootconfigs.serve", method: .get, path: "/api/v1/bootconfigs/{name}/serve",
                      summary: "A config's main file as stored (no host, no rendering), as mkube serves it", tag: ResourceKind.bootConfig.rawValue,
                      parameters: [.init("name", "BootConfig name", in: .path, required: true)], body: nil,
                      responses: [.init(200, "The file, with its format's content type", contentTypes: configContentTypes), .init(404, "Not found", schema: "Status")], inline: { service, req throws(APIError) in
                let (config, renderer) = try configAndRenderer(service, req.pathValue("name"))
                let file = try service.boot.pickFile(config.data, requested: nil, renderer: renderer, config: config.name)
                return .bytes(Array((config.data[file] ?? "").utf8), contentType: renderer.contentType, status: 200, headers: [])
            }),
            Operation.inline(id: "bootconfigs.file", method: .get, path: "/api/v1/bootconfigs/{name}/files/{filename}",
                      summary: "One file of a config as stored", tag: ResourceKind.bootConfig.rawValue,
                      parameters: [.init("name", "BootConfig name", in: .path, required: true), .init("filename", "File name", in: .path, required: true)], body: nil,
                      responses: [.init(200, "The file", contentTypes: ["application/octet-stream"]), .init(404, "Not found", schema: "Status")], inline: { service, req throws(APIError) in
                let (config, renderer) = try configAndRenderer(service, req.pathValue("name"))
                let file = try service.boot.pickFile(config.data, requested: req.pathValue("filename"), renderer: renderer, config: config.name)
                return .bytes(Array((config.data[file] ?? "").utf8), contentType: "application/octet-stream", status: 200, headers: [])
            }),
            Operation(id: "baremetalhosts.preview", method: .get, path: "/api/v1/namespaces/{namespace}/baremetalhosts/{name}/preview",
                      summary: "What the host gets if it boots now: iPXE script, rendered config, problems (records nothing)", tag: ResourceKind.bareMetalHost.rawValue,
                      parameters: [.init("namespace", "Namespace", in: .path, required: true), .init("name", "Host name", in: .path, required: true),
                                   .init("config", "Render this BootConfig for the host instead of its own")], body: nil,
                      responses: [.init(200, "The preview", schema: "Preview"), .init(404, "Not found", schema: "Status")]) { service, req throws(APIError) in
                .json(try await service.preview(ObjectKey(.bareMetalHost, namespace: req.pathValue("namespace"), name: req.pathValue("name")),
                                                config: req.query["config"]), status: 200)
            },
            Operation(id: "configs.renderEveryHost", method: .get, path: "/api/v1/configchecks",
                      summary: "Every host's config rendered as it would be served now: how many rendered, and the hosts that would be refused, with why (bootgate render --every-host --server)",
                      tag: "boot", parameters: [], body: nil, responses: [.init(200, "The check", schema: "Object")]) { service, _ throws(APIError) in
                .json(await service.configCheck(), status: 200)
            },
            Operation(id: "events.list", method: .get, path: "/api/v1/events", summary: "Boot events (iPXE fetch, config fetch, boot-complete, refusals), oldest first, with the time since the host's previous one (the BootEvent objects of /api/v1/bootevents, in short)", tag: "boot",
                      parameters: [.init("host", "Only this host, as namespace/name"), .init("limit", "At most this many (newest)", type: "integer")], body: nil,
                      responses: [.init(200, "Events", schema: "EventList")]) { service, req throws(APIError) in
                var limit = 1000
                if let l = req.query["limit"], !l.isEmpty {
                    guard let v = Int(l), v > 0 else { throw .badRequest("limit \"\(l)\" must be a positive integer") }
                    limit = v
                }
                return .json(eventList(service.bootEventList(host: req.query["host"].flatMap { $0.isEmpty ? nil : $0 }, limit: limit)), status: 200)
            },
            Operation(id: "renderers.list", method: .get, path: "/api/v1/renderers", summary: "Config formats bootgate validates and renders, with content types and template variables", tag: "boot",
                      parameters: [], body: nil, responses: [.init(200, "Renderers", schema: "Object")]) { service, _ throws(APIError) in
                let items: [JSONValue] = service.renderers.summaries.map { r in
                    var o = JSONObject([("format", .string(r.format)), ("contentType", .string(r.contentType)),
                                        ("mainFileNames", .array(r.mainFileNames.map { .string($0) })), ("source", .string(r.source))])
                    if !r.bootMethods.isEmpty {
                        let methods = service.renderers.bootMethods
                        o["bootMethods"] = .array(r.bootMethods.compactMap { methods.method($0) }.map { m in
                            .object(JSONObject([("name", .string(m.name)), ("summary", .string(m.summary)),
                                                ("source", .string(methods.isBuiltin(m.name) ? "builtin" : "plugin"))]))
                        })
                    }
                    return .object(o)
                }
                let variables: [JSONValue] = TemplateEngine.variables.map { v in
                    .object(JSONObject([("name", .string(v.name)), ("description", .string(v.description))]))
                }
                return .json(.object(JSONObject([("kind", "RendererList"), ("items", .array(items)), ("variables", .array(variables))])), status: 200)
            },
        ]
    }

    /// The operation, marked as the client's last HTTP answer (`Operation.endsClientHTTP`).
    static func handingOff(_ op: Operation) -> Operation {
        var op = op
        op.endsClientHTTP = true
        return op
    }

    static func configResult(_ served: BootResolver.ServedConfig) -> OperationResult {
        .bytes(served.rendered.body, contentType: served.rendered.contentType, status: 200, headers: [])
    }

    static func clientIP(_ service: Service, _ req: OperationRequest) -> String {
        SourceIPResolver(trustedProxies: service.settings.trustedProxies).clientIP(peer: req.remoteIP, forwardedFor: req.headers["x-forwarded-for"])
    }

    /// Installers post with whatever their tool sends (`curl -d` is a form): JSON, a form, or
    /// nothing at all are all accepted, as mkube ignores the body entirely.
    static func nextBootConfig(_ req: OperationRequest) throws(APIError) -> String? {
        if req.contentType?.lowercased().hasPrefix("application/x-www-form-urlencoded") == true {
            return QueryString.parse(String(decoding: req.body, as: UTF8.self))["nextBootConfig"]
        }
        guard req.parsedBody != nil || !req.body.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D }) else { return nil }
        var r = req
        r.contentType = "application/json"
        let body = try RequestBody.decode(r)
        guard let v = body["nextBootConfig"], !v.isNull else { return nil }
        guard let s = v.stringValue else { throw .badRequest("nextBootConfig must be a string") }
        return s
    }

    static func configAndRenderer(_ service: Service, _ name: String) throws(APIError) -> (ResourceObject, any Renderer) {
        let config = try service.get(ObjectKey(.bootConfig, name: name))
        guard let renderer = service.renderers.renderer(for: config.format) else {
            throw .internalError("BootConfig \"\(name)\" has format \"\(config.format)\", which no renderer handles")
        }
        return (config, renderer)
    }

    /// Events as JSON, each with the seconds since the previous event of the same host, so the
    /// time each boot phase took is visible.
    static func eventList(_ events: [BootEventLog.Event]) -> JSONValue {
        var last: [String: Int64] = [:]
        let items: [JSONValue] = events.map { e in
            var o = JSONObject([("time", .string(e.time)), ("type", .string(e.type)), ("host", .string(e.host)),
                                ("mac", .string(e.mac)), ("ip", .string(e.ip)), ("detail", .string(e.detail))])
            if !e.host.isEmpty {
                if let previous = last[e.host] { o["secondsSincePrevious"] = .double(Double(e.milliseconds - previous) / 1000) }
                last[e.host] = e.milliseconds
            }
            return .object(o)
        }
        return .object(JSONObject([("kind", "EventList"), ("items", .array(items))]))
    }
}

import Foundation
