import CProtobufC
#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// A bump allocator for the C structs, strings and arrays handed to protobuf-c's `pack`.
///
/// Everything allocated lives until `reset()` (which keeps the blocks for reuse, so a
/// long-lived encoder stops allocating once warm) or until the arena is deinitialized.
/// Not thread-safe: one arena per encoder per thread.
public final class Arena {
    // Not thread-safe by design (one owner thread): no dynamic exclusivity checks, which cost
    // more than the bump itself when protobuf-c allocates once per string of a big batch.
    @exclusivity(unchecked) private var blocks: [(base: UnsafeMutableRawPointer, size: Int)] = []
    @exclusivity(unchecked) private var current = 0      // index into blocks
    @exclusivity(unchecked) private var offset = 0       // next free byte in blocks[current]
    /// `blocks[current]`, kept apart so the common allocation touches no array.
    @exclusivity(unchecked) private var currentBase: UnsafeMutableRawPointer? = nil
    @exclusivity(unchecked) private var currentSize = 0
    private let blockSize: Int

    public init(blockSize: Int = 64 * 1024) {
        self.blockSize = blockSize
    }

    deinit {
        for b in blocks { b.base.deallocate() }
    }

    /// Makes every allocation reusable (pointers handed out before become invalid). Blocks
    /// beyond `keepingBytes` in total are freed, so one huge message does not pin memory.
    public func reset(keepingBytes: Int = 1024 * 1024) {
        current = 0
        offset = 0
        defer { (currentBase, currentSize) = blocks.isEmpty ? (nil, 0) : blocks[0] }
        var kept = 0
        var i = 0
        while i < blocks.count {
            if kept + blocks[i].size > keepingBytes && i > 0 {
                for b in blocks[i...] { b.base.deallocate() }
                blocks.removeSubrange(i...)
                break
            }
            kept += blocks[i].size
            i += 1
        }
    }

    @inline(__always)
    public func allocate(byteCount: Int, alignment: Int = 16) -> UnsafeMutableRawPointer {
        let n = max(byteCount, 1)
        let aligned = (offset + alignment - 1) & ~(alignment - 1)
        if let base = currentBase, aligned + n <= currentSize {
            offset = aligned + n
            return base.advanced(by: aligned)
        }
        return allocateInNextBlock(n, alignment: alignment)
    }

    @inline(never)
    private func allocateInNextBlock(_ n: Int, alignment: Int) -> UnsafeMutableRawPointer {
        if currentBase != nil { current += 1 }
        while current < blocks.count {
            let b = blocks[current]
            if n <= b.size {
                (currentBase, currentSize) = b
                offset = n
                return b.base
            }
            current += 1
        }
        let size = max(blockSize, n + alignment)
        let base = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 16)
        blocks.append((base, size))
        current = blocks.count - 1
        (currentBase, currentSize) = (base, size)
        offset = n
        return base
    }

    public func allocate<T>(_ type: T.Type, count: Int = 1) -> UnsafeMutablePointer<T> {
        allocate(byteCount: MemoryLayout<T>.stride * max(count, 1), alignment: max(MemoryLayout<T>.alignment, 8))
            .bindMemory(to: T.self, capacity: max(count, 1))
    }

    /// A NUL-terminated copy of `s`.
    public func cString(_ s: String) -> UnsafeMutablePointer<CChar> {
        var s = s
        return s.withUTF8 { u in
            let p = allocate(byteCount: u.count + 1, alignment: 1).bindMemory(to: CChar.self, capacity: u.count + 1)
            if u.count > 0 { memcpy(p, u.baseAddress!, u.count) }
            p[u.count] = 0
            return p
        }
    }

    /// An array of C-string pointers, one per string.
    public func cStrings(_ list: [String]) -> UnsafeMutablePointer<UnsafeMutablePointer<CChar>?> {
        let p = allocate(UnsafeMutablePointer<CChar>?.self, count: list.count)
        for (i, s) in list.enumerated() { p[i] = cString(s) }
        return p
    }

    public func copy<T>(_ values: [T]) -> UnsafeMutablePointer<T> {
        let p = allocate(T.self, count: values.count)
        values.withUnsafeBufferPointer { b in
            if let base = b.baseAddress { p.initialize(from: base, count: b.count) }
        }
        return p
    }
}

/// A `ProtobufCAllocator` that bump-allocates from an `Arena` (its `free` does nothing), so
/// `unpack` costs no malloc/free per sub-message, string or array. One unpacked message at a
/// time: the arena is reset when the next message is unpacked into it, and the
/// `UnpackedRequest` that owns the message checks that it is the only one alive.
public final class UnpackArena {
    let arena = Arena()
    let allocator: UnsafeMutablePointer<ProtobufCAllocator>
    var live = false

    public init() {
        allocator = .allocate(capacity: 1)
        allocator.initialize(to: ProtobufCAllocator(
            alloc: { data, size in
                // Borrowed, not retained: the arena outlives every unpack into it.
                Unmanaged<Arena>.fromOpaque(data!)._withUnsafeGuaranteedRef { $0.allocate(byteCount: size, alignment: 16) }
            },
            free: { _, _ in },
            allocator_data: Unmanaged.passUnretained(arena).toOpaque()))
    }

    deinit {
        precondition(!live, "UnpackArena released while a message unpacked into it is alive")
        allocator.deallocate()
    }
}

/// Immutable NUL-terminated copies of a list of strings (field names, categories), with a
/// lookup by C string that allocates nothing. Owned memory is freed in deinit.
public final class CStringTable: @unchecked Sendable {
    public let strings: [String]
    private let pointers: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>
    private let lengths: [Int]

    public init(_ strings: [String]) {
        self.strings = strings
        pointers = .allocate(capacity: max(strings.count, 1))
        var lengths = [Int]()
        for (i, s) in strings.enumerated() {
            pointers[i] = strdup(s)
            lengths.append(strlen(pointers[i]!))
        }
        self.lengths = lengths
    }

    deinit {
        for i in 0..<strings.count { free(pointers[i]) }
        pointers.deallocate()
    }

    public var count: Int { strings.count }

    /// The C string at `i` (stable for the table's lifetime).
    public subscript(i: Int) -> UnsafeMutablePointer<CChar> { pointers[i]! }

    /// Position of `s` in the table, nil when absent. Linear (tables are small).
    @inline(__always)
    public func index(of s: UnsafePointer<CChar>) -> Int? {
        let n = strlen(s)
        for i in 0..<strings.count where lengths[i] == n && memcmp(pointers[i]!, s, n) == 0 {
            return i
        }
        return nil
    }
}
