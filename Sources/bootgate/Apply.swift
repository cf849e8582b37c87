import ArgumentParser
import Foundation
import Gateway

struct Apply: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create or update the objects of YAML/JSON manifests on a running server, as kubectl apply does.",
        discussion: """
            -f takes files, folders (read recursively: *.yaml, *.yml, *.json) and '-' for standard input; repeat it for several.
            Fields removed from a manifest are removed from the object: like kubectl's client-side apply, the manifest is kept in
            the kubectl.kubernetes.io/last-applied-configuration annotation and the next apply sends a three-way merge patch
            (what changed against the live object, and a null for what the last manifest had and this one has not). Fields set
            by others (status, labels added by hand) stay. BMC passwords are never kept in that annotation.
            """)

    @Option(name: .shortAndLong, help: "A manifest file, a folder of them (recursive), or '-' for standard input; repeatable.") var file: [String] = []
    @Option(help: "bootgate server URL (with tokens: set BOOTGATE_TOKEN).") var server = "http://127.0.0.1:8082"
    @Option(name: .shortAndLong, help: "Namespace for namespaced objects whose manifest names none.") var namespace = "default"

    func validate() throws {
        if file.isEmpty { throw ValidationError("give at least one -f FILE, -f FOLDER or -f -") }
    }

    func run() async throws {
        var documents: [(source: String, doc: JSONValue)] = []
        for source in try ManifestFiles.expand(file) {
            let text = try ManifestFiles.read(source)
            do {
                documents += try YAMLDocuments.parse(text).map { (source, $0) }
            } catch {
                throw CommandFailure("\(source): \(CommandLineError.yamlProblem(error.message))")
            }
        }
        if documents.isEmpty { throw CommandFailure("no objects in \(file.joined(separator: ", "))") }
        let client = HTTPClient(server: server)
        // One request first: a server that is not there is one line, not one per object.
        _ = try await client.send("GET", "/version")
        var failed = false
        // Kinds in reference order (configs, ISOs, hosts); within a kind, a few writes in flight:
        // a rack of 10,000 hosts one request at a time waits on 10,000 round trips.
        for batch in Self.batches(documents) {
            let namespace = self.namespace
            let lines = await withTaskGroup(of: (Int, String, Bool).self) { group in
                var next = 0, out: [(Int, String, Bool)] = []
                func submit() {
                    guard next < batch.count else { return }
                    let (i, entry) = (next, batch[next])
                    next += 1
                    group.addTask { let (line, ok) = await Self.apply(entry.doc, file: entry.source, namespace: namespace, client: client); return (i, line, ok) }
                }
                for _ in 0..<Self.inFlight { submit() }
                for await result in group {
                    out.append(result)
                    submit()
                }
                return out.sorted { $0.0 < $1.0 }
            }
            for (_, line, ok) in lines {
                print(line)
                if !ok { failed = true }
            }
        }
        if failed { throw ExitCode(1) }
    }

    static let inFlight = 8

    /// The documents in reference order, in runs that can be written at once (`Service.applyStages`).
    static func batches(_ documents: [(source: String, doc: JSONValue)]) -> [[(source: String, doc: JSONValue)]] {
        let stages = Service.applyStages(documents.map(\.doc))
        var out: [[(source: String, doc: JSONValue)]] = []
        var last: Int?
        for i in documents.indices.sorted(by: { (stages[$0], $0) < (stages[$1], $1) }) {
            if last == stages[i] { out[out.count - 1].append(documents[i]) } else { out.append([documents[i]]) }
            last = stages[i]
        }
        return out
    }

    /// Creates the object, or patches it three-way (see the command's discussion); one line of outcome.
    static func apply(_ doc: JSONValue, file: String, namespace: String, client: HTTPClient) async -> (String, Bool) {
        let kindName = doc["kind"]?.stringValue ?? ""
        guard let kind = ResourceKind(rawValue: kindName) else {
            return ("error: \(file): document of unknown kind \"\(kindName)\" (known: \(ResourceKind.allCases.map(\.rawValue).joined(separator: ", ")))", false)
        }
        let name = doc.value(at: ["metadata", "name"])?.stringValue ?? ""
        guard !name.isEmpty else { return ("error: \(file): a \(kindName) without metadata.name", false) }
        let ns = (doc.value(at: ["metadata", "namespace"])?.stringValue).flatMap { $0.isEmpty ? nil : $0 } ?? namespace
        let collection = kind.namespaced ? "/api/v1/namespaces/\(DiscoveredKind.escape(ns))/\(kind.plural)" : "/api/v1/\(kind.plural)"
        let item = collection + "/" + DiscoveredKind.escape(name)
        let label = "\(kind.singular)/\(name)"
        let modified = ThreeWayMergePatch.annotated(doc)
        do throws(CommandFailure) {
            let current = try await client.send("GET", item)
            if current.status == 404 {
                let created = try await client.send("POST", collection, body: modified)
                if created.status == 201 { return ("\(label) created", true) }
                return ("error: \(label): \(client.failure(created, doing: "creating it").description)", false)
            }
            guard current.status == 200 else { return ("error: \(label): \(client.failure(current, doing: "reading it").description)", false) }
            let patch = ThreeWayMergePatch.patch(original: ThreeWayMergePatch.lastApplied(current.body), modified: modified, current: current.body)
            if patch.objectValue?.isEmpty ?? true { return ("\(label) unchanged", true) }
            let patched = try await client.send("PATCH", item, body: patch, contentType: "application/merge-patch+json")
            guard patched.status < 300 else { return ("error: \(label): \(client.failure(patched, doing: "patching it").description)", false) }
            let same = patched.body.value(at: ["metadata", "resourceVersion"]) == current.body.value(at: ["metadata", "resourceVersion"])
            return ("\(label) \(same ? "unchanged" : "configured")", true)
        } catch {
            return ("error: \(label): \(error.description)", false)
        }
    }
}

/// The files `-f` names: '-', files as given, folders walked for manifests in name order.
enum ManifestFiles {
    static let extensions: Set<String> = ["yaml", "yml", "json"]

    static func expand(_ paths: [String]) throws(CommandFailure) -> [String] {
        var out: [String] = []
        for path in paths {
            if path == "-" { out.append(path); continue }
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else { throw CommandFailure("\(path): no such file or folder") }
            guard isDir.boolValue else { out.append(path); continue }
            guard let walker = FileManager.default.enumerator(atPath: path) else { throw CommandFailure("\(path): cannot read the folder") }
            var found: [String] = []
            while let relative = walker.nextObject() as? String {
                let full = (path as NSString).appendingPathComponent(relative)
                var sub: ObjCBool = false
                if FileManager.default.fileExists(atPath: full, isDirectory: &sub), !sub.boolValue,
                   extensions.contains((relative as NSString).pathExtension.lowercased()) {
                    found.append(full)
                }
            }
            if found.isEmpty { throw CommandFailure("\(path): no *.yaml, *.yml or *.json files in the folder") }
            out += found.sorted()
        }
        return out
    }

    static func read(_ path: String) throws(CommandFailure) -> String {
        let data: Data
        if path == "-" {
            data = FileHandle.standardInput.readDataToEndOfFile()
        } else {
            guard let d = FileManager.default.contents(atPath: path) else {
                throw CommandFailure(FileManager.default.isReadableFile(atPath: path) ? "\(path): cannot be read" : "\(path): permission denied")
            }
            data = d
        }
        guard let text = String(data: data, encoding: .utf8) else { throw CommandFailure("\(path == "-" ? "standard input" : path): not UTF-8 text") }
        return text
    }
}
