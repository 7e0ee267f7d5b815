import CreditDomain
import CreditNet
import CreditService
import CreditWire
import Foundation
import Logging
import Synchronization
#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// State shared by every thread of the protobuf face: the service it serves, its metrics,
/// the worker pool and the stop signal.
final class DaemonCore: @unchecked Sendable {
    let config: DaemonConfig
    let service: ScoringService
    let metrics: FaceMetrics
    var logger: Logger { service.logger }
    let pool: WorkPool
    /// Written once at stop; never read, so it stays readable and wakes every accept loop.
    let stopPipe: (read: Int32, write: Int32)
    private let stopping = Atomic<Bool>(false)
    /// Memory was freed after big frames: trim once more when the accept loops have been
    /// quiet for a second, since threads that exit after the last close still free things.
    let trimPending = Atomic<Bool>(false)

    init(config: DaemonConfig, service: ScoringService) throws(SocketError) {
        self.config = config
        self.service = service
        metrics = service.metrics(face: "protobuf")
        var p: [Int32] = [0, 0]
        guard pipe(&p) == 0 else { throw SocketError("pipe", "stop signal", errno: errno) }
        _ = fcntl(p[0], F_SETFD, FD_CLOEXEC)
        _ = fcntl(p[1], F_SETFD, FD_CLOEXEC)
        stopPipe = (p[0], p[1])
        pool = WorkPool(workers: config.workers, depth: config.queueDepth, service: service)
    }

    deinit {
        close(stopPipe.read)
        close(stopPipe.write)
    }

    var isStopping: Bool { stopping.load(ordering: .acquiring) }

    func beginStop() {
        if stopping.exchange(true, ordering: .acquiringAndReleasing) == false {
            var b: UInt8 = 1
            _ = write(stopPipe.write, &b, 1)
        }
    }
}

/// A running daemon: listeners, connections, worker pool and the current model.
/// Build it with `buildDaemon(config:loader:logger:)`; stop it with `stop()`.
public final class Daemon: @unchecked Sendable {
    let core: DaemonCore
    private struct Listener {
        var fd: Int32
        var address: SocketAddress
        var inode: UInt64?
    }
    private var listeners: [Listener] = []
    private var acceptThreads: [OSThread] = []
    private let table = ConnectionTable()
    private let stopped = Mutex<Bool>(false)

    /// The bound TCP ports, in the order of `config.listen` (useful with port 0).
    public private(set) var tcpPorts: [UInt16] = []
    public var config: DaemonConfig { core.config }
    public var logger: Logger { core.logger }
    /// The scoring service this face serves (another face can serve it too).
    public var service: ScoringService { core.service }

    fileprivate init(core: DaemonCore) { self.core = core }

    /// The model serving now (nil until one is loaded).
    public var currentModel: LoadedModel? { core.service.currentModel }

    /// Loads the artifact at `path` (default: the current model's path, else `--model`) and
    /// swaps it in; on failure the old model keeps serving and the error says why (SIGHUP).
    @discardableResult
    public func reload(path: String? = nil) throws(ModelLoadError) -> LoadedModel {
        if let path { return try core.service.load(path: path, trigger: "reload()").0 }
        return try core.service.reload(trigger: "SIGHUP")
    }

    fileprivate func listen() throws(SocketError) {
        do {
            for address in core.config.listen {
                let (fd, bound, inode) = try Sockets.listen(address, backlog: 128)
                listeners.append(Listener(fd: fd, address: bound, inode: inode))
                if case .tcp(let host, let port) = bound {
                    tcpPorts.append(port)
                    if !Self.isLoopback(host) {
                        core.logger.warning("listening beyond loopback: whoever reaches this address can score, read model info and stats (Reload stays Unix-only); put an authenticating TLS proxy in front (docs/creditd.md, Security)",
                                            metadata: ["address": "\(bound)"])
                    }
                }
                core.logger.notice("listening", metadata: ["address": "\(listeners.last!.address)"])
            }
        } catch {
            closeListeners()
            throw error
        }
        for l in listeners {
            acceptThreads.append(OSThread.spawn { [self] in acceptLoop(l.fd, isUnix: l.address.isUnix) })
        }
    }

    static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }

    private func acceptLoop(_ listenFd: Int32, isUnix: Bool) {
        var fds = [pollfd(fd: listenFd, events: Int16(POLLIN), revents: 0),
                   pollfd(fd: core.stopPipe.read, events: Int16(POLLIN), revents: 0)]
        while !core.isStopping {
            fds[0].revents = 0
            fds[1].revents = 0
            // Wakes once a second when idle, for the deferred trim (a negligible cost).
            let rc = poll(&fds, 2, 1000)
            if rc < 0 { if errno == EINTR { continue }; break }
            if rc == 0 {
                if core.trimPending.exchange(false, ordering: .relaxed) { Malloc.trim() }
                continue
            }
            if fds[1].revents != 0 || core.isStopping { break }
            let fd = accept(listenFd, nil, nil)
            if fd < 0 {
                if errno == EINTR || errno == EAGAIN || errno == ECONNABORTED { continue }
                core.logger.error("accept failed", metadata: ["error": "\(String(cString: strerror(errno)))"])
                if errno == EMFILE || errno == ENFILE { usleep(10_000) }
                continue
            }
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            if !isUnix { Sockets.setNoDelay(fd) }
            Sockets.setTimeout(fd, option: SO_SNDTIMEO, seconds: core.config.idleTimeoutSeconds)
            let peer = Peer.of(fd: fd, isUnix: isUnix)
            let admission = table.admit(peer: peer, maxTotal: core.config.maxConnections, maxPerPeer: core.config.maxConnectionsPerPeer) { id in
                Connection(fd: fd, id: id, isUnix: isUnix, peer: peer, core: core)
            }
            let conn: Connection
            switch admission {
            case .refused(let why):
                let encoder = ResponseEncoder()
                withExtendedLifetime(encoder) {
                    _ = Sockets.writeAll(fd, encoder.encode(Response(id: 0, status: Status(.unavailable, why))))
                }
                close(fd)
                core.logger.warning("connection refused", metadata: ["why": "\(why)"])
                continue
            case .admitted(let admitted, let evicted):
                if let evicted {
                    core.logger.info("evicted the least recently active connection", metadata: ["evicted": "\(evicted.id)", "peer": "\(evicted.peer)"])
                }
                conn = admitted
            }
            core.metrics.connectionOpened()
            OSThread.spawn(detached: true) { [self] in
                conn.run()
                core.metrics.connectionClosed()
                table.remove(conn)
                // Freed memory goes back to the system once big frames are done with (glibc
                // keeps freed heap pages in its arenas otherwise); once more when the last
                // connection is gone, after every other thread has freed its part.
                if conn.sawBigFrame || table.count == 0 {
                    Malloc.trim()
                    core.trimPending.store(true, ordering: .relaxed)
                }
            }
        }
    }

    private func closeListeners() {
        for l in listeners {
            close(l.fd)
            if case .unix(let path) = l.address, let inode = l.inode {
                var st = stat()
                // Remove the socket file only if it is still ours.
                if lstat(path, &st) == 0 && UInt64(st.st_ino) == inode { unlink(path) }
            }
        }
        listeners = []
    }

    /// Graceful stop: stop accepting, answer every request already read, close connections,
    /// remove the Unix socket files. Connections still busy after `deadline` seconds
    /// (default `config.drainSeconds`) are cut. Returns true when everything finished in time.
    /// Safe to call more than once.
    @discardableResult
    public func stop(deadline: Double? = nil) -> Bool {
        let first = stopped.withLock { s -> Bool in defer { s = true }; return !s }
        guard first else { return true }
        core.logger.notice("stopping", metadata: ["open": "\(connectionCount)"])
        core.beginStop()
        for t in acceptThreads { t.join() }
        acceptThreads = []
        closeListeners()
        let limit = Date().addingTimeInterval(deadline ?? core.config.drainSeconds)
        for c in table.all { c.wakeForStop() }
        let clean = table.waitEmpty(until: limit)
        if !clean {
            core.logger.warning("drain deadline passed; cutting connections", metadata: ["open": "\(table.count)"])
            for c in table.all { c.abort() }
            while !table.waitEmpty(until: Date().addingTimeInterval(1)) {}
        }
        core.pool.shutdown()
        core.logger.notice("stopped", metadata: ["clean": "\(clean)"])
        return clean
    }

    /// Connections with a request being scored (never evicted); the rest may be, oldest first.
    public var busyConnectionCount: Int { table.all.filter(\.isBusy).count }

    public var connectionCount: Int {
        table.count
    }

    /// Blocks SIGTERM, SIGINT and SIGHUP in the calling thread and every thread it starts
    /// afterwards (call before `buildDaemon`), and ignores SIGPIPE.
    public static func blockSignals() {
        signal(SIGPIPE, SIG_IGN)
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGTERM)
        sigaddset(&set, SIGINT)
        sigaddset(&set, SIGHUP)
        pthread_sigmask(SIG_BLOCK, &set, nil)
    }

    /// Serves until SIGTERM or SIGINT (then stops gracefully); SIGHUP reloads the model from
    /// its path. Requires `blockSignals()` first. Returns the process exit code.
    public func runUntilSignalled() -> Int32 {
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGTERM)
        sigaddset(&set, SIGINT)
        sigaddset(&set, SIGHUP)
        while true {
            var sig: Int32 = 0
            guard sigwait(&set, &sig) == 0 else { continue }
            if sig == SIGHUP {
                _ = try? core.service.reload(trigger: "SIGHUP")
                continue
            }
            core.logger.notice("signal received", metadata: ["signal": "\(sig == SIGTERM ? "SIGTERM" : "SIGINT")"])
            return stop() ? 0 : 1
        }
    }
}

/// Builds and starts the daemon: checks the configuration, makes the scoring service, loads
/// `config.modelPath` (when given; a failed load is an error), binds every listener and
/// starts accepting. Tests call this with a temporary socket path and `tcp:127.0.0.1:0`.
public func buildDaemon(config: DaemonConfig, loader: @escaping ModelLoader, logger: Logger = Logger(label: "creditd")) throws -> Daemon {
    try config.validate()
    let service = ScoringService(config: config.service, loader: loader, logger: logger)
    if let path = config.modelPath {
        try service.load(path: path, trigger: "startup")
    } else {
        logger.warning("no --model given: not ready until a Reload loads one")
    }
    return try buildDaemon(config: config, service: service)
}

/// Starts the protobuf face on an existing service (which another face may serve as well:
/// they share the model slot, so a reload swaps every face at once).
public func buildDaemon(config: DaemonConfig, service: ScoringService) throws -> Daemon {
    try config.validate()
    // Buffers of big frames come from mmap and go back to the system when freed: glibc's
    // default raises this threshold after the first big free, after which such buffers stay
    // in the heap and RSS never comes down (docs/creditd.md, "Memory").
    Malloc.setMmapThreshold(256 * 1024)
    Malloc.setArenaMax(1)
    let core = try DaemonCore(config: config, service: service)
    let daemon = Daemon(core: core)
    do {
        try daemon.listen()
    } catch {
        core.pool.shutdown()
        throw error
    }
    return daemon
}
