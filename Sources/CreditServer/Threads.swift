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

/// A fixed pool of worker threads fed by a bounded queue. `trySubmit` never blocks: when the
/// queue is full it returns false and the caller answers RESOURCE_EXHAUSTED.
final class WorkPool: @unchecked Sendable {
    typealias Job = (ScoringContext) -> Void
    private let cond = NSCondition()
    private var ring: [Job?]
    private var head = 0
    private var count = 0
    private var closing = false
    private var threads: [OSThread] = []

    init(workers: Int, depth: Int) {
        ring = Array(repeating: nil, count: depth)
        for _ in 0..<workers {
            threads.append(OSThread.spawn { [unowned self] in self.work() })
        }
    }

    var depth: Int { ring.count }

    func trySubmit(_ job: @escaping Job) -> Bool {
        cond.lock()
        defer { cond.unlock() }
        guard !closing, count < ring.count else { return false }
        ring[(head + count) % ring.count] = job
        count += 1
        cond.signal()
        return true
    }

    private func work() {
        let context = ScoringContext()
        while true {
            cond.lock()
            while count == 0 && !closing { cond.wait() }
            if count == 0 { cond.unlock(); return }
            let job = ring[head]!
            ring[head] = nil
            head = (head + 1) % ring.count
            count -= 1
            cond.unlock()
            job(context)
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
