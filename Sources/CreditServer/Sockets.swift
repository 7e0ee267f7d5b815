#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// A socket call that failed: names the operation, the address and errno's text.
public struct SocketError: Error, CustomStringConvertible {
    public var operation: String
    public var address: String
    public var errno: Int32
    public var detail: String?
    public init(_ operation: String, _ address: String, errno: Int32 = Glibc.errno, detail: String? = nil) {
        self.operation = operation
        self.address = address
        self.errno = errno
        self.detail = detail
    }
    public var description: String {
        "\(operation) \(address): " + (detail ?? String(cString: strerror(errno)))
    }
}

/// Thin wrappers over the BSD socket calls (blocking sockets, EINTR retried).
enum Sock {
    static func withUnixAddress<R>(_ path: String, _ body: (UnsafePointer<sockaddr>, socklen_t) -> R) throws(SocketError) -> R {
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        let capacity = MemoryLayout.size(ofValue: addr.sun_path)
        guard bytes.count < capacity else {
            throw SocketError("bind", "unix:\(path)", errno: ENAMETOOLONG, detail: "path is \(bytes.count) bytes, the limit is \(capacity - 1)")
        }
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        return withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
    }

    static func withTCPAddress<R>(_ host: String, _ port: UInt16, _ body: (UnsafePointer<sockaddr>, socklen_t) -> R) throws(SocketError) -> R {
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = port.bigEndian
        let h = host == "localhost" ? "127.0.0.1" : host
        guard inet_pton(AF_INET, h, &addr.sin_addr) == 1 else {
            throw SocketError("resolve", "tcp:\(host):\(port)", errno: EINVAL, detail: "'\(host)' is not an IPv4 address")
        }
        return withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
    }

    /// Creates a listening Unix socket with mode 0660. An existing file at `path` is replaced
    /// only when it is a socket nothing listens on (a stale one from a crash).
    static func listenUnix(path: String, backlog: Int32) throws(SocketError) -> (fd: Int32, inode: UInt64) {
        var st = stat()
        if lstat(path, &st) == 0 {
            guard (st.st_mode & S_IFMT) == S_IFSOCK else {
                throw SocketError("listen", "unix:\(path)", errno: EEXIST, detail: "a file that is not a socket is in the way; not removing it")
            }
            do throws(SocketError) {
                let probe = try connectUnix(path: path)
                close(probe)
                throw SocketError("listen", "unix:\(path)", errno: EADDRINUSE, detail: "another process is listening on this socket")
            } catch {
                // Only a refused connection proves the file is stale; anything else
                // (permissions, a listener in use) leaves it alone.
                guard error.errno == ECONNREFUSED else { throw error }
            }
            unlink(path)
        }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SocketError("socket", "unix:\(path)") }
        let rc = try withUnixAddress(path) { bind(fd, $0, $1) }
        guard rc == 0 else { let e = errno; close(fd); throw SocketError("bind", "unix:\(path)", errno: e) }
        guard chmod(path, 0o660) == 0 else { let e = errno; close(fd); unlink(path); throw SocketError("chmod 0660", "unix:\(path)", errno: e) }
        guard listen(fd, backlog) == 0 else { let e = errno; close(fd); unlink(path); throw SocketError("listen", "unix:\(path)", errno: e) }
        _ = lstat(path, &st)
        return (fd, UInt64(st.st_ino))
    }

    static func listenTCP(host: String, port: UInt16, backlog: Int32) throws(SocketError) -> (fd: Int32, port: UInt16) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SocketError("socket", "tcp:\(host):\(port)") }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        let rc = try withTCPAddress(host, port) { bind(fd, $0, $1) }
        guard rc == 0 else { let e = errno; close(fd); throw SocketError("bind", "tcp:\(host):\(port)", errno: e) }
        guard listen(fd, backlog) == 0 else { let e = errno; close(fd); throw SocketError("listen", "tcp:\(host):\(port)", errno: e) }
        var addr = sockaddr_in()
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        return (fd, UInt16(bigEndian: addr.sin_port))
    }

    static func connectUnix(path: String) throws(SocketError) -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SocketError("socket", "unix:\(path)") }
        let rc = try withUnixAddress(path) { connect(fd, $0, $1) }
        guard rc == 0 else { let e = errno; close(fd); throw SocketError("connect", "unix:\(path)", errno: e) }
        return fd
    }

    static func connectTCP(host: String, port: UInt16) throws(SocketError) -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SocketError("socket", "tcp:\(host):\(port)") }
        let rc = try withTCPAddress(host, port) { connect(fd, $0, $1) }
        guard rc == 0 else { let e = errno; close(fd); throw SocketError("connect", "tcp:\(host):\(port)", errno: e) }
        setNoDelay(fd)
        return fd
    }

    static func setNoDelay(_ fd: Int32) {
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    }

    static func setTimeout(_ fd: Int32, option: Int32, seconds: Double) {
        var tv = timeval(tv_sec: Int(seconds), tv_usec: Int((seconds - Double(Int(seconds))) * 1e6))
        setsockopt(fd, SOL_SOCKET, option, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    /// Writes all bytes; false when the peer is gone or the send timed out.
    static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> Bool {
        var done = 0
        while done < bytes.count {
            let n = send(fd, bytes.baseAddress! + done, bytes.count - done, Int32(MSG_NOSIGNAL))
            if n > 0 { done += n; continue }
            if n < 0 && errno == EINTR { continue }
            return false
        }
        return true
    }

    /// Reads up to `into.count` bytes: >0 bytes read, 0 end of stream, -1 error.
    static func readSome(_ fd: Int32, _ into: UnsafeMutableRawBufferPointer, flags: Int32 = 0) -> Int {
        while true {
            let n = recv(fd, into.baseAddress!, into.count, flags)
            if n < 0 && errno == EINTR { continue }
            return n
        }
    }
}

/// Monotonic clock in nanoseconds.
@inline(__always)
func monotonicNanos() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
}

/// Wall clock in microseconds since the Unix epoch (request deadlines).
@inline(__always)
public func unixMicros() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME, &ts)
    return UInt64(ts.tv_sec) &* 1_000_000 &+ UInt64(ts.tv_nsec / 1000)
}
