import CreditCore
import CreditDomain
import CreditNet
import CreditWire
import Foundation
import Logging
import Synchronization
#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// One client connection: a reader thread (blocking recv; decodes, answers small frames itself and
/// writes the answer at once) and, once the first big frame comes, a writer thread (writes
/// the answers the worker pool produces for big frames). Socket writes are serialised by `writeLock`, so frames never
/// interleave; responses may leave in any order (they carry the request id).
///
/// A big frame travels in a `FrameSlot` taken from this connection's free list (request
/// bytes in, response bytes out, capacity kept), queued as a `WorkItem` and sent by the
/// writer from a double-buffered outbox; so once warm, big requests allocate nothing either.
///
/// Slots are kept for clients that use them: a frame must be complete within
/// `frameTimeoutSeconds` of its first byte, `maxProtocolErrors` unreadable requests in a row
/// close the connection, and `ConnectionTable` evicts the least recently active connection
/// that is not scoring when the table or a peer's share of it is full.
final class Connection: @unchecked Sendable {
    let fd: Int32
    let id: UInt64
    let isUnix: Bool
    let peer: Peer
    private let core: DaemonCore
    /// Requests being scored (inline or queued): a busy connection is never evicted.
    private let busy = Atomic<Int>(0)
    /// When the last frame was completed (or the connection opened), monotonic ns.
    private let activity = Atomic<UInt64>(SystemClock.monotonicNanos())
    /// Set by `ConnectionTable` under its lock.
    private(set) var isEvicted = false
    private var writer: OSThread?
    /// Whether this connection carried a frame for the worker pool (over `inlineFrameBytes`).
    private(set) var sawBigFrame = false
    private let logger: Logger
    private let writeLock = NSLock()
    private let cond = NSCondition()
    // Guarded by `cond`.
    private var outbox: [FrameSlot] = []
    private var writing: [FrameSlot] = []      // the writer's half of the double buffer
    private var freeSlots: [FrameSlot] = []
    private var outboxBytes = 0
    private var pendingJobs = 0
    private var readerDone = false
    private var broken = false
    private var fdClosed = false

    init(fd: Int32, id: UInt64, isUnix: Bool, peer: Peer, core: DaemonCore) {
        self.fd = fd
        self.id = id
        self.isUnix = isUnix
        self.peer = peer
        self.core = core
        var l = core.logger
        l[metadataKey: "conn"] = "\(id)"
        l[metadataKey: "transport"] = "\(isUnix ? "unix" : "tcp")"
        logger = l
    }

    var isBusy: Bool { busy.load(ordering: .relaxed) > 0 }
    var lastActivity: UInt64 { activity.load(ordering: .relaxed) }

    /// Closes the connection to make room for another (ConnectionTable, under its lock).
    func evict() {
        isEvicted = true
        cond.lock()
        if !fdClosed { shutdown(fd, Int32(SHUT_RDWR)) }
        cond.unlock()
    }

    private var isBroken: Bool {
        cond.lock(); defer { cond.unlock() }
        return broken
    }

    /// Reader thread body; returns when the connection is finished and closed.
    func run() {
        let context = WireHandler(service: core.service)
        let decoder = FrameDecoder(maxFrameBytes: core.config.maxFrameBytes)
        defer { if decoder.bufferCapacity > FrameDecoder.keptCapacity { sawBigFrame = true } }
        // Idle timeout = receive timeout; stop = shutdown(SHUT_RD) from Daemon.stop, after
        // which recv returns what is buffered, then 0. One blocking recv per read, no poll():
        // measured ~1 us faster per round trip than poll()+recv.
        // A partial frame switches the receive timeout to the frame timeout (only on the
        // transition: frames that arrive whole cost no extra system call).
        Sockets.setTimeout(fd, option: SO_RCVTIMEO, seconds: core.config.idleTimeoutSeconds)
        var partialSince: UInt64 = 0
        var protocolErrors = 0
        var reason = "peer closed"
        loop: while true {
            // Answer every complete frame already buffered.
            do {
                while let frame = try decoder.nextFrame() {
                    dispatch(frame, context: context)
                    protocolErrors = context.lastWasProtocolError ? protocolErrors + 1 : 0
                    if protocolErrors >= core.config.maxProtocolErrors {
                        reason = "\(protocolErrors) unreadable requests in a row"
                        logger.notice("closing: repeated protocol errors", metadata: ["count": "\(protocolErrors)"])
                        break loop
                    }
                }
            } catch {
                logger.warning("frame too large; closing", metadata: ["length": "\(error.length)", "limit": "\(error.limit)"])
                let out = context.encoder.encode(Response(id: 0, status: Status(.resourceExhausted, "\(error); closing the connection")))
                core.metrics.record(.unknown, .resourceExhausted, nanos: 0)
                writeDirect(out)
                reason = "frame too large"
                break loop
            }
            if core.isStopping {
                // Answer what the client already sent, then finish.
                while true {
                    let space = decoder.writableSpace(minimum: 64 * 1024)
                    let n = Sockets.readSome(fd, space, flags: Int32(MSG_DONTWAIT))
                    if n <= 0 { break }
                    decoder.commit(n)
                }
                while let frame = try? decoder.nextFrame() { dispatch(frame, context: context) }
                reason = "daemon stopping"
                break loop
            }
            let partial = decoder.bufferedBytes > 0
            if partial && partialSince == 0 {
                partialSince = SystemClock.monotonicNanos()
                Sockets.setTimeout(fd, option: SO_RCVTIMEO, seconds: min(core.config.frameTimeoutSeconds, core.config.idleTimeoutSeconds))
            } else if !partial && partialSince != 0 {
                partialSince = 0
                Sockets.setTimeout(fd, option: SO_RCVTIMEO, seconds: core.config.idleTimeoutSeconds)
            }
            if partial && SystemClock.secondsSince(partialSince) >= core.config.frameTimeoutSeconds {
                reason = "frame not completed within \(core.config.frameTimeoutSeconds) s (\(decoder.bufferedBytes) bytes buffered)"
                break
            }
            let want = decoder.pendingFrameLength.map { min(max($0 + Frame.headerBytes - decoder.bufferedBytes, 4096), 1 << 20) } ?? 64 * 1024
            let space = decoder.writableSpace(minimum: want)
            let n = Sockets.readSome(fd, space)
            if n > 0 { decoder.commit(n); continue }
            if n == 0 {
                if core.isStopping && !isEvicted { continue }   // woken by stop: answer what is buffered
                reason = isEvicted ? "evicted to make room" : reason
                break
            }
            if errno == EAGAIN || errno == EWOULDBLOCK {
                if partial && SystemClock.secondsSince(partialSince) >= core.config.frameTimeoutSeconds { continue }
                if hasPendingJobs || core.isStopping { continue }
                reason = decoder.bufferedBytes > 0 ? "idle timeout with a partial frame (\(decoder.bufferedBytes) bytes)" : "idle timeout"
                break
            }
            reason = "read failed: \(String(cString: strerror(errno)))"
            break
        }
        finish(reason: reason)
    }

    private var hasPendingJobs: Bool {
        cond.lock(); defer { cond.unlock() }
        return pendingJobs > 0
    }

    private func dispatch(_ frame: UnsafeRawBufferPointer, context: WireHandler) {
        let receivedAt = SystemClock.monotonicNanos()
        activity.store(receivedAt, ordering: .relaxed)
        busy.add(1, ordering: .relaxed)
        if frame.count <= core.config.inlineFrameBytes {
            writeDirect(context.handle(frame, core: core, isUnix: isUnix, receivedAt: receivedAt))
            busy.subtract(1, ordering: .relaxed)
            return
        }
        context.lastWasProtocolError = false
        sawBigFrame = true
        cond.lock()
        pendingJobs += 1
        if writer == nil {
            writer = OSThread.spawn { [self] in writeLoop() }
            // A spare slot and room in the lists from the start: a request that arrives before
            // the writer has recycled the previous slot (the client answered faster) takes the
            // spare instead of allocating a slot in the middle of a run.
            freeSlots.reserveCapacity(Connection.maxFreeSlots)
            outbox.reserveCapacity(Connection.maxFreeSlots)
            writing.reserveCapacity(Connection.maxFreeSlots)
            freeSlots.append(FrameSlot())   // the spare (stays below: the list is LIFO)
            freeSlots.append(FrameSlot())
        }
        let slot = freeSlots.popLast() ?? FrameSlot()
        cond.unlock()
        slot.load(frame, receivedAt: receivedAt)
        let accepted = core.pool.trySubmit(WorkItem(connection: self, slot: slot))
        if !accepted {
            cond.lock()
            pendingJobs -= 1
            recycleLocked(slot)
            cond.unlock()
            let rid = UnpackedRequest.peekRequestId(frame)
            let message = core.isStopping ? "daemon is stopping" : "work queue full (\(core.pool.depth) requests waiting); retry later"
            let out = context.encoder.encode(Response(id: rid, status: Status(core.isStopping ? .unavailable : .resourceExhausted, message)))
            core.metrics.record(.unknown, core.isStopping ? .unavailable : .resourceExhausted, nanos: SystemClock.monotonicNanos() &- receivedAt)
            writeDirect(out)
            busy.subtract(1, ordering: .relaxed)
        }
    }

    /// Worker thread: scores the slot's request into its response and hands it to the writer.
    func runJob(_ slot: FrameSlot, worker: WireHandler) {
        if isBroken { jobDone(slot, answered: false); return }
        let out = slot.request.withUnsafeBytes { worker.handle($0, core: core, isUnix: isUnix, receivedAt: slot.receivedAt) }
        slot.response.append(contentsOf: out)
        jobDone(slot, answered: true)
    }

    private func jobDone(_ slot: FrameSlot, answered: Bool) {
        busy.subtract(1, ordering: .relaxed)
        cond.lock()
        pendingJobs -= 1
        if answered && !broken {
            outbox.append(slot)
            outboxBytes += slot.response.count
            if outboxBytes > core.config.maxPendingOutputBytes {
                logger.warning("client is not reading its responses; dropping the connection", metadata: ["pendingBytes": "\(outboxBytes)"])
                markBrokenLocked()
            }
        } else {
            recycleLocked(slot)
        }
        cond.broadcast()
        cond.unlock()
    }

    /// Returns a slot to the free list (caller holds `cond`). At most `maxFreeSlots` are kept,
    /// and a slot that carried an unusually big frame gives its memory back.
    private func recycleLocked(_ slot: FrameSlot) {
        guard freeSlots.count < Connection.maxFreeSlots else { return }
        if slot.request.capacity > Connection.maxKeptSlotBytes { slot.request = [] }
        if slot.response.capacity > Connection.maxKeptSlotBytes { slot.response = [] }
        // Idle spares grow to the size of what was just carried (during warm-up), so taking
        // one later allocates nothing.
        for spare in freeSlots {
            if spare.request.capacity < slot.request.capacity { spare.request.reserveCapacity(slot.request.capacity) }
            if spare.response.capacity < slot.response.capacity { spare.response.reserveCapacity(slot.response.capacity) }
        }
        freeSlots.append(slot)
    }

    /// Per connection at most 4 idle slots of ≤ 256 KiB each way are kept (a 1,024-applicant
    /// batch with reasons fits), so idle connections hold ~2 MiB at worst (docs/creditd.md).
    static let maxFreeSlots = 4
    static let maxKeptSlotBytes = 256 << 10

    private func markBrokenLocked() {
        if !broken {
            broken = true
            for slot in outbox { recycleLocked(slot) }
            outbox.removeAll(keepingCapacity: true)
            outboxBytes = 0
            if !fdClosed { shutdown(fd, Int32(SHUT_RDWR)) }
        }
    }

    /// Writes one response frame now (reader thread).
    private func writeDirect(_ bytes: UnsafeRawBufferPointer) {
        if isBroken { return }
        writeLock.lock()
        let ok = Sockets.writeAll(fd, bytes)
        writeLock.unlock()
        if !ok {
            cond.lock(); markBrokenLocked(); cond.unlock()
        }
    }

    private func writeLoop() {
        while true {
            cond.lock()
            while outbox.isEmpty && !(readerDone && pendingJobs == 0) { cond.wait() }
            if outbox.isEmpty { cond.unlock(); return }
            swap(&outbox, &writing)     // both keep their capacity: no allocation
            outboxBytes = 0
            cond.unlock()
            for slot in writing {
                if isBroken { break }
                writeLock.lock()
                let ok = slot.response.withUnsafeBytes { Sockets.writeAll(fd, $0) }
                writeLock.unlock()
                if !ok { cond.lock(); markBrokenLocked(); cond.unlock() }
            }
            cond.lock()
            for slot in writing { recycleLocked(slot) }
            cond.unlock()
            writing.removeAll(keepingCapacity: true)
        }
    }

    private func finish(reason: String) {
        cond.lock()
        readerDone = true
        let writer = self.writer
        cond.broadcast()
        cond.unlock()
        writer?.join()
        cond.lock()
        fdClosed = true
        shutdown(fd, Int32(SHUT_RDWR))
        close(fd)
        freeSlots.removeAll()
        cond.unlock()
        logger.debug("connection closed", metadata: ["reason": "\(reason)"])
    }

    /// Wakes a reader blocked in recv for a graceful stop: it still reads what the client
    /// already sent, then sees end of stream.
    func wakeForStop() {
        cond.lock()
        if !fdClosed { shutdown(fd, Int32(SHUT_RD)) }
        cond.unlock()
    }

    /// Forces the connection down (stop deadline passed).
    func abort() {
        cond.lock()
        markBrokenLocked()
        cond.unlock()
    }
}
