import CreditDomain
import CreditNet
import CreditWire
#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// What went wrong talking to a daemon.
public enum ClientError: Error, CustomStringConvertible {
    case socket(SocketError)
    /// The daemon closed the connection.
    case closed
    /// No complete response within the receive timeout.
    case timeout
    case frameTooLarge(FrameTooLarge)
    case malformed(MalformedMessage)

    public var description: String {
        switch self {
        case .socket(let e): "\(e)"
        case .closed: "the daemon closed the connection"
        case .timeout: "timed out waiting for a response"
        case .frameTooLarge(let e): "\(e)"
        case .malformed(let e): "\(e)"
        }
    }
}

/// A blocking wire-level client for tests: one socket, raw frames in and out, requests may
/// be pipelined (send several, then receive; match responses by `requestId`). Tests use it
/// to send what a real client never would (broken frames, half-closed sockets). The client
/// library for applications is `DaemonClient` (CreditClient). Not thread-safe.
public final class WireTestClient {
    public let fd: Int32
    private let decoder: FrameDecoder
    private var isClosed = false

    /// Connects to `address`; `timeoutSeconds` bounds every receive.
    public init(_ address: SocketAddress, timeoutSeconds: Double = 10, maxFrameBytes: Int = 256 * 1024 * 1024) throws(ClientError) {
        do {
            fd = try Sockets.connect(address)
        } catch { throw .socket(error) }
        Sockets.setTimeout(fd, option: SO_RCVTIMEO, seconds: timeoutSeconds)
        Sockets.setTimeout(fd, option: SO_SNDTIMEO, seconds: timeoutSeconds)
        decoder = FrameDecoder(maxFrameBytes: maxFrameBytes)
    }

    deinit { close() }

    public func close() {
        if !isClosed { isClosed = true; Glibc.close(fd) }
    }

    public func send(_ request: Request) throws(ClientError) {
        try sendRaw(request.framed())
    }

    /// Writes raw bytes (tests send broken frames this way).
    public func sendRaw(_ bytes: [UInt8]) throws(ClientError) {
        let ok = bytes.withUnsafeBytes { Sockets.writeAll(fd, $0) }
        if !ok { throw .socket(SocketError("send", "fd \(fd)", errno: errno)) }
    }

    /// Half-closes the sending side (the daemon still answers what it read).
    public func finishSending() { shutdown(fd, Int32(SHUT_WR)) }

    /// The next response frame's raw payload.
    public func receiveFrame() throws(ClientError) -> [UInt8] {
        while true {
            do {
                if let frame = try decoder.nextFrame() { return [UInt8](frame) }
            } catch { throw .frameTooLarge(error) }
            let space = decoder.writableSpace(minimum: 64 * 1024)
            let n = Sockets.readSome(fd, space)
            if n == 0 { throw .closed }
            if n < 0 {
                if errno == EAGAIN || errno == EWOULDBLOCK { throw .timeout }
                if errno == ECONNRESET { throw .closed }
                throw .socket(SocketError("recv", "fd \(fd)", errno: errno))
            }
            decoder.commit(n)
        }
    }

    public func receive() throws(ClientError) -> Response {
        let frame = try receiveFrame()
        do { return try Response(decoding: frame) } catch { throw .malformed(error) }
    }

    /// Sends `request` and waits for its response (no other requests in flight).
    public func call(_ request: Request) throws(ClientError) -> Response {
        try send(request)
        return try receive()
    }
}
