import ArgumentParser
import Foundation
import Gateway
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

struct Apply: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Create or update every object of a YAML file (several documents allowed) on a running server.")

    @Option(name: .shortAndLong, help: "YAML or JSON file; '-' for standard input.") var file: String
    @Option(help: "bootgate server URL (with tokens: set BOOTGATE_TOKEN).") var server = "http://127.0.0.1:8082"

    func run() async throws {
        let text: String
        if file == "-" {
            text = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
        } else {
            text = try String(contentsOfFile: file, encoding: .utf8)
        }
        let documents: [JSONValue]
        do {
            documents = try YAMLDocuments.parse(text)
        } catch {
            throw ValidationError("\(file): \(error.message)")
        }
        let client = HTTPClient(server: server)
        var failed = false
        // Kinds in reference order (configs, ISOs, hosts); within a kind, a few writes in flight:
        // a rack of 10,000 hosts one request at a time waits on 10,000 round trips.
        for batch in Self.batches(documents) {
            let lines = await withTaskGroup(of: (Int, String, Bool).self) { group in
                var next = 0, out: [(Int, String, Bool)] = []
                func submit() {
                    guard next < batch.count else { return }
                    let (i, doc) = (next, batch[next])
                    next += 1
                    group.addTask { let (line, ok) = await Self.apply(doc, file: file, client: client); return (i, line, ok) }
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
    static func batches(_ documents: [JSONValue]) -> [[JSONValue]] {
        let stages = Service.applyStages(documents)
        var out: [[JSONValue]] = []
        var last: Int?
        for i in documents.indices.sorted(by: { (stages[$0], $0) < (stages[$1], $1) }) {
            if last == stages[i] { out[out.count - 1].append(documents[i]) } else { out.append([documents[i]]) }
            last = stages[i]
        }
        return out
    }

    /// Creates the object, or merges the document into it when it exists; one line of outcome.
    static func apply(_ doc: JSONValue, file: String, client: HTTPClient) async -> (String, Bool) {
        let kindName = doc["kind"]?.stringValue ?? ""
        guard let kind = ResourceKind(rawValue: kindName) else { return ("error: \(file): document of unknown kind \"\(kindName)\"", false) }
        let name = doc.value(at: ["metadata", "name"])?.stringValue ?? ""
        let ns = (doc.value(at: ["metadata", "namespace"])?.stringValue).flatMap { $0.isEmpty ? nil : $0 } ?? "default"
        let collection = kind.namespaced ? "/api/v1/namespaces/\(ns)/\(kind.plural)" : "/api/v1/\(kind.plural)"
        let label = "\(kind.singular)/\(name)"
        do {
            var (status, body) = try await client.request("POST", collection, body: doc)
            if status == 201 { return ("\(label) created", true) }
            if status == 409, body["reason"]?.stringValue == "AlreadyExists" {
                // Only an existing object costs the read that tells "configured" from "unchanged".
                let (_, current) = try await client.request("GET", collection + "/" + name)
                (status, body) = try await client.request("PATCH", collection + "/" + name, body: doc, contentType: "application/merge-patch+json")
                if status < 300 {
                    let same = body.value(at: ["metadata", "resourceVersion"]) == current.value(at: ["metadata", "resourceVersion"])
                    return ("\(label) \(same ? "unchanged" : "configured")", true)
                }
            }
            return ("error: \(label): \(body["message"]?.stringValue ?? "HTTP \(status)")", false)
        } catch {
            return ("error: \(label): cannot reach \(client.server): \(error.localizedDescription)", false)
        }
    }
}

/// Just enough HTTP for the command line's talks with a running server. A server with a token
/// file wants a token: it is taken from `BOOTGATE_TOKEN` (an environment variable, not an
/// argument, so other users' `ps` does not show it).
struct HTTPClient {
    var server: String
    var token: String? = ProcessInfo.processInfo.environment["BOOTGATE_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }

    func request(_ method: String, _ path: String, body: JSONValue? = nil, contentType: String = "application/json") async throws -> (Int, JSONValue) {
        guard let url = URL(string: server + path) else { throw ValidationError("bad server URL \(server)") }
        var req = URLRequest(url: url)
        req.httpMethod = method
        if let token { req.setValue("Bearer " + token, forHTTPHeaderField: "Authorization") }
        if let body {
            req.httpBody = Data(JSONWriter.bytes(body))
            req.setValue(contentType, forHTTPHeaderField: "Content-Type")
        }
        let (data, response) = try await URLSession.shared.data(for: req)
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        return (status, (try? JSONParser.parse(Array(data))) ?? .null)
    }
}
