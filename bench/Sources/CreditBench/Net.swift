#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// Monotonic clock in nanoseconds.
@inline(__always)
public func monotonicNanos() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}

/// Where the generator connects.
public enum Endpoint: Sendable, Equatable, CustomStringConvertible {
    case unix(String)
    case tcp(host: String, port: UInt16)

    public var description: String {
        switch self {
        case .unix(let p): "unix:\(p)"
        case .tcp(let h, let p): "tcp:\(h):\(p)"
        }
    }
    public var transportName: String {
        switch self { case .unix: "unix"; case .tcp: "tcp" }
    }
}

public struct NetError: Error, CustomStringConvertible {
    public var operation: String
    public var endpoint: String
    public var errno: Int32
    public var description: String { "\(operation) \(endpoint): \(String(cString: strerror(errno)))" }
}

/// One blocking client socket with its own receive buffer (reused: reading a response does
/// not allocate once the buffer has grown to the largest response).
public final class BenchConnection {
    public let fd: Int32
    private var buffer: UnsafeMutableRawPointer
    private var capacity: Int
    private var start = 0
    private var end = 0

    public init(_ endpoint: Endpoint, receiveTimeoutSeconds: Int = 10) throws {
        switch endpoint {
        case .unix(let path):
            let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
            guard fd >= 0 else { throw NetError(operation: "socket", endpoint: "\(endpoint)", errno: errno) }
            var addr = sockaddr_un()
            addr.sun_family = sa_family_t(AF_UNIX)
            let bytes = Array(path.utf8)
            withUnsafeMutableBytes(of: &addr.sun_path) { raw in
                raw.copyBytes(from: bytes.prefix(raw.count - 1)); raw[Swift.min(bytes.count, raw.count - 1)] = 0
            }
            let rc = withUnsafePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
            guard rc == 0 else { let e = errno; close(fd); throw NetError(operation: "connect", endpoint: "\(endpoint)", errno: e) }
            self.fd = fd
        case .tcp(let host, let port):
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            guard fd >= 0 else { throw NetError(operation: "socket", endpoint: "\(endpoint)", errno: errno) }
            var addr = sockaddr_in()
            addr.sin_family = sa_family_t(AF_INET)
            addr.sin_port = port.bigEndian
            inet_pton(AF_INET, host == "localhost" ? "127.0.0.1" : host, &addr.sin_addr)
            let rc = withUnsafePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard rc == 0 else { let e = errno; close(fd); throw NetError(operation: "connect", endpoint: "\(endpoint)", errno: e) }
            var one: Int32 = 1
            setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            self.fd = fd
        }
        var tv = timeval(tv_sec: receiveTimeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        capacity = 1 << 16
        buffer = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 16)
    }

    deinit {
        close(fd)
        buffer.deallocate()
    }

    /// Half-closes the sending side.
    public func finishSending() { shutdown(fd, Int32(SHUT_WR)) }

    public func writeAll(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var off = 0
        while off < bytes.count {
            let n = send(fd, bytes.baseAddress! + off, bytes.count - off, Int32(MSG_NOSIGNAL))
            if n < 0 { if errno == EINTR { continue }; return false }
            off += n
        }
        return true
    }

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
            let n = recv(fd, buffer + end, capacity - end, 0)
            if n < 0 && errno == EINTR { continue }
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
