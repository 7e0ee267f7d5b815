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
        let p = (buffer + start).assumingMemoryBound(to: UInt8.self)
        let head = String(decoding: UnsafeBufferPointer(start: p, count: headerEnd), as: UTF8.self)
        let lines = head.split(separator: "\r\n")
        guard let first = lines.first, first.hasPrefix("HTTP/1.") else { return nil }
        let parts = first.split(separator: " ")
        guard parts.count >= 2, let status = Int(parts[1]) else { return nil }
        var length = 0
        for line in lines.dropFirst() where line.lowercased().hasPrefix("content-length:") {
            length = Int(line.dropFirst("content-length:".count).trimmingCharacters(in: " ")) ?? 0
        }
        guard fill(headerEnd + length) else { return nil }
        start += headerEnd + length
        return status
    }
}

extension Substring {
    func trimmingCharacters(in set: Character) -> Substring {
        var s = self
        while s.first == set { s = s.dropFirst() }
        while s.last == set { s = s.dropLast() }
        return s
    }
}
