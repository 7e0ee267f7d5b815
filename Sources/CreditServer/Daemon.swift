import CreditWire
import Foundation
import Logging
import Synchronization
#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// State shared by every thread of one daemon.
final class DaemonCore: @unchecked Sendable {
    let config: DaemonConfig
    let loader: ModelLoader
    let logger: Logger
    let slot = ModelSlot()
    let stats = StatsRecorder()
    let pool: WorkPool
    /// Written once at stop; never read, so it stays readable and wakes every accept loop.
    let stopPipe: (read: Int32, write: Int32)
    private let stopping = Atomic<Bool>(false)

    init(config: DaemonConfig, loader: @escaping ModelLoader, logger: Logger) throws(SocketError) {
        self.config = config
        self.loader = loader
        self.logger = logger
        var p: [Int32] = [0, 0]
        guard pipe(&p) == 0 else { throw SocketError("pipe", "stop signal") }
        _ = fcntl(p[0], F_SETFD, FD_CLOEXEC)
        _ = fcntl(p[1], F_SETFD, FD_CLOEXEC)
        stopPipe = (p[0], p[1])
        pool = WorkPool(workers: config.workers, depth: config.queueDepth)
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

    func reload(path: String, reason: String) throws(ModelLoadError) -> (LoadedModel, LoadedModel?) {
        do {
            let (new, old) = try slot.load(path: path, loader: loader)
            logger.notice("model loaded", metadata: ["model": "\(new.info.modelId)", "path": "\(path)",
                                                   "previous": "\(old?.info.modelId ?? "none")", "trigger": "\(reason)"])
            return (new, old)
        } catch {
            logger.error("model load failed; keeping the current model", metadata: [
                "path": "\(path)", "error": "\(error.reason)", "current": "\(slot.get()?.info.modelId ?? "none")", "trigger": "\(reason)"])
            throw error
        }
    }
}

/// A running daemon: listeners, connections, worker pool and the current model.
/// Build it with `buildDaemon(config:loader:logger:)`; stop it with `stop()`.
public final class Daemon: @unchecked Sendable {
    let core: DaemonCore
    private struct Listener {
        var fd: Int32
        var address: ListenAddress
        var inode: UInt64?
    }
    private var listeners: [Listener] = []
    private var acceptThreads: [OSThread] = []
    private let connLock = NSCondition()
    private var connections: [UInt64: Connection] = [:]
    private var nextConnectionId: UInt64 = 0
    private let stopped = Mutex<Bool>(false)

    /// The bound TCP ports, in the order of `config.listen` (useful with port 0).
    public private(set) var tcpPorts: [UInt16] = []
    public var config: DaemonConfig { core.config }
    public var logger: Logger { core.logger }

    fileprivate init(core: DaemonCore) { self.core = core }

    /// The model serving now (nil until one is loaded).
    public var currentModel: LoadedModel? { core.slot.get() }

    /// Loads the artifact at `path` (default: the current model's path, else `--model`) and
    /// swaps it in; on failure the old model keeps serving and the error says why (SIGHUP).
    @discardableResult
    public func reload(path: String? = nil) throws(ModelLoadError) -> LoadedModel {
        guard let p = path ?? core.slot.get()?.path ?? core.config.modelPath else {
            let error = ModelLoadError(path: "", reason: "no model path: start with --model or send Reload with a path")
            core.logger.error("model load failed; keeping the current model", metadata: ["error": "\(error.reason)"])
            throw error
        }
        return try core.reload(path: p, reason: path == nil ? "SIGHUP" : "reload()").0
    }

    fileprivate func listen() throws(SocketError) {
        do {
            for address in core.config.listen {
                switch address {
                case .unix(let path):
                    let (fd, inode) = try Sock.listenUnix(path: path, backlog: 128)
                    listeners.append(Listener(fd: fd, address: address, inode: inode))
                case .tcp(let host, let port):
                    let (fd, bound) = try Sock.listenTCP(host: host, port: port, backlog: 128)
                    listeners.append(Listener(fd: fd, address: .tcp(host: host, port: bound), inode: nil))
                    tcpPorts.append(bound)
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

    private func acceptLoop(_ listenFd: Int32, isUnix: Bool) {
        var fds = [pollfd(fd: listenFd, events: Int16(POLLIN), revents: 0),
                   pollfd(fd: core.stopPipe.read, events: Int16(POLLIN), revents: 0)]
        while !core.isStopping {
            fds[0].revents = 0
            fds[1].revents = 0
            let rc = poll(&fds, 2, -1)
            if rc < 0 { if errno == EINTR { continue }; break }
            if fds[1].revents != 0 || core.isStopping { break }
            let fd = accept(listenFd, nil, nil)
            if fd < 0 {
                if errno == EINTR || errno == EAGAIN || errno == ECONNABORTED { continue }
                core.logger.error("accept failed", metadata: ["error": "\(String(cString: strerror(errno)))"])
                if errno == EMFILE || errno == ENFILE { usleep(10_000) }
                continue
            }
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            if !isUnix { Sock.setNoDelay(fd) }
            Sock.setTimeout(fd, option: SO_SNDTIMEO, seconds: core.config.idleTimeoutSeconds)
            connLock.lock()
            let full = connections.count >= core.config.maxConnections
            nextConnectionId += 1
            let id = nextConnectionId
            var conn: Connection?
            if !full {
                conn = Connection(fd: fd, id: id, isUnix: isUnix, core: core)
                connections[id] = conn
            }
            connLock.unlock()
            guard let conn else {
                let encoder = ResponseEncoder()
                withExtendedLifetime(encoder) {
                    _ = Sock.writeAll(fd, encoder.encode(Response(id: 0, status: Status(.unavailable, "too many connections (limit \(core.config.maxConnections))"))))
                }
                close(fd)
                core.logger.warning("connection refused: limit reached", metadata: ["limit": "\(core.config.maxConnections)"])
                continue
            }
            core.stats.connectionOpened()
            OSThread.spawn(detached: true) { [self] in
                conn.run()
                core.stats.connectionClosed()
                connLock.lock()
                connections[id] = nil
                connLock.broadcast()
                connLock.unlock()
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
        connLock.lock()
        for c in connections.values { c.wakeForStop() }
        while !connections.isEmpty && connLock.wait(until: limit) {}
        let clean = connections.isEmpty
        if !clean {
            core.logger.warning("drain deadline passed; cutting connections", metadata: ["open": "\(connections.count)"])
            for c in connections.values { c.abort() }
            while !connections.isEmpty { _ = connLock.wait(until: Date().addingTimeInterval(1)) }
        }
        connLock.unlock()
        core.pool.shutdown()
        core.logger.notice("stopped", metadata: ["clean": "\(clean)"])
        return clean
    }

    public var connectionCount: Int {
        connLock.lock(); defer { connLock.unlock() }
        return connections.count
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
                _ = try? reload()
                continue
            }
            core.logger.notice("signal received", metadata: ["signal": "\(sig == SIGTERM ? "SIGTERM" : "SIGINT")"])
            return stop() ? 0 : 1
        }
    }
}

/// Builds and starts the daemon: checks the configuration, loads `config.modelPath` (when
/// given; a failed load is an error), binds every listener and starts accepting. Tests call
/// this with a temporary socket path and `tcp:127.0.0.1:0`.
public func buildDaemon(config: DaemonConfig, loader: @escaping ModelLoader, logger: Logger = Logger(label: "creditd")) throws -> Daemon {
    try config.validate()
    let core = try DaemonCore(config: config, loader: loader, logger: logger)
    let daemon = Daemon(core: core)
    do {
        if let path = config.modelPath {
            _ = try core.reload(path: path, reason: "startup")
        } else {
            logger.warning("no --model given: not ready until a Reload loads one")
        }
        try daemon.listen()
    } catch {
        core.pool.shutdown()
        throw error
    }
    return daemon
}
