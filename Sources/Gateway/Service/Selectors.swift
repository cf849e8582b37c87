/// Kubernetes label selectors: `a=b`, `a==b`, `a!=b`, `a`, `!a`, `a in (x,y)`, `a notin (x,y)`.
public struct LabelSelector: Sendable {
    enum Requirement: Sendable {
        case equals(String, String), notEquals(String, String), exists(String), notExists(String)
        case isIn(String, Set<String>), notIn(String, Set<String>)
    }
    var requirements: [Requirement] = []

    public init(parsing text: String) throws(APIError) {
        for raw in Self.splitTopLevel(text) {
            let term = raw.trimmingCharacters(in: .whitespaces)
            if term.isEmpty { continue }
            if let r = term.range(of: " notin ") ?? term.range(of: " in ") {
                let key = String(term[..<r.lowerBound]).trimmingCharacters(in: .whitespaces)
                let setText = term[r.upperBound...].trimmingCharacters(in: .whitespaces)
                guard setText.hasPrefix("("), setText.hasSuffix(")") else {
                    throw .badRequest("labelSelector: \"\(term)\": values must be in parentheses")
                }
                let values = Set(setText.dropFirst().dropLast().split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
                try Self.checkKey(key, term)
                requirements.append(term.contains(" notin ") ? .notIn(key, values) : .isIn(key, values))
            } else if let r = term.range(of: "!=") {
                let key = String(term[..<r.lowerBound]).trimmingCharacters(in: .whitespaces)
                try Self.checkKey(key, term)
                requirements.append(.notEquals(key, term[r.upperBound...].trimmingCharacters(in: .whitespaces)))
            } else if let r = term.range(of: "==") ?? term.range(of: "=") {
                let key = String(term[..<r.lowerBound]).trimmingCharacters(in: .whitespaces)
                try Self.checkKey(key, term)
                requirements.append(.equals(key, term[r.upperBound...].trimmingCharacters(in: .whitespaces)))
            } else if term.hasPrefix("!") {
                let key = String(term.dropFirst()).trimmingCharacters(in: .whitespaces)
                try Self.checkKey(key, term)
                requirements.append(.notExists(key))
            } else {
                try Self.checkKey(term, term)
                requirements.append(.exists(term))
            }
        }
    }

    private static func checkKey(_ key: String, _ term: String) throws(APIError) {
        let ok = !key.isEmpty && key.allSatisfy { $0.isLetter || $0.isNumber || "-_./".contains($0) }
        if !ok { throw .badRequest("labelSelector: invalid key in \"\(term)\"") }
    }

    /// Splits on commas outside parentheses.
    static func splitTopLevel(_ text: String) -> [String] {
        var parts: [String] = []
        var depth = 0
        var current = ""
        for c in text {
            if c == "(" { depth += 1 } else if c == ")" { depth -= 1 }
            if c == ",", depth == 0 { parts.append(current); current = "" } else { current.append(c) }
        }
        parts.append(current)
        return parts
    }

    public func matches(_ labels: [String: String]) -> Bool {
        requirements.allSatisfy { r in
            switch r {
            case .equals(let k, let v): return labels[k] == v
            case .notEquals(let k, let v): return labels[k] != v
            case .exists(let k): return labels[k] != nil
            case .notExists(let k): return labels[k] == nil
            case .isIn(let k, let vs): return labels[k].map(vs.contains) ?? false
            case .notIn(let k, let vs): return !(labels[k].map(vs.contains) ?? false)
            }
        }
    }
}

/// Field selectors over the fields operators filter hosts by.
public struct FieldSelector: Sendable {
    struct Requirement: Sendable {
        var path: [String]
        var value: String
        var negated: Bool
    }
    var requirements: [Requirement] = []

    static let supported: [ResourceKind: [String]] = [
        .bareMetalHost: ["metadata.name", "metadata.namespace", "spec.bootMACAddress", "spec.ip", "spec.image",
                         "spec.bootConfigRef", "spec.network", "spec.hostname", "status.phase"],
        .bootConfig: ["metadata.name", "metadata.namespace", "spec.format", "status.phase"],
        .iscsiCdrom: ["metadata.name", "metadata.namespace", "spec.isoFile", "status.phase"],
        .bootEvent: ["metadata.name", "host", "type", "mac", "ip"],
        .auditEvent: ["metadata.name", "verb", "user.name", "object.kind", "object.namespace", "object.name"],
    ]

    public init(parsing text: String, kind: ResourceKind) throws(APIError) {
        let allowed = Self.supported[kind] ?? []
        for raw in text.split(separator: ",") {
            let term = raw.trimmingCharacters(in: .whitespaces)
            if term.isEmpty { continue }
            let negated: Bool
            let parts: [Substring]
            if let r = term.range(of: "!=") {
                negated = true
                parts = [term[..<r.lowerBound], term[r.upperBound...]]
            } else if let r = term.range(of: "==") ?? term.range(of: "=") {
                negated = false
                parts = [term[..<r.lowerBound], term[r.upperBound...]]
            } else {
                throw .badRequest("fieldSelector: \"\(term)\" must be field=value or field!=value")
            }
            let field = parts[0].trimmingCharacters(in: .whitespaces)
            guard allowed.contains(field) else {
                throw .badRequest("fieldSelector: field \"\(field)\" is not supported for \(kind.plural); supported: \(allowed.joined(separator: ", "))")
            }
            requirements.append(Requirement(path: field.split(separator: ".").map(String.init),
                                            value: parts[1].trimmingCharacters(in: .whitespaces), negated: negated))
        }
    }

    public func matches(_ object: ResourceObject) -> Bool {
        requirements.allSatisfy { r in
            var actual = object.json.value(at: r.path)?.stringValue ?? ""
            var wanted = r.value
            // MACs compare in any spelling, as the boot path does.
            if r.path == ["spec", "bootMACAddress"], let a = MACAddress.normalize(actual), let w = MACAddress.normalize(wanted) {
                actual = a
                wanted = w
            }
            return (actual == wanted) != r.negated
        }
    }
}

import Foundation
