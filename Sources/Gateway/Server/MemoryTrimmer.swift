import Foundation
import ServiceLifecycle

#if canImport(Glibc)
// glibc's <malloc.h>, which the Glibc module does not export.
@_silgen_name("mallopt") private func mallopt(_ parameter: Int32, _ value: Int32) -> Int32
@_silgen_name("malloc_trim") private func malloc_trim(_ pad: Int) -> Int32
private let M_ARENA_MAX: Int32 = -8
private let M_MMAP_THRESHOLD: Int32 = -3
private let M_TRIM_THRESHOLD: Int32 = -1
#endif

/// Keeps the resident size near what the index holds. glibc gives each thread that allocates
/// its own arena and keeps freed pages there: after a load (5 MB host lists, rendered configs
/// on every event-loop thread) the process would stay hundreds of MB above its live data.
/// Two arenas bound what the event-loop threads can strand. Returning free pages
/// (`malloc_trim`) holds the arena locks for milliseconds on a large heap, so it runs only once
/// the process has gone quiet: after a storm, not during one.
struct MemoryTrimmer: ServiceLifecycle.Service {
    var interval: Duration = .seconds(2)
    /// At most this share of one core used over the last interval counts as quiet.
    var quietShare = 0.05

    /// Call before threads start allocating.
    static func limitArenas() {
        #if canImport(Glibc)
        _ = mallopt(M_ARENA_MAX, 2)
        // Buffers of 256 KB and more (a list of 10,000 hosts is 5 MB, and 16 clients may be
        // reading one each) get pages of their own, which go back to the system when freed.
        // Left alone, glibc raises this threshold to the largest buffer freed so far, and the
        // next lists are cut from the arenas, where they leave holes behind.
        _ = mallopt(M_MMAP_THRESHOLD, 256 * 1024)
        // Setting that also fixes the trim threshold at 128 KB, and free() would then hand the
        // top of the heap back (and the next allocations fault it in again) all through a
        // storm. Trimming is the quiet-time job of `run()` instead.
        _ = mallopt(M_TRIM_THRESHOLD, 512 * 1024 * 1024)
        #endif
    }

    func run() async throws {
        // Sleeping ends at once when shutdown begins.
        try? await cancelWhenGracefulShutdown {
            var lastCPU = Self.processCPUSeconds()
            var trimmedSinceBusy = true
            while true {
                try await Task.sleep(for: interval)
                let cpu = Self.processCPUSeconds()
                let quiet = cpu - lastCPU < quietShare * Double(interval.components.seconds)
                lastCPU = cpu
                if !quiet {
                    trimmedSinceBusy = false
                } else if !trimmedSinceBusy {
                    #if canImport(Glibc)
                    _ = malloc_trim(0)
                    #endif
                    trimmedSinceBusy = true
                }
            }
        }
    }

    static func processCPUSeconds() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
    }
}
