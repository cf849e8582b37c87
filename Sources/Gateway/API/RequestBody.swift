/// Decodes a request body by its content type: JSON by default (mkube ignores the header),
/// YAML for the YAML types. Errors say what and where.
enum RequestBody {
    enum Format { case json, yaml, mergePatch, jsonPatch }

    static func format(of contentType: String?) throws(APIError) -> Format {
        let type = (contentType ?? "").split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
        switch type {
        case "", "application/json", "text/json", "*/*", "text/plain": return .json
        case "application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml": return .yaml
        case "application/merge-patch+json", "application/strategic-merge-patch+json": return .mergePatch
        case "application/json-patch+json": return .jsonPatch
        case "application/apply-patch+yaml":
            throw .unsupportedMediaType("server-side apply is not supported; use kubectl apply (client-side) or a merge patch")
        default:
            throw .unsupportedMediaType("Content-Type \"\(type)\" is not supported; send application/json, application/yaml, application/merge-patch+json or application/json-patch+json")
        }
    }

    static func decode(_ request: OperationRequest) throws(APIError) -> JSONValue {
        if let parsed = request.parsedBody { return parsed }
        if request.body.isEmpty { throw .badRequest("the request has no body") }
        switch try format(of: request.contentType) {
        case .yaml:
            guard let text = String(validating: request.body, as: UTF8.self) else { throw .badRequest("the YAML body is not valid UTF-8") }
            let docs: [JSONValue]
            do {
                docs = try YAMLDocuments.parse(text)
            } catch {
                throw .badRequest("invalid YAML body: \(error.message)")
            }
            guard docs.count == 1 else { throw .badRequest("the YAML body holds \(docs.count) documents; send exactly one (bootgate apply -f takes several)") }
            return docs[0]
        case .json, .mergePatch, .jsonPatch:
            do {
                return try JSONParser.parse(request.body)
            } catch {
                throw .badRequest("invalid JSON body at \(error.description)")
            }
        }
    }

    static func patchType(_ request: OperationRequest) throws(APIError) -> PatchType {
        if request.parsedBody != nil {
            return request.query["patchType"] == "json" ? .json : .merge
        }
        switch try format(of: request.contentType) {
        case .jsonPatch: return .json
        default: return .merge
        }
    }
}
