// glibc's malloc tuning calls (malloc.h, which the Glibc module does not export).
@_silgen_name("mallopt") private func c_mallopt(_ param: Int32, _ value: Int32) -> Int32
@_silgen_name("malloc_trim") private func c_malloc_trim(_ pad: Int) -> Int32

enum Malloc {
    /// M_MMAP_THRESHOLD from malloc.h.
    private static let mmapThreshold: Int32 = -3

    /// Allocations of at least `bytes` come from mmap and go back to the system when freed;
    /// setting it also stops glibc from raising it after the first big free.
    static func setMmapThreshold(_ bytes: Int32) { _ = c_mallopt(mmapThreshold, bytes) }

    /// Returns free heap pages to the system.
    static func trim() { _ = c_malloc_trim(0) }
}
