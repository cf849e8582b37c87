import Foundation
import Testing

/// Paths of the test fixtures copied into the test bundle.
enum Fixtures {
    static func pluginDirectory() throws -> String {
        let url = try #require(Bundle.module.url(forResource: "Fixtures", withExtension: nil),
                               "Fixtures missing from the test bundle")
        return url.appendingPathComponent("plugins").path
    }

    static func plugin(_ format: String) throws -> String {
        try pluginDirectory() + "/bootgate-render-" + format
    }
}

/// Seconds since `start`, for asserting that failures come back in bounded time.
func secondsSince(_ start: ContinuousClock.Instant) -> Double {
    let elapsed = ContinuousClock.now - start
    return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
}
