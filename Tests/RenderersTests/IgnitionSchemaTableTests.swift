import Foundation
import Testing
@testable import Renderers

/// Proves the hand-written per-version tables in `IgnitionSpec` describe exactly the objects,
/// keys, types and required keys of the upstream Ignition JSON schemas (test data only, in
/// /work/shared/reference/ignition-schema; never bundled).
@Suite struct IgnitionSchemaTableTests {
    static let schemaDirectory = ProcessInfo.processInfo.environment["IGNITION_SCHEMA_DIR"] ?? "/work/shared/reference/ignition-schema"

    struct ObjectShape: Equatable, CustomStringConvertible {
        var fields: [String: String]
        var required: Set<String>
        var description: String { "fields \(fields.sorted { $0.key < $1.key }), required \(required.sorted())" }
    }

    /// Object definitions of a schema, named like `IgnitionSpec` names them.
    final class SchemaReader {
        let root: [String: Any]
        var objects: [String: ObjectShape] = [:]
        init(root: [String: Any]) { self.root = root }

        func definition(at name: String) -> [String: Any]? {
            var node: [String: Any]? = root
            for part in name.split(separator: "/") {
                node = (node?["definitions"] as? [String: Any])?[String(part)] as? [String: Any]
            }
            return node
        }

        static func refName(_ ref: String) -> String {
            // "#/definitions/storage/definitions/disk" → "storage/disk"
            ref.split(separator: "/").enumerated().filter { $0.offset % 2 == 0 && $0.offset > 0 }.map { String($0.element) }.joined(separator: "/")
        }

        static func types(_ node: [String: Any]) -> [String] {
            if let one = node["type"] as? String { return [one] }
            return node["type"] as? [String] ?? []
        }

        static func isObjectLike(_ node: [String: Any]) -> Bool {
            types(node).contains("object") || node["allOf"] != nil || (node["type"] == nil && node["properties"] != nil)
        }

        func walkDefinitions(_ node: [String: Any], path: String) {
            if Self.isObjectLike(node) { objects[path] = shape(of: node, name: path) }
            if types(node) == ["array"] || Self.types(node).contains("array") { _ = typeString(node, inlineName: path) }
            for (name, child) in (node["definitions"] as? [String: Any] ?? [:]).sorted(by: { $0.key < $1.key }) {
                if let child = child as? [String: Any] { walkDefinitions(child, path: path.isEmpty ? name : path + "/" + name) }
            }
        }

        private func types(_ node: [String: Any]) -> [String] { Self.types(node) }

        func shape(of node: [String: Any], name: String) -> ObjectShape {
            var fields: [String: String] = [:]
            var required: Set<String> = []
            var parts: [[String: Any]] = [node]
            if let allOf = node["allOf"] as? [[String: Any]] {
                parts = allOf.map { part in
                    if let ref = part["$ref"] as? String { return definition(at: Self.refName(ref)) ?? [:] }
                    return part
                }
            }
            for part in parts {
                // Inline objects of a referenced node keep the node's name (storage/node.user).
                var owner = name
                if let allOf = node["allOf"] as? [[String: Any]], let index = parts.firstIndex(where: { NSDictionary(dictionary: $0).isEqual(to: part) }),
                   let ref = allOf[index]["$ref"] as? String {
                    owner = Self.refName(ref)
                }
                for (key, value) in part["properties"] as? [String: Any] ?? [:] {
                    if let value = value as? [String: Any] { fields[key] = typeString(value, inlineName: owner + "." + key) }
                }
                required.formUnion(part["required"] as? [String] ?? [])
            }
            return ObjectShape(fields: fields, required: required)
        }

        func typeString(_ node: [String: Any], inlineName: String) -> String {
            if let ref = node["$ref"] as? String {
                let name = Self.refName(ref)
                guard let target = definition(at: name) else { return "unresolved:\(name)" }
                if Self.isObjectLike(target) { return (types(target).contains("null") ? "object?:" : "object:") + name }
                return typeString(target, inlineName: name)
            }
            let all = types(node)
            let nullable = all.contains("null")
            let base = all.first { $0 != "null" } ?? "any"
            switch base {
            case "object":
                objects[inlineName] = shape(of: node, name: inlineName)
                return (nullable ? "object?:" : "object:") + inlineName
            case "array":
                let items = node["items"] as? [String: Any] ?? [:]
                return "array<\(typeString(items, inlineName: inlineName + "[]"))>" + (nullable ? "?" : "")
            default:
                return base + (nullable ? "?" : "")
            }
        }
    }

    static func loadSchema(minor: Int) throws -> [String: Any]? {
        let path = "\(schemaDirectory)/v3_\(minor).json"
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        return try JSONSerialization.jsonObject(with: data) as? [String: Any]
    }

    @Test(arguments: 0...6) func tablesMatchUpstreamSchema(minor: Int) throws {
        guard let schema = try Self.loadSchema(minor: minor) else {
            print("SKIPPED: Ignition schema v3_\(minor).json not found in \(Self.schemaDirectory) (set IGNITION_SCHEMA_DIR); table check not run")
            return
        }
        let reader = SchemaReader(root: schema)
        reader.walkDefinitions(schema, path: "")
        let spec = try #require(IgnitionSpec.forVersion(IgnitionSpec.Version(major: 3, minor: minor, patch: 0)))
        let mine = spec.definitions.mapValues { definition in
            ObjectShape(fields: Dictionary(uniqueKeysWithValues: definition.fields.map { ($0.name, $0.type.description) }), required: Set(definition.required))
        }
        #expect(Set(mine.keys) == Set(reader.objects.keys), "3.\(minor): objects only in tables \(Set(mine.keys).subtracting(reader.objects.keys).sorted()), only in schema \(Set(reader.objects.keys).subtracting(mine.keys).sorted())")
        for (name, shape) in reader.objects.sorted(by: { $0.key < $1.key }) {
            #expect(mine[name] == shape, "3.\(minor) \(name):\n tables \(mine[name].map(\.description) ?? "missing")\n schema \(shape)")
        }
        #expect(reader.objects.count > 20)
    }
}
