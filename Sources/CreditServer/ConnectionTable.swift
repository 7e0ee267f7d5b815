import Foundation
#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// Who is on the other end of a connection, for the per-peer limit: the uid of a Unix
/// socket peer (SO_PEERCRED), the address of a TCP peer.
enum Peer: Hashable, CustomStringConvertible {
    case uid(UInt32)
    case address(String)
    case unknown

    static func of(fd: Int32, isUnix: Bool) -> Peer {
        if isUnix {
            // struct ucred { pid_t pid; uid_t uid; gid_t gid; } (Glibc hides it behind _GNU_SOURCE)
            var cred: (pid: Int32, uid: UInt32, gid: UInt32) = (0, 0, 0)
            var len = socklen_t(MemoryLayout.size(ofValue: cred))
            guard getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0 else { return .unknown }
            return .uid(cred.uid)
        }
        var storage = sockaddr_storage()
        var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let ok = withUnsafeMutablePointer(to: &storage) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getpeername(fd, $0, &len) } } == 0
        guard ok else { return .unknown }
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
        let family = Int32(storage.ss_family)
        withUnsafePointer(to: &storage) { p in
            if family == AF_INET6 {
                p.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { a in
                    var addr = a.pointee.sin6_addr
                    _ = inet_ntop(AF_INET6, &addr, &text, socklen_t(text.count))
                }
            } else {
                p.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { a in
                    var addr = a.pointee.sin_addr
                    _ = inet_ntop(AF_INET, &addr, &text, socklen_t(text.count))
                }
            }
        }
        return .address(String(cString: text))
    }

    var description: String {
        switch self {
        case .uid(let u): "uid \(u)"
        case .address(let a): a
        case .unknown: "unknown peer"
        }
    }
}

/// The open connections, with the admission policy that keeps slots for clients that use
/// them: when the table (or one peer's share of it) is full, the connection that has done
/// nothing for longest (idle, or stuck in an incomplete frame) is evicted to make room,
/// instead of refusing the newcomer. A connection with a request being scored is never
/// evicted; if every one is busy, the newcomer is refused.
final class ConnectionTable: @unchecked Sendable {
    private let cond = NSCondition()
    /// Every connection whose thread still runs (evicted ones until they finish).
    private var connections: [UInt64: Connection] = [:]
    /// Counts of the connections not evicted: what the limits apply to.
    private var active = 0
    private var perPeer: [Peer: Int] = [:]
    private var nextId: UInt64 = 0

    enum Admission {
        case admitted(Connection, evicted: Connection?)
        case refused(String)
    }

    /// Makes room for a connection from `peer` and reserves its id; `make` builds it.
    func admit(peer: Peer, maxTotal: Int, maxPerPeer: Int, make: (UInt64) -> Connection) -> Admission {
        cond.lock()
        defer { cond.unlock() }
        var evicted: Connection?
        if perPeer[peer, default: 0] >= maxPerPeer {
            guard let victim = oldestEvictable(peer: peer) else {
                return .refused("too many connections from \(peer) (limit \(maxPerPeer)), all busy")
            }
            evicted = victim
        } else if active >= maxTotal {
            guard let victim = oldestEvictable(peer: nil) else {
                return .refused("too many connections (limit \(maxTotal)), all busy")
            }
            evicted = victim
        }
        if let evicted {
            evicted.evict()
            release(evicted.peer)
        }
        nextId += 1
        let c = make(nextId)
        connections[c.id] = c
        active += 1
        perPeer[peer, default: 0] += 1
        return .admitted(c, evicted: evicted)
    }

    /// The least recently active connection that is not scoring (of `peer` when given).
    private func oldestEvictable(peer: Peer?) -> Connection? {
        var best: Connection?
        var bestAt = UInt64.max
        for c in connections.values where (peer == nil || c.peer == peer) && !c.isBusy && !c.isEvicted {
            let at = c.lastActivity
            if at < bestAt { best = c; bestAt = at }
        }
        return best
    }

    private func release(_ peer: Peer) {
        active -= 1
        let n = perPeer[peer, default: 1] - 1
        perPeer[peer] = n > 0 ? n : nil
    }

    /// A connection's thread finished.
    func remove(_ c: Connection) {
        cond.lock()
        if connections.removeValue(forKey: c.id) != nil && !c.isEvicted { release(c.peer) }
        cond.broadcast()
        cond.unlock()
    }

    /// Connections whose threads still run.
    var count: Int { cond.lock(); defer { cond.unlock() }; return connections.count }

    var all: [Connection] { cond.lock(); defer { cond.unlock() }; return Array(connections.values) }

    /// Waits until no connection is registered or `deadline` passes; true when empty.
    func waitEmpty(until deadline: Date) -> Bool {
        cond.lock()
        defer { cond.unlock() }
        while !connections.isEmpty && cond.wait(until: deadline) {}
        return connections.isEmpty
    }
}
