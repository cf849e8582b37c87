import ArgumentParser
import Foundation
import Gateway

// `bootgate get|describe|delete KIND [NAME…]`, as kubectl does them, against a running server.
// Kinds are named as the server's discovery (`GET /api/v1`) names them: plural, singular, kind
// or a short name (bmh, bc, iso).

/// What every one of these commands takes.
struct KubeOptions: ParsableArguments {
    @Option(help: "bootgate server URL (with tokens: set BOOTGATE_TOKEN).") var server = "http://127.0.0.1:8082"
    @Option(name: .shortAndLong, help: "Namespace of namespaced kinds.") var namespace = "default"
    @Flag(name: [.customShort("A"), .customLong("all-namespaces")], help: "Every namespace.") var allNamespaces = false
    @Option(name: [.customShort("l"), .customLong("selector")], help: "Label selector, e.g. rack=r1,role in (builder).") var selector: String?
    @Option(name: .customLong("field-selector"), help: "Field selector, e.g. spec.image=coreos-live.") var fieldSelector: String?

    var client: HTTPClient { HTTPClient(server: server) }
}

/// A kind as the server's discovery describes it.
struct DiscoveredKind {
    var plural: String
    var singular: String
    var kind: String
    var namespaced: Bool
    var shortNames: [String]

    /// The kind an argument names (`bmh`, `baremetalhost`, `BareMetalHosts`, …), from `GET /api/v1`.
    static func resolve(_ word: String, client: HTTPClient) async throws(CommandFailure) -> DiscoveredKind {
        let reply = try await client.send("GET", "/api/v1")
        guard reply.status == 200, let resources = reply.body["resources"]?.arrayValue else {
            throw client.failure(reply, doing: "GET /api/v1")
        }
        let kinds = resources.compactMap { r -> DiscoveredKind? in
            guard let plural = r["name"]?.stringValue, !plural.contains("/"), let kind = r["kind"]?.stringValue,
                  (r["verbs"]?.arrayValue ?? []).contains("list") else { return nil }
            return DiscoveredKind(plural: plural, singular: r["singularName"]?.stringValue ?? kind.lowercased(), kind: kind,
                                  namespaced: r["namespaced"]?.boolValue ?? false,
                                  shortNames: (r["shortNames"]?.arrayValue ?? []).compactMap(\.stringValue))
        }
        let w = word.lowercased()
        if let k = kinds.first(where: { [$0.plural, $0.singular, $0.kind.lowercased()].contains(w) || $0.shortNames.contains(w) }) {
            return k
        }
        let known = kinds.map { k in k.shortNames.isEmpty ? k.plural : "\(k.plural) (\(k.shortNames.joined(separator: ", ")))" }
        throw CommandFailure("the server has no resource type \"\(word)\"; it has \(known.joined(separator: ", "))")
    }

    func collectionPath(_ options: KubeOptions, namespace ns: String? = nil) -> String {
        guard namespaced else { return "/api/v1/\(plural)" }
        if ns == nil, options.allNamespaces { return "/api/v1/\(plural)" }
        return "/api/v1/namespaces/\(Self.escape(ns ?? options.namespace))/\(plural)"
    }

    func itemPath(_ name: String, _ options: KubeOptions) -> String {
        collectionPath(options, namespace: options.namespace) + "/" + Self.escape(name)
    }

    static func escape(_ s: String) -> String {
        s.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: "/?#"))) ?? s
    }

    static func query(_ pairs: [(String, String?)]) -> String {
        let parts = pairs.compactMap { k, v in
            v.map { "\(k)=\($0.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-_.~"))) ?? $0)" }
        }
        return parts.isEmpty ? "" : "?" + parts.joined(separator: "&")
    }

    /// What `-o name` prints.
    func name(of object: JSONValue) -> String { "\(singular)/\(object.value(at: ["metadata", "name"])?.stringValue ?? "")" }
}

/// Names may come as `KIND NAME…` or `KIND/NAME…`.
func kindAndNames(_ words: [String]) throws(CommandFailure) -> (String, [String]) {
    guard let first = words.first else { throw CommandFailure("name a kind, e.g. `bmh`, `bc` or `iso`") }
    if first.contains("/") {
        var kind: String?
        var names: [String] = []
        for w in words {
            let parts = w.split(separator: "/", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { throw CommandFailure("\"\(w)\": with KIND/NAME, every argument must be KIND/NAME") }
            if let kind, kind != parts[0] { throw CommandFailure("KIND/NAME arguments must all be of one kind") }
            kind = parts[0]
            names.append(parts[1])
        }
        return (kind ?? "", names)
    }
    return (first, Array(words.dropFirst()))
}

/// Writes a line to stderr.
func warn(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}

struct Get: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List objects, or show some by name, as kubectl get does.",
        discussion: "Examples: bootgate get bmh; bootgate get bmh server1 -o yaml; bootgate get bc -o json; bootgate get bmh -A -l rack=r1 -o wide")

    @Argument(help: "KIND [NAME…], or KIND/NAME…") var words: [String] = []
    @OptionGroup var options: KubeOptions
    @Option(name: .shortAndLong, help: "Output: wide, yaml, json or name (default: a table).") var output: String?
    @Option(name: .customLong("chunk-size"), help: "Objects per request (the list's limit/continue); 0: all at once.") var chunkSize = 500

    func validate() throws {
        if let output, !["wide", "yaml", "json", "name"].contains(output) {
            throw ValidationError("-o must be wide, yaml, json or name, got \(output)")
        }
        if chunkSize < 0 { throw ValidationError("--chunk-size must be 0 or more") }
    }

    func run() async throws {
        let (word, names) = try kindAndNames(words)
        let client = options.client
        let kind = try await DiscoveredKind.resolve(word, client: client)
        switch output {
        case "yaml", "json", "name":
            let objects = names.isEmpty ? try await list(kind, client, table: false).items : try await fetch(kind, names, client)
            print(render(objects, single: names.count == 1, kind: kind), terminator: "")
        default:
            let table: JSONValue
            if names.isEmpty {
                table = try await list(kind, client, table: true).table
            } else {
                var rows: [JSONValue] = []
                var defs: JSONValue = .array([])
                for name in names {
                    let reply = try await client.send("GET", kind.itemPath(name, options), accept: TablePrinter.accept)
                    guard reply.status == 200 else { throw client.failure(reply, doing: "GET \(kind.plural)/\(name)") }
                    defs = reply.body["columnDefinitions"] ?? defs
                    rows += reply.body["rows"]?.arrayValue ?? []
                }
                table = .object(JSONObject([("columnDefinitions", defs), ("rows", .array(rows))]))
            }
            let rows = table["rows"]?.arrayValue ?? []
            if rows.isEmpty {
                let scope = !kind.namespaced ? "" : options.allNamespaces ? "" : " in \(options.namespace) namespace"
                warn("No resources found\(scope).")
                return
            }
            print(TablePrinter.text(table, wide: output == "wide", namespaceColumn: kind.namespaced && options.allNamespaces), terminator: "")
        }
    }

    /// Every page of the list; as a Table (rows without objects) or as objects.
    func list(_ kind: DiscoveredKind, _ client: HTTPClient, table: Bool) async throws(CommandFailure) -> (items: [JSONValue], table: JSONValue) {
        var items: [JSONValue] = []
        var rows: [JSONValue] = []
        var defs: JSONValue = .array([])
        var token: String?
        repeat {
            let q = DiscoveredKind.query([("labelSelector", options.selector), ("fieldSelector", options.fieldSelector),
                                          ("limit", chunkSize > 0 ? String(chunkSize) : nil), ("continue", token)])
            let reply = try await client.send("GET", kind.collectionPath(options) + q, accept: table ? TablePrinter.accept : nil)
            guard reply.status == 200 else { throw client.failure(reply, doing: "listing \(kind.plural)") }
            items += reply.body["items"]?.arrayValue ?? []
            rows += reply.body["rows"]?.arrayValue ?? []
            if let d = reply.body["columnDefinitions"] { defs = d }
            token = reply.body.value(at: ["metadata", "continue"])?.stringValue.flatMap { $0.isEmpty ? nil : $0 }
        } while token != nil
        return (items, .object(JSONObject([("columnDefinitions", defs), ("rows", .array(rows))])))
    }

    func fetch(_ kind: DiscoveredKind, _ names: [String], _ client: HTTPClient) async throws(CommandFailure) -> [JSONValue] {
        var out: [JSONValue] = []
        for name in names {
            let reply = try await client.send("GET", kind.itemPath(name, options))
            guard reply.status == 200 else { throw client.failure(reply, doing: "GET \(kind.plural)/\(name)") }
            out.append(reply.body)
        }
        return out
    }

    func render(_ objects: [JSONValue], single: Bool, kind: DiscoveredKind) -> String {
        if output == "name" { return objects.map { kind.name(of: $0) + "\n" }.joined() }
        let doc: JSONValue = single && objects.count == 1 ? objects[0]
            : .object(JSONObject([("apiVersion", "v1"), ("kind", "List"), ("items", .array(objects)),
                                  ("metadata", .object(JSONObject([("resourceVersion", "")])))]))
        if output == "json" { return Pretty.json(doc) + "\n" }
        return YAMLWriter.string(doc, literalBlocks: true)
    }
}

/// kubectl-style text from a server-side Table.
enum TablePrinter {
    static let accept = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"

    static func text(_ table: JSONValue, wide: Bool, namespaceColumn: Bool) -> String {
        let defs = table["columnDefinitions"]?.arrayValue ?? []
        let shown = defs.indices.filter { wide || (defs[$0]["priority"]?.intValue ?? 0) == 0 }
        var header = shown.map { (defs[$0]["name"]?.stringValue ?? "").uppercased() }
        var lines: [[String]] = []
        for row in table["rows"]?.arrayValue ?? [] {
            let cells = row["cells"]?.arrayValue ?? []
            var line = shown.map { i in i < cells.count ? cell(cells[i]) : "" }
            if namespaceColumn { line.insert(row.value(at: ["object", "metadata", "namespace"])?.stringValue ?? "", at: 0) }
            lines.append(line)
        }
        if namespaceColumn { header.insert("NAMESPACE", at: 0) }
        return align([header] + lines)
    }

    static func cell(_ v: JSONValue) -> String {
        switch v {
        case .string(let s): return s
        case .int(let i): return String(i)
        case .double(let d): return String(d)
        case .bool(let b): return b ? "true" : "false"
        case .null: return "<none>"
        default: return JSONWriter.string(v)
        }
    }

    static func align(_ rows: [[String]]) -> String {
        guard let columns = rows.map(\.count).max() else { return "" }
        var widths = [Int](repeating: 0, count: columns)
        for r in rows { for (i, c) in r.enumerated() { widths[i] = max(widths[i], c.count) } }
        return rows.map { r in
            r.enumerated().map { i, c in i == r.count - 1 ? c : c.padding(toLength: widths[i] + 3, withPad: " ", startingAt: 0) }.joined()
        }.joined(separator: "\n") + "\n"
    }
}

/// Indented JSON, as `kubectl get -o json` prints (scalars and keys as `JSONWriter` writes them).
enum Pretty {
    static func json(_ v: JSONValue, indent: Int = 0) -> String {
        let pad = String(repeating: "    ", count: indent + 1)
        let close = String(repeating: "    ", count: indent)
        switch v {
        case .array(let a) where !a.isEmpty:
            return "[\n" + a.map { pad + json($0, indent: indent + 1) }.joined(separator: ",\n") + "\n" + close + "]"
        case .object(let o) where !o.isEmpty:
            return "{\n" + o.map { pad + JSONWriter.string(.string($0.key)) + ": " + json($0.value, indent: indent + 1) }.joined(separator: ",\n")
                + "\n" + close + "}"
        default:
            return JSONWriter.string(v)
        }
    }
}

struct Describe: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show objects in detail: spec (no password), status, warnings and recent boot events, as kubectl describe does.")

    @Argument(help: "KIND [NAME…], or KIND/NAME…; without a name, every object of the kind (with -l, those matching)") var words: [String] = []
    @OptionGroup var options: KubeOptions
    @Option(help: "Boot events shown per host.") var events = 10

    func run() async throws {
        let (word, names) = try kindAndNames(words)
        let client = options.client
        let kind = try await DiscoveredKind.resolve(word, client: client)
        var objects: [(JSONValue, [String])] = []
        if names.isEmpty {
            let q = DiscoveredKind.query([("labelSelector", options.selector), ("fieldSelector", options.fieldSelector)])
            let reply = try await client.send("GET", kind.collectionPath(options) + q)
            guard reply.status == 200 else { throw client.failure(reply, doing: "listing \(kind.plural)") }
            for o in reply.body["items"]?.arrayValue ?? [] {
                let name = o.value(at: ["metadata", "name"])?.stringValue ?? ""
                let ns = o.value(at: ["metadata", "namespace"])?.stringValue
                var scoped = options
                if let ns, !ns.isEmpty { scoped.namespace = ns }
                let again = try await client.send("GET", kind.itemPath(name, scoped))
                objects.append((again.status == 200 ? again.body : o, again.warnings))
            }
            if objects.isEmpty { warn("No resources found."); return }
        } else {
            for name in names {
                let reply = try await client.send("GET", kind.itemPath(name, options))
                guard reply.status == 200 else { throw client.failure(reply, doing: "GET \(kind.plural)/\(name)") }
                objects.append((reply.body, reply.warnings))
            }
        }
        var first = true
        for (object, warnings) in objects {
            if !first { print("\n") }
            first = false
            print(try await describe(object, warnings: warnings, kind: kind, client: client), terminator: "")
        }
    }

    func describe(_ object: JSONValue, warnings: [String], kind: DiscoveredKind, client: HTTPClient) async throws(CommandFailure) -> String {
        let meta = object["metadata"] ?? .null
        let name = meta["name"]?.stringValue ?? ""
        let ns = meta["namespace"]?.stringValue ?? ""
        var out = ""
        func field(_ label: String, _ value: String) { out += (label + ":").padding(toLength: 14, withPad: " ", startingAt: 0) + value + "\n" }
        field("Name", name)
        if kind.namespaced { field("Namespace", ns) }
        field("Kind", kind.kind)
        field("Labels", pairs(meta["labels"]))
        var annotations = meta["annotations"] ?? .null
        annotations["kubectl.kubernetes.io/last-applied-configuration"] = nil
        field("Annotations", pairs(annotations))
        field("Created", meta["creationTimestamp"]?.stringValue ?? "")
        field("Version", meta["resourceVersion"]?.stringValue ?? "")
        var spec = object["spec"] ?? .null
        // Never shown, whatever the server sent.
        spec.set(nil, at: ["bmc", "password"])
        out += "Spec:\n" + indented(spec)
        out += "Status:\n" + indented(object["status"] ?? .null)
        var problems = warnings
        if kind.kind == "BareMetalHost" {
            let preview = try await client.send("GET", "/api/v1/namespaces/\(DiscoveredKind.escape(ns))/baremetalhosts/\(DiscoveredKind.escape(name))/preview")
            if preview.status == 200 {
                problems += (preview.body["problems"]?.arrayValue ?? []).compactMap(\.stringValue)
            }
        }
        out += "Warnings:\n"
        out += problems.isEmpty ? "  <none>\n" : problems.map { "  \($0)\n" }.joined()
        out += "Events:\n"
        guard kind.kind == "BareMetalHost" else {
            return out + "  <none: boot events are kept per host>\n"
        }
        let reply = try await client.send("GET", "/api/v1/events" + DiscoveredKind.query([("host", "\(ns)/\(name)"), ("limit", String(events))]))
        let items = reply.status == 200 ? reply.body["items"]?.arrayValue ?? [] : []
        if items.isEmpty { return out + "  <none>\n" }
        var rows = [["TIME", "TYPE", "FROM", "DETAIL"]]
        for e in items {
            rows.append([e["time"]?.stringValue ?? "", e["type"]?.stringValue ?? "", e["ip"]?.stringValue ?? "", e["detail"]?.stringValue ?? ""])
        }
        return out + TablePrinter.align(rows).split(separator: "\n").map { "  " + $0 + "\n" }.joined()
    }

    func pairs(_ map: JSONValue?) -> String {
        guard case .object(let o)? = map, !o.isEmpty else { return "<none>" }
        return o.map { "\($0.key)=\($0.value.stringValue ?? JSONWriter.string($0.value))" }.joined(separator: "\n" + String(repeating: " ", count: 14))
    }

    func indented(_ value: JSONValue) -> String {
        if value == .null { return "  <none>\n" }
        if case .object(let o) = value, o.isEmpty { return "  <none>\n" }
        return YAMLWriter.string(value, literalBlocks: true).split(separator: "\n", omittingEmptySubsequences: false)
            .dropLast().map { $0.isEmpty ? "\n" : "  " + $0 + "\n" }.joined()
    }
}

struct Delete: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Delete objects by name, or all matching -l, as kubectl delete does.")

    @Argument(help: "KIND NAME…, or KIND/NAME…") var words: [String] = []
    @OptionGroup var options: KubeOptions
    @Flag(help: "Delete every object of the kind (in the namespace, or with -A everywhere).") var all = false
    @Flag(name: .customLong("ignore-not-found"), help: "An object that does not exist is no error.") var ignoreNotFound = false

    func run() async throws {
        let (word, names) = try kindAndNames(words)
        let client = options.client
        let kind = try await DiscoveredKind.resolve(word, client: client)
        var targets: [(namespace: String, name: String)] = names.map { (options.namespace, $0) }
        if names.isEmpty {
            guard options.selector != nil || options.fieldSelector != nil || all else {
                throw CommandFailure("name what to delete: NAME…, -l SELECTOR or --all")
            }
            let q = DiscoveredKind.query([("labelSelector", options.selector), ("fieldSelector", options.fieldSelector)])
            let reply = try await client.send("GET", kind.collectionPath(options) + q)
            guard reply.status == 200 else { throw client.failure(reply, doing: "listing \(kind.plural)") }
            targets = (reply.body["items"]?.arrayValue ?? []).map {
                ($0.value(at: ["metadata", "namespace"])?.stringValue ?? options.namespace, $0.value(at: ["metadata", "name"])?.stringValue ?? "")
            }
            if targets.isEmpty { warn("No resources found."); return }
        }
        var failures: [String] = []
        for t in targets {
            var scoped = options
            scoped.namespace = t.namespace.isEmpty ? options.namespace : t.namespace
            let reply = try await client.send("DELETE", kind.itemPath(t.name, scoped))
            if reply.status < 300 {
                print("\(kind.singular) \"\(t.name)\" deleted")
            } else if reply.status == 404, ignoreNotFound {
                continue
            } else {
                failures.append(client.failure(reply, doing: "DELETE \(kind.plural)/\(t.name)").description)
            }
        }
        for f in failures { warn("bootgate: \(f)") }
        if !failures.isEmpty { throw ExitCode(1) }
    }
}
