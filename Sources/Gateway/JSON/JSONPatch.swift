/// JSON Patch (RFC 6902): add, remove, replace, move, copy, test, applied all or nothing.
public enum JSONPatch {
    public struct Failure: Error, Sendable {
        public var message: String
    }

    /// `sealed`: paths of secrets that may be written but never read through the patch: `copy`
    /// or `move` from them (or from a parent) would place the secret where reads show it, and
    /// `test` on them would confirm a guess. Such operations are refused without running.
    public static func apply(_ patch: JSONValue, to document: JSONValue, sealed: [[String]] = []) throws(Failure) -> JSONValue {
        guard case .array(let ops) = patch else { throw Failure(message: "a JSON patch must be an array of operations") }
        var doc = document
        for (n, opValue) in ops.enumerated() {
            guard let op = opValue.objectValue else { throw Failure(message: "operation \(n) is not an object") }
            guard let name = op["op"]?.stringValue else { throw Failure(message: "operation \(n) has no \"op\"") }
            guard let pathText = op["path"]?.stringValue, let path = JSONPointer(pathText) else {
                throw Failure(message: "operation \(n) (\(name)) has no valid \"path\"")
            }
            func from() throws(Failure) -> JSONPointer {
                guard let t = op["from"]?.stringValue, let p = JSONPointer(t) else {
                    throw Failure(message: "operation \(n) (\(name)) has no valid \"from\"")
                }
                return p
            }
            func value() throws(Failure) -> JSONValue {
                guard let v = op["value"] else { throw Failure(message: "operation \(n) (\(name)) has no \"value\"") }
                return v
            }
            func touchesSealed(_ p: JSONPointer) -> Bool {
                sealed.contains { $0.starts(with: p.tokens) || p.tokens.starts(with: $0) }
            }
            if name == "test", touchesSealed(path) {
                throw Failure(message: "operation \(n) (test \(path)): a secret field cannot be tested")
            }
            if name == "copy" || name == "move", let f = op["from"]?.stringValue, let source = JSONPointer(f), touchesSealed(source) {
                throw Failure(message: "operation \(n) (\(name) from \(source)): a secret field cannot be copied or moved; write it with add or replace")
            }
            do throws(Failure) {
                switch name {
                case "add": doc = try add(try value(), at: path.tokens[...], in: doc)
                case "remove": doc = try remove(at: path.tokens[...], in: doc).0
                case "replace": doc = try replace(try value(), at: path.tokens[...], in: doc)
                case "move":
                    let source = try from()
                    if path.tokens.starts(with: source.tokens), path.tokens.count > source.tokens.count {
                        throw Failure(message: "cannot move \(source) into its own child \(path)")
                    }
                    let (removed, moved) = try remove(at: source.tokens[...], in: doc)
                    doc = try add(moved, at: path.tokens[...], in: removed)
                case "copy": doc = try add(try get(try from().tokens[...], in: doc), at: path.tokens[...], in: doc)
                case "test":
                    let actual = try get(path.tokens[...], in: doc)
                    if !equalNumbersAware(actual, try value()) { throw Failure(message: "test failed: value at \(path) differs") }
                default: throw Failure(message: "unknown op \"\(name)\"")
                }
            } catch {
                throw Failure(message: "operation \(n) (\(name) \(path)): \(error.message)")
            }
        }
        return doc
    }

    private static func equalNumbersAware(_ a: JSONValue, _ b: JSONValue) -> Bool {
        switch (a, b) {
        case (.int(let x), .double(let y)), (.double(let y), .int(let x)): return Double(x) == y
        default: return a == b
        }
    }

    static func get(_ path: ArraySlice<String>, in doc: JSONValue) throws(Failure) -> JSONValue {
        guard let head = path.first else { return doc }
        switch doc {
        case .object(let o):
            guard let child = o[head] else { throw Failure(message: "no member \"\(head)\"") }
            return try get(path.dropFirst(), in: child)
        case .array(let a):
            guard let idx = Int(head), a.indices.contains(idx) else { throw Failure(message: "no index \(head)") }
            return try get(path.dropFirst(), in: a[idx])
        default: throw Failure(message: "cannot descend into a \(doc.typeName)")
        }
    }

    static func add(_ value: JSONValue, at path: ArraySlice<String>, in doc: JSONValue) throws(Failure) -> JSONValue {
        guard let head = path.first else { return value }
        let rest = path.dropFirst()
        switch doc {
        case .object(var o):
            if rest.isEmpty { o[head] = value } else {
                guard let child = o[head] else { throw Failure(message: "no member \"\(head)\"") }
                o[head] = try add(value, at: rest, in: child)
            }
            return .object(o)
        case .array(var a):
            if rest.isEmpty {
                if head == "-" { a.append(value) } else {
                    guard let idx = Int(head), idx >= 0, idx <= a.count else { throw Failure(message: "index \(head) out of range") }
                    a.insert(value, at: idx)
                }
            } else {
                guard let idx = Int(head), a.indices.contains(idx) else { throw Failure(message: "no index \(head)") }
                a[idx] = try add(value, at: rest, in: a[idx])
            }
            return .array(a)
        default: throw Failure(message: "cannot add into a \(doc.typeName)")
        }
    }

    /// Replaces in place, so an object's key order is kept.
    static func replace(_ value: JSONValue, at path: ArraySlice<String>, in doc: JSONValue) throws(Failure) -> JSONValue {
        guard let head = path.first else { return value }
        let rest = path.dropFirst()
        switch doc {
        case .object(var o):
            guard let child = o[head] else { throw Failure(message: "no member \"\(head)\"") }
            o[head] = try replace(value, at: rest, in: child)
            return .object(o)
        case .array(var a):
            guard let idx = Int(head), a.indices.contains(idx) else { throw Failure(message: "no index \(head)") }
            a[idx] = try replace(value, at: rest, in: a[idx])
            return .array(a)
        default: throw Failure(message: "cannot replace inside a \(doc.typeName)")
        }
    }

    static func remove(at path: ArraySlice<String>, in doc: JSONValue) throws(Failure) -> (JSONValue, JSONValue) {
        guard let head = path.first else { throw Failure(message: "cannot remove the whole document") }
        let rest = path.dropFirst()
        switch doc {
        case .object(var o):
            guard let child = o[head] else { throw Failure(message: "no member \"\(head)\"") }
            if rest.isEmpty {
                o[head] = nil
                return (.object(o), child)
            }
            let (newChild, removed) = try remove(at: rest, in: child)
            o[head] = newChild
            return (.object(o), removed)
        case .array(var a):
            guard let idx = Int(head), a.indices.contains(idx) else { throw Failure(message: "no index \(head)") }
            if rest.isEmpty {
                let removed = a.remove(at: idx)
                return (.array(a), removed)
            }
            let (newChild, removed) = try remove(at: rest, in: a[idx])
            a[idx] = newChild
            return (.array(a), removed)
        default: throw Failure(message: "cannot remove from a \(doc.typeName)")
        }
    }
}
