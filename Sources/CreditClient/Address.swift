import CreditWire
#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// Where a daemon listens: `unix:PATH` or `tcp:HOST:PORT` (`tcp:PORT` = 127.0.0.1).
public enum DaemonAddress: Sendable, Equatable, CustomStringConvertible {
    case unix(path: String)
    case tcp(host: String, port: UInt16)

    public init(parsing text: String) throws(DaemonError) {
        if text.hasPrefix("unix:"), text.count > 5 {
            self = .unix(path: String(text.dropFirst(5)))
        } else if text.hasPrefix("tcp:") {
            let rest = text.dropFirst(4)
            var host = "127.0.0.1"
            var portText = rest
            if let colon = rest.lastIndex(of: ":") {
                host = String(rest[..<colon])
                portText = rest[rest.index(after: colon)...]
            }
            guard let port = UInt16(portText), port > 0 else {
                throw .badAddress("'\(text)': port '\(portText)' is not 1...65535")
            }
            self = .tcp(host: host.isEmpty ? "127.0.0.1" : host, port: port)
        } else {
            throw .badAddress("'\(text)': expected unix:PATH or tcp:HOST:PORT")
        }
    }

    public var description: String {
        switch self {
        case .unix(let p): "unix:\(p)"
        case .tcp(let h, let p): "tcp:\(h):\(p)"
        }
    }

    /// A connected blocking stream socket (TCP_NODELAY on TCP).
    func connectSocket() throws(DaemonError) -> Int32 {
        switch self {
        case .unix(let path):
            var addr = sockaddr_un()
            addr.sun_family = sa_family_t(AF_UNIX)
            let bytes = Array(path.utf8)
            guard bytes.count < MemoryLayout.size(ofValue: addr.sun_path) else {
                throw .badAddress("\(self): socket path too long (\(bytes.count) bytes)")
            }
            withUnsafeMutableBytes(of: &addr.sun_path) { raw in
                raw.copyBytes(from: bytes)
                raw[bytes.count] = 0
            }
            let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            guard fd >= 0 else { throw .connect(address: description, reason: String(cString: strerror(errno))) }
            let rc = withUnsafePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
            if rc != 0 {
                let e = errno
                close(fd)
                throw .connect(address: description, reason: String(cString: strerror(e)))
            }
            return fd
        case .tcp(let host, let port):
            var hints = addrinfo()
            hints.ai_family = AF_UNSPEC
            hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
            var list: UnsafeMutablePointer<addrinfo>?
            let rc = getaddrinfo(host, String(port), &hints, &list)
            guard rc == 0, let first = list else {
                throw .connect(address: description, reason: "cannot resolve '\(host)': \(String(cString: gai_strerror(rc)))")
            }
            defer { freeaddrinfo(list) }
            var lastError = ECONNREFUSED
            var p: UnsafeMutablePointer<addrinfo>? = first
            while let ai = p {
                let fd = socket(ai.pointee.ai_family, ai.pointee.ai_socktype | Int32(SOCK_CLOEXEC.rawValue), ai.pointee.ai_protocol)
                if fd >= 0 {
                    if connect(fd, ai.pointee.ai_addr, ai.pointee.ai_addrlen) == 0 {
                        var one: Int32 = 1
                        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
                        return fd
                    }
                    lastError = errno
                    close(fd)
                }
                p = ai.pointee.ai_next
            }
            throw .connect(address: description, reason: String(cString: strerror(lastError)))
        }
    }
}
