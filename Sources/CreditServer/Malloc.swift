// glibc's malloc tuning calls (malloc.h, which the Glibc module does not export).
@_silgen_name("mallopt") private func c_mallopt(_ param: Int32, _ value: Int32) -> Int32
@_silgen_name("malloc_trim") private func c_malloc_trim(_ pad: Int) -> Int32

enum Malloc {
    /// M_MMAP_THRESHOLD and M_ARENA_MAX from malloc.h.
    private static let mmapThreshold: Int32 = -3
    private static let arenaMax: Int32 = -8

    /// At most `n` malloc arenas. glibc gives threads their own arenas (up to 8 per core);
    /// freed memory scattered over many arenas is what keeps RSS up after a burst of
    /// connections, and the request path allocates nothing, so sharing costs no contention.
    static func setArenaMax(_ n: Int32) { _ = c_mallopt(arenaMax, n) }

    /// Allocations of at least `bytes` come from mmap and go back to the system when freed;
    /// setting it also stops glibc from raising it after the first big free.
    static func setMmapThreshold(_ bytes: Int32) { _ = c_mallopt(mmapThreshold, bytes) }

    /// Returns free heap pages to the system.
    static func trim() { _ = c_malloc_trim(0) }
}
