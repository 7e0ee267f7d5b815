import CreditCore
import CreditNet
#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// One blocking load-generator socket (CreditNet's address grammar and socket helpers) with
/// its own receive buffer, reused: reading a response does not allocate once the buffer
/// has grown to the largest response, so the generator's own cost stays out of the figures.
/// It reads creditd's frames and, for the HTTP peers, HTTP/1.1 responses.
public final class BenchConnection {
    public let fd: Int32
    private var buffer: UnsafeMutableRawPointer
    private var capacity: Int
    private var start = 0
    private var end = 0

    public init(_ endpoint: SocketAddress, receiveTimeoutSeconds: Int = 10) throws {
        fd = try Sockets.connect(endpoint)
        Sockets.setTimeout(fd, option: SO_RCVTIMEO, seconds: Double(receiveTimeoutSeconds))
        capacity = 1 << 16
        buffer = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 16)
    }

    deinit {
        close(fd)
        buffer.deallocate()
    }

    /// Half-closes the sending side.
    public func finishSending() { shutdown(fd, Int32(SHUT_WR)) }

    public func writeAll(_ bytes: UnsafeRawBufferPointer) -> Bool { Sockets.writeAll(fd, bytes) }

    /// Makes sure `count` bytes from `start` are buffered. False on close, error or timeout.
    private func fill(_ count: Int) -> Bool {
        while end - start < count {
            if start + count > capacity {
                if count > capacity {
                    var c = capacity
                    while c < count { c *= 2 }
                    let nb = UnsafeMutableRawPointer.allocate(byteCount: c, alignment: 16)
                    nb.copyMemory(from: buffer + start, byteCount: end - start)
                    buffer.deallocate(); buffer = nb; capacity = c
                } else {
                    (buffer).copyMemory(from: buffer + start, byteCount: end - start)
                }
                end -= start; start = 0
            }
            let n = Sockets.readSome(fd, UnsafeMutableRawBufferPointer(start: buffer + end, count: capacity - end))
            if n <= 0 { return false }
            end += n
        }
        return true
    }

    /// Next length-prefixed frame's payload (valid until the next read). Nil on close/timeout.
    public func readFrame() -> UnsafeRawBufferPointer? {
        if start == end { start = 0; end = 0 }
        guard fill(4) else { return nil }
        let b = buffer + start
        let len = Int(b.load(fromByteOffset: 0, as: UInt8.self)) << 24 | Int(b.load(fromByteOffset: 1, as: UInt8.self)) << 16
            | Int(b.load(fromByteOffset: 2, as: UInt8.self)) << 8 | Int(b.load(fromByteOffset: 3, as: UInt8.self))
        guard fill(4 + len) else { return nil }
        let payload = UnsafeRawBufferPointer(start: buffer + start + 4, count: len)
        start += 4 + len
        return payload
    }

    /// Next HTTP/1.1 response (Content-Length bodies only): its status code. Nil on close/timeout
    /// or a response the generator cannot frame.
    public func readHTTPStatus() -> Int? {
        if start == end { start = 0; end = 0 }
        // Find the end of the headers.
        var scanned = 0
        var headerEnd = -1
        while headerEnd < 0 {
            let avail = end - start
            if avail >= 4 {
                let p = (buffer + start).assumingMemoryBound(to: UInt8.self)
                var i = Swift.max(0, scanned - 3)
                while i + 3 < avail {
                    if p[i] == 13 && p[i + 1] == 10 && p[i + 2] == 13 && p[i + 3] == 10 { headerEnd = i + 4; break }
                    i += 1
                }
                scanned = avail
            }
            if headerEnd < 0 { guard fill(end - start + 1) else { return nil } }
        }
        // Status and Content-Length read from the bytes in place: the generator's own cost
        // (a String per line, lowercased copies) stays out of the HTTP latencies.
        let p = UnsafeBufferPointer(start: (buffer + start).assumingMemoryBound(to: UInt8.self), count: headerEnd)
        guard let status = Self.httpStatus(p) else { return nil }
        let length = Self.contentLength(p)
        guard fill(headerEnd + length) else { return nil }
        start += headerEnd + length
        return status
    }
}

extension BenchConnection {
    /// "HTTP/1.x NNN ..." -> NNN.
    static func httpStatus(_ head: UnsafeBufferPointer<UInt8>) -> Int? {
        guard head.count >= 12, head[0] == UInt8(ascii: "H"), head[4] == UInt8(ascii: "/"), head[8] == UInt8(ascii: " ") else { return nil }
        var status = 0
        for i in 9..<12 {
            let d = Int(head[i]) - 48
            guard (0...9).contains(d) else { return nil }
            status = status * 10 + d
        }
        return status
    }

    /// The value of the first `Content-Length` header (any case), 0 without one.
    private static let contentLengthName = Array("content-length:".utf8)

    static func contentLength(_ head: UnsafeBufferPointer<UInt8>) -> Int {
        let name = contentLengthName
        var i = 0
        while i < head.count {
            // i is at the start of a line.
            var k = 0
            while k < name.count, i + k < head.count, head[i + k] | 0x20 == name[k] { k += 1 }
            if k == name.count {
                var j = i + k, value = 0
                while j < head.count, head[j] == UInt8(ascii: " ") { j += 1 }
                while j < head.count, (48...57).contains(head[j]) { value = value * 10 + Int(head[j]) - 48; j += 1 }
                return value
            }
            while i < head.count, head[i] != 10 { i += 1 }
            i += 1
        }
        return 0
    }
}
