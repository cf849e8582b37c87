@testable import Plugins
import Testing

@Suite struct PluginGateTests {
    /// Counts how many bodies run at once.
    actor Meter {
        var current = 0
        var peak = 0
        func enter() { current += 1; peak = max(peak, current) }
        func leave() { current -= 1 }
    }

    @Test func neverRunsMoreThanItsLimit() async {
        let gate = PluginGate(limit: 2)
        let meter = Meter()
        await withTaskGroup(of: Int.self) { group in
            for index in 0..<8 {
                group.addTask {
                    await gate.run {
                        await meter.enter()
                        try? await Task.sleep(for: .milliseconds(20))
                        await meter.leave()
                        return index
                    }
                }
            }
            var finished = 0
            for await _ in group { finished += 1 }
            #expect(finished == 8)
        }
        #expect(await meter.peak == 2)
        #expect(await meter.current == 0)
    }
}
