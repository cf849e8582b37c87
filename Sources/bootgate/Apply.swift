import ArgumentParser
import Foundation
import Gateway
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

struct Apply: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Create or update every object of a YAML file (several documents allowed) on a running server.")

    @Option(name: .shortAndLong, help: "YAML or JSON file; '-' for standard input.") var file: String
    @Option(help: "bootgate server URL.") var server = "http://127.0.0.1:8082"

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
        var failed = false
        for doc in Service.applyOrder(documents) {
            let kindName = doc["kind"]?.stringValue ?? ""
            guard let kind = ResourceKind(rawValue: kindName) else {
                print("error: \(file): document of unknown kind \"\(kindName)\"")
                failed = true
                continue
            }
            let name = doc.value(at: ["metadata", "name"])?.stringValue ?? ""
            let ns = (doc.value(at: ["metadata", "namespace"])?.stringValue).flatMap { $0.isEmpty ? nil : $0 } ?? "default"
            let collection = kind.namespaced ? "/api/v1/namespaces/\(ns)/\(kind.plural)" : "/api/v1/\(kind.plural)"
            let label = "\(kind.singular)/\(name)"
            let client = HTTPClient(server: server)
            let (getStatus, current) = try await client.request("GET", collection + "/" + name)
            let (status, body): (Int, JSONValue)
            if getStatus == 404 {
                (status, body) = try await client.request("POST", collection, body: doc)
            } else {
                (status, body) = try await client.request("PATCH", collection + "/" + name, body: doc, contentType: "application/merge-patch+json")
            }
            if status >= 300 {
                print("error: \(label): \(body["message"]?.stringValue ?? "HTTP \(status)")")
                failed = true
            } else if getStatus == 404 {
                print("\(label) created")
            } else {
                let same = body.value(at: ["metadata", "resourceVersion"]) == current.value(at: ["metadata", "resourceVersion"])
                print("\(label) \(same ? "unchanged" : "configured")")
            }
        }
        if failed { throw ExitCode(1) }
    }
}

/// Just enough HTTP for the command line's talks with a running server.
struct HTTPClient {
    var server: String

    func request(_ method: String, _ path: String, body: JSONValue? = nil, contentType: String = "application/json") async throws -> (Int, JSONValue) {
        guard let url = URL(string: server + path) else { throw ValidationError("bad server URL \(server)") }
        var req = URLRequest(url: url)
        req.httpMethod = method
        if let body {
            req.httpBody = Data(JSONWriter.bytes(body))
            req.setValue(contentType, forHTTPHeaderField: "Content-Type")
        }
        let (data, response) = try await URLSession.shared.data(for: req)
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        return (status, (try? JSONParser.parse(Array(data))) ?? .null)
    }
}
