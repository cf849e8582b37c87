import Foundation
import Testing
@testable import Gateway

@Suite struct SchemaTests {
    @Test func normalizeEmitsMkubeWireForm() throws {
        // A minimal host comes out with mkube's always-emitted fields, in mkube's key order.
        let input = try JSONParser.parse(#"{"spec":{"image":"","bootMACAddress":"aa:bb:cc:dd:ee:ff","online":false},"metadata":{"name":"h"},"kind":"BareMetalHost","apiVersion":"v1"}"#)
        let out = KindSchemas.bareMetalHost.normalize(input)
        #expect(JSONWriter.string(out) == #"{"kind":"BareMetalHost","apiVersion":"v1","metadata":{"name":"h","creationTimestamp":""},"spec":{"bmc":{},"bootMACAddress":"aa:bb:cc:dd:ee:ff","online":false},"status":{"phase":"","poweredOn":false}}"#)
    }

    @Test func checkReportsUnknownFieldsAndTypes() throws {
        let body = try JSONParser.parse(#"{"spec":{"bootMacAddress":"x","online":"yes","nics":[{"mac":"m","bogus":1}]}}"#)
        var report = SchemaReport()
        let cleaned = FieldType.object(KindSchemas.bareMetalHost).check(body, path: "", report: &report)
        #expect(report.unknown.map(\.path).sorted() == ["spec.bootMacAddress", "spec.nics[0].bogus"])
        #expect(report.unknown.first { $0.path == "spec.bootMacAddress" }?.suggestion == "bootMACAddress")
        #expect(report.typeErrors == ["spec.online: expected boolean, got string"])
        // A case-insensitive match is kept under its right name, as mkube's decoder does.
        #expect(cleaned["spec"]?["bootMACAddress"] == .string("x"))
    }

    @Test func mapsComeOutSorted() throws {
        let input = try JSONParser.parse(#"{"spec":{"format":"custom","data":{"z":"1","a":"2"}}}"#)
        let out = KindSchemas.bootConfig.normalize(input)
        #expect(out["spec"]?["data"]?.objectValue?.keys == ["a", "z"])
    }
}

@Suite struct SelectorTests {
    @Test func labelSelectors() throws {
        let labels = ["rack": "r1", "role": "builder"]
        #expect(try LabelSelector(parsing: "rack=r1").matches(labels))
        #expect(try LabelSelector(parsing: "rack==r1,role").matches(labels))
        #expect(try !LabelSelector(parsing: "rack!=r1").matches(labels))
        #expect(try LabelSelector(parsing: "role in (builder, server),!gpu").matches(labels))
        #expect(try !LabelSelector(parsing: "role notin (builder)").matches(labels))
        #expect(throws: APIError.self) { try LabelSelector(parsing: "role in builder") }
    }

    @Test func fieldSelectorsNormaliseMACs() throws {
        let host = ResourceObject(kind: .bareMetalHost, json: try JSONParser.parse(#"{"metadata":{"name":"s1","namespace":"default"},"spec":{"bootMACAddress":"AC:1F:6B:8A:A7:9C","image":"coreos-live"}}"#))
        #expect(try FieldSelector(parsing: "spec.bootMACAddress=ac-1f-6b-8a-a7-9c", kind: .bareMetalHost).matches(host))
        #expect(try FieldSelector(parsing: "metadata.name=s1,spec.image!=localboot", kind: .bareMetalHost).matches(host))
        #expect(try !FieldSelector(parsing: "spec.image=fedora", kind: .bareMetalHost).matches(host))
        #expect(throws: APIError.self) { try FieldSelector(parsing: "spec.bogus=1", kind: .bareMetalHost) }
    }

    @Test func macNormalisation() {
        #expect(MACAddress.normalize("AC:1F:6B:8A:A7:9C") == "ac:1f:6b:8a:a7:9c")
        #expect(MACAddress.normalize("ac-1f-6b-8a-a7-9c") == "ac:1f:6b:8a:a7:9c")
        #expect(MACAddress.normalize("ac1f6b8aa79c") == "ac:1f:6b:8a:a7:9c")
        #expect(MACAddress.normalize("ac%3A1f") == nil)
        #expect(MACAddress.normalize("zz:1f:6b:8a:a7:9c") == nil)
        #expect(MACAddress.normalize("ac:1f6b:8a:a7:9c") == nil)
    }

    @Test func scriptsEchoTheMACAsStored() throws {
        let host = ResourceObject(kind: .bareMetalHost, json: try JSONParser.parse(
            #"{"metadata":{"name":"s1","namespace":"default"},"spec":{"bootMACAddress":"AC:1F:6B:8A:A7:9C","nics":[{"mac":"5254.00ab.1001"}]}}"#))
        #expect(BootResolver.storedSpelling(of: "ac:1f:6b:8a:a7:9c", in: host) == "AC:1F:6B:8A:A7:9C")
        // A spelling a script must not carry falls back to the normalised one.
        #expect(BootResolver.storedSpelling(of: "52:54:00:ab:10:01", in: host) == "52:54:00:ab:10:01")
    }

    @Test func continueTokensRoundTripAndRefuseGarbage() throws {
        let token = ListContinueToken(revision: 42, after: ObjectKey(.bareMetalHost, namespace: "lab", name: "s1"))
        #expect(!token.encoded.contains("=") && !token.encoded.contains("+") && !token.encoded.contains("/"))
        #expect(try ListContinueToken(parsing: token.encoded) == token)
        #expect(token.isAfter(ObjectKey(.bareMetalHost, namespace: "lab", name: "s2")))
        #expect(!token.isAfter(ObjectKey(.bareMetalHost, namespace: "lab", name: "s1")))
        for bad in ["", "!!", "eyJ2IjoxfQ", Data(#"{"v":"meta.k8s.io/v1","rv":0,"start":"a/b\u0000"}"#.utf8).base64EncodedString()] {
            #expect(throws: APIError.self) { try ListContinueToken(parsing: bad) }
        }
    }
}

@Suite struct RouterTests {
    @Test func literalRoutesWinAndMethodsAreChecked() {
        let router = OperationRouter(OperationTable.all)
        guard case .found(let op, _) = router.match(method: "GET", path: "/api/v1/baremetalhosts") else {
            Issue.record("no match")
            return
        }
        #expect(op.id == "baremetalhosts.listAllNamespaces")
        guard case .found(let op2, let params) = router.match(method: "PATCH", path: "/api/v1/namespaces/default/baremetalhosts/server1") else {
            Issue.record("no match")
            return
        }
        #expect(op2.id == "baremetalhosts.patch")
        #expect(params == ["namespace": "default", "name": "server1"])
        guard case .methodNotAllowed(let allowed) = router.match(method: "PUT", path: "/api/v1/bootconfigs") else {
            Issue.record("PUT on a collection should be 405")
            return
        }
        #expect(allowed == ["GET", "POST"])
        guard case .notFound = router.match(method: "GET", path: "/api/v1/baremetalhosts/server1") else {
            Issue.record("mkube has no cluster-scoped host get")
            return
        }
    }

    @Test func queryStringsDecodeLikeGo() {
        #expect(QueryString.parse("labelSelector=role+in+(a%2Cb)&watch") == ["labelSelector": "role in (a,b)", "watch": ""])
    }

    @Test func operationIDsAreUnique() {
        let ids = OperationTable.all.map(\.id)
        #expect(Set(ids).count == ids.count)
    }
}

@Suite struct ContractTests {
    /// openapi/openapi.yaml is generated; it must match what the server serves.
    @Test func checkedInOpenAPIMatchesTheOperationTable() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let checkedIn = try String(contentsOf: root.appendingPathComponent("openapi/openapi.yaml"), encoding: .utf8)
        #expect(checkedIn == OpenAPIDocument.yaml, "openapi/openapi.yaml is stale: run `bootgate openapi > openapi/openapi.yaml`")
        // And the YAML reads back as the JSON document.
        #expect(try YAMLDocuments.parse(checkedIn) == [OpenAPIDocument.json])
    }
}

@Suite struct TransportUniformityTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test func checkedInOpenRPCMatchesTheOperationTable() throws {
        let checkedIn = try Data(contentsOf: Self.root.appendingPathComponent("openapi/openrpc.json"))
        #expect(try JSONParser.parse(Array(checkedIn)) == OpenRPCDocument.json,
                "openapi/openrpc.json is stale: run `bootgate openapi --openrpc > openapi/openrpc.json`")
    }

    /// Every operation is a REST route and a JSON-RPC method, under the same name.
    @Test func noOperationIsMissingFromEitherTransport() throws {
        let methods = Set((OpenRPCDocument.json["methods"]?.arrayValue ?? []).compactMap { $0["name"]?.stringValue })
        var restIDs = Set<String>()
        for (_, item) in OpenAPIDocument.json["paths"]?.objectValue ?? JSONObject() {
            for (_, op) in item.objectValue ?? JSONObject() { if let id = op["operationId"]?.stringValue { restIDs.insert(id) } }
        }
        let router = OperationRouter(OperationTable.all)
        for op in OperationTable.all {
            #expect(methods.contains(op.id), "\(op.id) is not a JSON-RPC method")
            #expect(restIDs.contains(op.id), "\(op.id) is not in the OpenAPI document")
            let concrete = op.path.replacingOccurrences(of: "{namespace}", with: "default").replacingOccurrences(of: "{name}", with: "x")
                .replacingOccurrences(of: "{filename}", with: "f")
            guard case .found(let found, _) = router.match(method: op.method.rawValue, path: concrete) else {
                Issue.record("\(op.id) is not routed over REST")
                continue
            }
            #expect(found.id == op.id)
        }
        #expect(methods.subtracting(OperationTable.all.map(\.id)) == ["rpc.discover", "rpc.unsubscribe"])
    }
}
