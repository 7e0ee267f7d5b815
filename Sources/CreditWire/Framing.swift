#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// Frames: a 4-byte big-endian length N, then N bytes of one serialized message.
public enum Frame {
    public static let headerBytes = 4

    /// Appends the header and `payload` to `out`.
    public static func append(_ payload: some Collection<UInt8>, to out: inout [UInt8]) {
        let n = UInt32(payload.count)
        out.append(UInt8(truncatingIfNeeded: n >> 24))
        out.append(UInt8(truncatingIfNeeded: n >> 16))
        out.append(UInt8(truncatingIfNeeded: n >> 8))
        out.append(UInt8(truncatingIfNeeded: n))
        out.append(contentsOf: payload)
    }

    public static func encode(_ payload: some Collection<UInt8>) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(payload.count + headerBytes)
        append(payload, to: &out)
        return out
    }

    @inline(__always)
    static func readLength(_ p: UnsafeRawPointer) -> Int {
        Int(p.load(as: UInt8.self)) << 24 | Int(p.load(fromByteOffset: 1, as: UInt8.self)) << 16
            | Int(p.load(fromByteOffset: 2, as: UInt8.self)) << 8 | Int(p.load(fromByteOffset: 3, as: UInt8.self))
    }
}

/// A frame whose declared length is over the limit: the stream cannot be resynchronised.
public struct FrameTooLarge: Error, CustomStringConvertible, Equatable {
    public var length: Int
    public var limit: Int
    public init(length: Int, limit: Int) {
        self.length = length
        self.limit = limit
    }
    public var description: String { "frame of \(length) bytes exceeds the limit of \(limit) bytes" }
}

/// Reassembles frames from a byte stream read in arbitrary pieces.
///
/// One buffer, reused: bytes are read straight into `writableSpace(minimum:)`, then
/// `commit(_:)`; `nextFrame()` hands out each complete payload as a pointer into the buffer,
/// valid until the next call to any mutating method. The header is checked against
/// `maxFrameBytes` as soon as its 4 bytes are in, before the payload is buffered, so a
/// hostile length never makes the buffer grow.
public final class FrameDecoder {
    public let maxFrameBytes: Int
    private var storage: UnsafeMutableRawPointer
    private var capacity: Int
    private var start = 0   // first unconsumed byte
    private var end = 0     // one past the last byte read
    private let initialCapacity: Int
    /// Above this, an emptied buffer goes back to its initial size: one big frame must not
    /// pin megabytes per open connection.
    public static let keptCapacity = 1 << 20

    public init(maxFrameBytes: Int, initialCapacity: Int = 64 * 1024) {
        precondition(maxFrameBytes > 0)
        self.maxFrameBytes = maxFrameBytes
        self.initialCapacity = max(initialCapacity, Frame.headerBytes)
        self.capacity = max(initialCapacity, Frame.headerBytes)
        self.storage = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 16)
    }

    deinit { storage.deallocate() }

    /// Bytes received but not yet returned as frames (a partial frame).
    public var bufferedBytes: Int { end - start }

    /// Space to read at least `minimum` bytes into (compacts or grows the buffer as needed).
    public func writableSpace(minimum: Int = 4096) -> UnsafeMutableRawBufferPointer {
        if capacity - end < minimum {
            let live = end - start
            if start > 0 {
                if live > 0 { memmoveBytes(storage, storage.advanced(by: start), live) }
                start = 0
                end = live
            }
            if capacity - end < minimum {
                var newCap = capacity
                while newCap - end < minimum { newCap *= 2 }
                let n = UnsafeMutableRawPointer.allocate(byteCount: newCap, alignment: 16)
                n.copyMemory(from: storage, byteCount: end)
                storage.deallocate()
                storage = n
                capacity = newCap
            }
        }
        return UnsafeMutableRawBufferPointer(start: storage.advanced(by: end), count: capacity - end)
    }

    /// Records that `count` bytes were written into the space from `writableSpace`.
    public func commit(_ count: Int) {
        precondition(count >= 0 && end + count <= capacity)
        end += count
    }

    /// Copies `bytes` in (tests, and callers that already hold the bytes).
    public func append(_ bytes: UnsafeRawBufferPointer) {
        let space = writableSpace(minimum: bytes.count)
        if bytes.count > 0 { space.baseAddress!.copyMemory(from: bytes.baseAddress!, byteCount: bytes.count) }
        commit(bytes.count)
    }

    public func append(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { append($0) }
    }

    /// The next complete frame's payload, nil when more bytes are needed. Throws
    /// `FrameTooLarge` when a header declares more than `maxFrameBytes`.
    public func nextFrame() throws(FrameTooLarge) -> UnsafeRawBufferPointer? {
        let live = end - start
        guard live >= Frame.headerBytes else { compactIfEmpty(); return nil }
        let length = Frame.readLength(storage.advanced(by: start))
        guard length <= maxFrameBytes else { throw FrameTooLarge(length: length, limit: maxFrameBytes) }
        guard live >= Frame.headerBytes + length else { return nil }
        let payload = UnsafeRawBufferPointer(start: storage.advanced(by: start + Frame.headerBytes), count: length)
        start += Frame.headerBytes + length
        return payload
    }

    /// The payload length announced by a buffered header, if its 4 bytes are in.
    public var pendingFrameLength: Int? {
        end - start >= Frame.headerBytes ? Frame.readLength(storage.advanced(by: start)) : nil
    }

    /// The buffer's size now (tests check it shrinks).
    public var bufferCapacity: Int { capacity }

    private func compactIfEmpty() {
        guard start == end else { return }
        start = 0
        end = 0
        if capacity > Self.keptCapacity {
            storage.deallocate()
            capacity = initialCapacity
            storage = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 16)
        }
    }
}

@inline(__always)
private func memmoveBytes(_ dst: UnsafeMutableRawPointer, _ src: UnsafeMutableRawPointer, _ n: Int) {
    _ = memmove(dst, src, n)
}
