#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// A socket call that failed: names the operation, the address and errno's text.
public struct SocketError: Error, Sendable, CustomStringConvertible, Equatable {
    public var operation: String
    public var address: String
    public var errno: Int32
    public var detail: String?

    public init(_ operation: String, _ address: String, errno: Int32, detail: String? = nil) {
        self.operation = operation
        self.address = address
        self.errno = errno
        self.detail = detail
    }

    static func badAddress(_ text: String, _ why: String) -> SocketError {
        SocketError("parse", "address '\(text)'", errno: EINVAL, detail: why)
    }

    public var description: String {
        "\(operation) \(address): " + (detail ?? String(cString: strerror(errno)))
    }
}

/// The one set of socket helpers (blocking sockets, EINTR retried, close-on-exec), used by
/// the daemon's listeners, the client library and the benchmark's load generator.
public enum Sockets {
    /// A listening socket. Unix sockets are created with mode 0660; an existing file at the
    /// path is replaced only when it is a socket nothing listens on (a stale one from a
    /// crash). TCP hosts are resolved (names, IPv4, IPv6). `bound` carries the real port when
    /// port 0 was asked for; `inode` identifies a Unix socket file as ours at removal.
    public static func listen(_ address: SocketAddress, backlog: Int32 = 128) throws(SocketError) -> (fd: Int32, bound: SocketAddress, inode: UInt64?) {
        switch address {
        case .unix(let path):
            let (fd, inode) = try listenUnix(path: path, backlog: backlog)
            return (fd, address, inode)
        case .tcp(let host, let port):
            let (fd, bound) = try listenTCP(host: host, port: port, backlog: backlog)
            return (fd, .tcp(host: host, port: bound), nil)
        }
    }

    /// A connected stream socket (TCP_NODELAY on TCP); every resolved address is tried.
    public static func connect(_ address: SocketAddress) throws(SocketError) -> Int32 {
        switch address {
        case .unix(let path):
            let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            guard fd >= 0 else { throw SocketError("socket", "\(address)", errno: errno) }
            let rc = try withUnixAddress(path) { Glibc.connect(fd, $0, $1) }
            guard rc == 0 else { let e = errno; close(fd); throw SocketError("connect", "\(address)", errno: e) }
            return fd
        case .tcp(let host, let port):
            guard port > 0 else { throw SocketError("connect", "\(address)", errno: EINVAL, detail: "port 0 is for listening only") }
            var lastError = ECONNREFUSED
            let fd: Int32? = try resolve(host: host, port: port, passive: false, address: address) { ai in
                let fd = socket(ai.ai_family, ai.ai_socktype | Int32(SOCK_CLOEXEC.rawValue), ai.ai_protocol)
                guard fd >= 0 else { lastError = errno; return nil }
                if Glibc.connect(fd, ai.ai_addr, ai.ai_addrlen) == 0 { return fd }
                lastError = errno
                close(fd)
                return nil
            }
            guard let fd else { throw SocketError("connect", "\(address)", errno: lastError) }
            setNoDelay(fd)
            return fd
        }
    }

    public static func setNoDelay(_ fd: Int32) {
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    }

    /// SO_RCVTIMEO or SO_SNDTIMEO.
    public static func setTimeout(_ fd: Int32, option: Int32, seconds: Double) {
        var tv = timeval(tv_sec: Int(seconds), tv_usec: Int((seconds - Double(Int(seconds))) * 1e6))
        setsockopt(fd, SOL_SOCKET, option, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    /// Writes all bytes; false when the peer is gone or the send timed out.
    public static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> Bool {
        var done = 0
        while done < bytes.count {
            let n = send(fd, bytes.baseAddress! + done, bytes.count - done, Int32(MSG_NOSIGNAL))
            if n > 0 { done += n; continue }
            if n < 0 && errno == EINTR { continue }
            return false
        }
        return true
    }

    /// Reads up to `into.count` bytes: > 0 bytes read, 0 end of stream, -1 error (errno set).
    public static func readSome(_ fd: Int32, _ into: UnsafeMutableRawBufferPointer, flags: Int32 = 0) -> Int {
        while true {
            let n = recv(fd, into.baseAddress!, into.count, flags)
            if n < 0 && errno == EINTR { continue }
            return n
        }
    }

    // MARK: - Internals

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

    /// Calls `attempt` with each address getaddrinfo gives until one returns a value.
    static func resolve<R>(host: String, port: UInt16, passive: Bool, address: SocketAddress,
                           _ attempt: (addrinfo) -> R?) throws(SocketError) -> R? {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        if passive { hints.ai_flags = AI_PASSIVE }
        var list: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(host, String(port), &hints, &list)
        guard rc == 0, let first = list else {
            throw SocketError("resolve", "\(address)", errno: EINVAL, detail: "cannot resolve '\(host)': \(String(cString: gai_strerror(rc)))")
        }
        defer { freeaddrinfo(list) }
        var p: UnsafeMutablePointer<addrinfo>? = first
        while let ai = p {
            if let r = attempt(ai.pointee) { return r }
            p = ai.pointee.ai_next
        }
        return nil
    }

    static func listenUnix(path: String, backlog: Int32) throws(SocketError) -> (fd: Int32, inode: UInt64) {
        let name = "unix:\(path)"
        var st = stat()
        if lstat(path, &st) == 0 {
            guard (st.st_mode & S_IFMT) == S_IFSOCK else {
                throw SocketError("listen", name, errno: EEXIST, detail: "a file that is not a socket is in the way; not removing it")
            }
            do throws(SocketError) {
                let probe = try connect(.unix(path: path))
                close(probe)
                throw SocketError("listen", name, errno: EADDRINUSE, detail: "another process is listening on this socket")
            } catch {
                // Only a refused connection proves the file is stale; anything else
                // (permissions, a listener in use) leaves it alone.
                guard error.errno == ECONNREFUSED else { throw error }
            }
            unlink(path)
        }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SocketError("socket", name, errno: errno) }
        let rc = try withUnixAddress(path) { bind(fd, $0, $1) }
        guard rc == 0 else { let e = errno; close(fd); throw SocketError("bind", name, errno: e) }
        guard chmod(path, 0o660) == 0 else { let e = errno; close(fd); unlink(path); throw SocketError("chmod 0660", name, errno: e) }
        guard Glibc.listen(fd, backlog) == 0 else { let e = errno; close(fd); unlink(path); throw SocketError("listen", name, errno: e) }
        _ = lstat(path, &st)
        return (fd, UInt64(st.st_ino))
    }

    static func listenTCP(host: String, port: UInt16, backlog: Int32) throws(SocketError) -> (fd: Int32, port: UInt16) {
        let address = SocketAddress.tcp(host: host, port: port)
        var lastError: (op: String, errno: Int32) = ("bind", EADDRNOTAVAIL)
        let fd: Int32? = try resolve(host: host, port: port, passive: true, address: address) { ai in
            let fd = socket(ai.ai_family, ai.ai_socktype | Int32(SOCK_CLOEXEC.rawValue), ai.ai_protocol)
            guard fd >= 0 else { lastError = ("socket", errno); return nil }
            var one: Int32 = 1
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
            guard bind(fd, ai.ai_addr, ai.ai_addrlen) == 0 else { lastError = ("bind", errno); close(fd); return nil }
            guard Glibc.listen(fd, backlog) == 0 else { lastError = ("listen", errno); close(fd); return nil }
            return fd
        }
        guard let fd else { throw SocketError(lastError.op, "\(address)", errno: lastError.errno) }
        var storage = sockaddr_storage()
        var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = withUnsafeMutablePointer(to: &storage) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        let family = Int32(storage.ss_family)
        let bound: UInt16 = withUnsafePointer(to: &storage) { p in
            if family == AF_INET6 {
                return p.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin6_port) }
            }
            return p.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin_port) }
        }
        return (fd, bound)
    }
}
