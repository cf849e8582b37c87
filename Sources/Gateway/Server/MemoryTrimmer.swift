import ServiceLifecycle

#if canImport(Glibc)
// glibc's <malloc.h>, which the Glibc module does not export.
@_silgen_name("mallopt") private func mallopt(_ parameter: Int32, _ value: Int32) -> Int32
@_silgen_name("malloc_trim") private func malloc_trim(_ pad: Int) -> Int32
private let M_ARENA_MAX: Int32 = -8
#endif

/// Keeps the resident size near what the index holds. glibc gives each thread that allocates
/// its own arena and keeps freed pages there: after a load (5 MB host lists, rendered configs
/// on every event-loop thread) the process would stay hundreds of MB above its live data.
/// Fewer arenas, and returning free pages every few seconds, cost nothing measurable.
struct MemoryTrimmer: ServiceLifecycle.Service {
    var interval: Duration = .seconds(5)

    /// Call before threads start allocating.
    static func limitArenas() {
        #if canImport(Glibc)
        _ = mallopt(M_ARENA_MAX, 2)
        #endif
    }

    func run() async throws {
        // Sleeping ends at once when shutdown begins.
        try? await cancelWhenGracefulShutdown {
            while true {
                try await Task.sleep(for: interval)
                #if canImport(Glibc)
                _ = malloc_trim(0)
                #endif
            }
        }
    }
}
