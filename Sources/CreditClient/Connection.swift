import CreditCore
import CreditDomain
import CreditNet
import CreditWire
import Foundation
#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// One socket to a daemon with any number of requests in flight, matched by request id.
///
/// Sending is serialised by a lock (a frame is written whole); a dedicated reader thread
/// decodes responses (`FrameDecoder` + `Response(decoding:)` from CreditWire) and resumes the
/// waiting task. When the socket breaks, every request in flight fails with
/// `.connectionLost` and the connection stays dead (`isAlive == false`); `DaemonClient`
/// then opens a new one. Call `close()` when done (the reader thread keeps it alive).
final class DaemonConnection: @unchecked Sendable {
    let address: SocketAddress
    private let fd: Int32
    private let lock = NSLock()
    private let writeLock = NSLock()
    private var pending: [UInt64: CheckedContinuation<Response, any Error>] = [:]
    private var failure: DaemonError?
    private var nextId: UInt64 = 1
    private let maxFrameBytes: Int

    /// Connects (blocking) and starts the reader thread.
    init(_ address: SocketAddress, maxFrameBytes: Int = 256 * 1024 * 1024) throws(DaemonError) {
        self.address = address
        self.maxFrameBytes = maxFrameBytes
        do { fd = try Sockets.connect(address) } catch {
            throw .connect(address: address.description, reason: error.detail ?? String(cString: strerror(error.errno)))
        }
        let t = Thread { [self] in readLoop() }
        t.name = "credit-client-reader"
        t.start()
    }

    /// false once the socket broke or was closed.
    var isAlive: Bool { lock.withLock { failure == nil } }

    /// Requests sent and not yet answered.
    var inFlight: Int { lock.withLock { pending.count } }

    /// Closes the socket; requests in flight fail with `.closed`.
    func close() {
        fail(.closed)
    }

    /// Sends `method` and waits for its response (any status; the caller checks it).
    /// `deadline` is sent to the daemon (it skips work past it) and also bounds the wait here.
    func send(_ method: Request.Method, reasons: ReasonDetail = .full, deadline: ContinuousClock.Instant? = nil) async throws(DaemonError) -> Response {
        var micros: UInt64 = 0
        if let deadline {
            let left = deadline - .now
            if left <= .zero { throw .deadlineExceeded }
            micros = SystemClock.unixMicros() + UInt64(max(0, Double(left.components.seconds) * 1e6 + Double(left.components.attoseconds) / 1e12))
        }
        let id: UInt64 = lock.withLock { defer { nextId &+= 1 }; return nextId }
        let frame = Request(id: id, deadlineUnixMicros: micros, reasons: reasons, method).framed()
        var timer: Task<Void, Never>?
        if let deadline {
            timer = Task { [weak self] in
                try? await Task.sleep(until: deadline, clock: .continuous)
                if !Task.isCancelled { self?.resolve(id, with: .failure(DaemonError.deadlineExceeded)) }
            }
        }
        defer { timer?.cancel() }
        do {
            return try await withTaskCancellationHandler {
                try await withCheckedThrowingContinuation { (c: CheckedContinuation<Response, any Error>) in
                    let dead: DaemonError? = lock.withLock {
                        if let failure { return failure }
                        pending[id] = c
                        return nil
                    }
                    if let dead { c.resume(throwing: dead); return }
                    let ok = writeLock.withLock { frame.withUnsafeBytes { Sockets.writeAll(fd, $0) } }
                    if !ok { fail(.connectionLost("send to \(address) failed: \(String(cString: strerror(errno)))")) }
                }
            } onCancel: {
                resolve(id, with: .failure(DaemonError.cancelled))
            }
        } catch let e as DaemonError {
            throw e
        } catch {
            throw .protocolError("\(error)")
        }
    }

    private func resolve(_ id: UInt64, with result: Result<Response, any Error>) {
        let c = lock.withLock { pending.removeValue(forKey: id) }
        c?.resume(with: result)
    }

    /// Marks the connection dead (first reason wins), wakes the reader, fails everything in flight.
    private func fail(_ error: DaemonError) {
        let waiting: [CheckedContinuation<Response, any Error>] = lock.withLock {
            if failure == nil {
                failure = error
                shutdown(fd, Int32(SHUT_RDWR))
            }
            defer { pending.removeAll() }
            return Array(pending.values)
        }
        for c in waiting { c.resume(throwing: failure ?? error) }
    }

    private func readLoop() {
        let decoder = FrameDecoder(maxFrameBytes: maxFrameBytes)
        outer: while true {
            do {
                while let frame = try decoder.nextFrame() {
                    let response: Response
                    do { response = try Response(decoding: frame) } catch {
                        fail(.protocolError("\(error)"))
                        break outer
                    }
                    if response.requestId == 0 && response.status.code != .ok {
                        // A connection-level answer (too many connections, frame too large,
                        // stopping): the daemon closes the socket after it.
                        fail(.status(response.status.code, response.status.message))
                        break outer
                    }
                    resolve(response.requestId, with: .success(response))
                }
            } catch {
                fail(.protocolError("\(error)"))
                break
            }
            let space = decoder.writableSpace(minimum: 64 * 1024)
            let n = Sockets.readSome(fd, space)
            if n > 0 { decoder.commit(n); continue }
            fail(.connectionLost(n == 0 ? "\(address) closed the connection" : "recv from \(address): \(String(cString: strerror(errno)))"))
            break
        }
        Glibc.close(fd)
    }
}
