import CreditService
import Foundation
#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

private final class ThreadBody {
    let run: () -> Void
    init(_ run: @escaping () -> Void) { self.run = run }
}

/// A plain POSIX thread (the daemon's I/O is blocking, one reader per connection).
struct OSThread {
    let id: pthread_t

    /// Starts `body` on a new thread; `detached` threads cannot be joined.
    @discardableResult
    static func spawn(detached: Bool = false, _ body: @escaping () -> Void) -> OSThread {
        let box = Unmanaged.passRetained(ThreadBody(body)).toOpaque()
        var tid = pthread_t()
        var attr = pthread_attr_t()
        pthread_attr_init(&attr)
        pthread_attr_setstacksize(&attr, 1 << 20)
        if detached { pthread_attr_setdetachstate(&attr, Int32(PTHREAD_CREATE_DETACHED)) }
        let rc = pthread_create(&tid, &attr, { p in
            Unmanaged<ThreadBody>.fromOpaque(p!).takeRetainedValue().run()
            return nil
        }, box)
        pthread_attr_destroy(&attr)
        precondition(rc == 0, "pthread_create failed: \(rc)")
        return OSThread(id: tid)
    }

    func join() { pthread_join(id, nil) }
}

/// One big request handed to the worker pool, and later its answer: the frame bytes are
/// copied in, the worker writes the response bytes into the same slot, and the connection's
/// writer sends them. Slots are reused by their connection (capacity kept), so after
/// warm-up a big request allocates nothing.
final class FrameSlot {
    var request: [UInt8] = []
    var response: [UInt8] = []
    var receivedAt: UInt64 = 0

    func load(_ frame: UnsafeRawBufferPointer, receivedAt: UInt64) {
        request.removeAll(keepingCapacity: true)
        request.append(contentsOf: frame)
        response.removeAll(keepingCapacity: true)
        self.receivedAt = receivedAt
    }
}

/// What a worker runs: the connection's job for one slot. A struct of two references (no
/// closure context), so queueing it allocates nothing.
struct WorkItem {
    let connection: Connection
    let slot: FrameSlot
}

/// A fixed pool of worker threads fed by a bounded queue. `trySubmit` never blocks: when the
/// queue is full it returns false and the caller answers RESOURCE_EXHAUSTED.
final class WorkPool: @unchecked Sendable {
    private let cond = NSCondition()
    private var ring: [WorkItem?]
    private var head = 0
    private var count = 0
    private var closing = false
    private var threads: [OSThread] = []

    init(workers: Int, depth: Int, service: ScoringService) {
        ring = Array(repeating: nil, count: depth)
        for _ in 0..<workers {
            threads.append(OSThread.spawn { [unowned self] in self.work(service) })
        }
    }

    var depth: Int { ring.count }

    func trySubmit(_ item: WorkItem) -> Bool {
        cond.lock()
        defer { cond.unlock() }
        guard !closing, count < ring.count else { return false }
        ring[(head + count) % ring.count] = item
        count += 1
        cond.signal()
        return true
    }

    private func work(_ service: ScoringService) {
        let context = WireHandler(service: service)
        while true {
            cond.lock()
            while count == 0 && !closing { cond.wait() }
            if count == 0 { cond.unlock(); return }
            let item = ring[head]!
            ring[head] = nil
            head = (head + 1) % ring.count
            count -= 1
            cond.unlock()
            item.connection.runJob(item.slot, worker: context)
        }
    }

    /// Runs what is queued, then stops the workers and waits for them.
    func shutdown() {
        cond.lock()
        closing = true
        cond.broadcast()
        cond.unlock()
        for t in threads { t.join() }
        threads = []
    }
}
