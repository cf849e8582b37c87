// swift-tools-version:6.0
import PackageDescription

// `scripts/fuzz.sh` builds the libFuzzer harness with BOOTGATE_FUZZ=1 in its own scratch path:
// only the modules whose parsers are fuzzed get coverage instrumentation, so the dependencies
// build as usual (an instrumented build of all of them takes far longer on two cores).
let fuzzing = Context.environment["BOOTGATE_FUZZ"] == "1"
let fuzzInstrumented: [SwiftSetting] = fuzzing ? [.unsafeFlags(["-sanitize=fuzzer", "-O"])] : []

let package = Package(
    name: "bootgate",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "bootgate", targets: ["bootgate"]),
        .library(name: "Gateway", targets: ["Gateway"]),
        .library(name: "Renderers", targets: ["Renderers"]),
        .library(name: "Plugins", targets: ["Plugins"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket.git", from: "2.8.1"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache.git", from: "2.1.1"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        // GET /metrics: swift-metrics' API over swift-prometheus's registry and text format.
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
    ],
    targets: [
        .systemLibrary(name: "CJansson", pkgConfig: "jansson", providers: [.apt(["libjansson-dev"])]),
        .systemLibrary(name: "COpenSSL", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"])]),
        .target(
            name: "Renderers",
            dependencies: ["CJansson"],
            resources: [.copy("Resources")],
            swiftSettings: fuzzInstrumented
        ),
        .target(
            name: "Plugins",
            dependencies: [
                "Renderers",
                .product(name: "Yams", package: "Yams"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "Gateway",
            dependencies: [
                "COpenSSL",
                "Renderers",
                "Plugins",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                // Optional TLS (`--tls-cert`): kubectl sends no token over plain HTTP.
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            resources: [.copy("Assets")],
            swiftSettings: fuzzInstrumented
        ),
        .executableTarget(
            name: "bootgate",
            dependencies: [
                "Gateway",
                "Plugins",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(
            name: "RenderersTests",
            dependencies: [
                "Renderers",
                // The reference rendering CompiledTemplate is compared with.
                .product(name: "Mustache", package: "swift-mustache"),
            ]
        ),
        .testTarget(name: "PluginsTests", dependencies: ["Plugins"], resources: [.copy("Fixtures")]),
        .testTarget(
            name: "GatewayTests",
            dependencies: [
                "Gateway",
                "Plugins",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                // The boot lane's parser is fuzzed against NIO's decoder (RawRequestHeadFuzzTests).
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
    ]
)

if fuzzing {
    // libFuzzer's driver, started from our own main (SwiftPM renames an executable's main, so
    // libFuzzer's would never run). lld: gold fails to link the instrumented objects.
    package.targets.append(.executableTarget(
        name: "BootgateFuzz",
        dependencies: ["Gateway", "Renderers", "Plugins", .product(name: "NIOCore", package: "swift-nio")],
        swiftSettings: fuzzInstrumented,
        linkerSettings: [.unsafeFlags(["-sanitize=fuzzer", "-use-ld=lld"])]
    ))
}
