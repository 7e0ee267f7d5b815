import CreditData
import CreditDomain
import CreditModels
import CreditNet
import CreditTestSupport
import CreditWire
import Foundation
import Testing

/// Issue 17's fleet acceptance, with real parts: Debian's HAProxy running deploy/haproxy.cfg
/// (ports and addresses substituted), three `creditd --trusted-keys` replicas, and
/// `credit score --connect` pushing 500,000 rows through HAProxy. While it runs, one replica
/// is SIGKILLed and restarted, and another is hot-reloaded to a second signed model. Then:
/// every input row is in the output exactly once; each row's probability equals in-process
/// scoring by the model whose id is recorded on that row; HAProxy's stats show the traffic
/// spread over the three replicas.
@Suite(.serialized) struct HAProxyFleetTests {
    static let rows = Int(ProcessInfo.processInfo.environment["CREDIT_FLEET_ROWS"] ?? "") ?? 500_000
    static let haproxy = "/usr/sbin/haproxy"

    struct Replica {
        var process: CreditdProcess
        let tcpPort: UInt16
        let httpPort: UInt16
        let unix: String
    }

    /// A replica, returned once it accepts on all three addresses (it throws if it exits first).
    static func startReplica(model: String, trusted: String, tcpPort: UInt16, httpPort: UInt16, unix: String, log: String) throws -> CreditdProcess {
        try CreditdProcess(["--model", model, "--trusted-keys", trusted, "--listen", "tcp:127.0.0.1:\(tcpPort)",
                            "--listen", "http:127.0.0.1:\(httpPort)", "--listen", "unix:\(unix)", "--log-level", "notice"], logFile: log,
                           until: { accepts(.unix(path: unix)) && accepts(.tcp(host: "127.0.0.1", port: tcpPort))
                                    && accepts(.tcp(host: "127.0.0.1", port: httpPort)) })
    }

    /// A replica on fresh ports (`onFreshPorts`: a CI run once left one replica unstarted, its
    /// port taken before it bound it, and HAProxy saw two).
    static func startReplica(model: String, trusted: String, unix: String, log: String) throws -> Replica {
        try onFreshPorts(2) { ports in
            let (t, h) = (UInt16(ports[0]), UInt16(ports[1]))
            return Replica(process: try startReplica(model: model, trusted: trusted, tcpPort: t, httpPort: h, unix: unix, log: log),
                           tcpPort: t, httpPort: h, unix: unix)
        }
    }

    /// Sends one command to HAProxy's admin socket and returns the answer.
    static func haproxyCommand(_ socket: String, _ command: String) throws -> String {
        let fd = try Sockets.connect(.unix(path: socket))
        defer { close(fd) }
        _ = Array((command + "\n").utf8).withUnsafeBytes { Sockets.writeAll(fd, $0) }
        var out = [UInt8]()
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buf.withUnsafeMutableBytes { Sockets.readSome(fd, $0) }
            if n <= 0 { break }
            out += buf[0..<n]
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// "show stat" rows of a backend's servers: name -> column -> value.
    static func serverStats(_ socket: String, backend: String) throws -> [String: [String: String]] {
        let lines = try haproxyCommand(socket, "show stat").split(separator: "\n")
        guard let header = lines.first?.dropFirst(2).split(separator: ",", omittingEmptySubsequences: false).map(String.init) else { return [:] }
        var out: [String: [String: String]] = [:]
        for line in lines.dropFirst() {
            let cells = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            guard cells.count >= 2, cells[0] == backend, cells[1] != "FRONTEND", cells[1] != "BACKEND" else { continue }
            out[cells[1]] = Dictionary(uniqueKeysWithValues: zip(header, cells).map { ($0, $1) })
        }
        return out
    }

    /// One request over a replica's Unix socket, synchronously. The test drives its events
    /// from plain threads: with the whole suite running, the cooperative pool's two threads
    /// may be busy for seconds, and an `await` would let the run finish before the events.
    static func call(_ socket: String, _ method: Request.Method) throws -> Response {
        let fd = try Sockets.connect(.unix(path: socket))
        defer { close(fd) }
        Sockets.setTimeout(fd, option: SO_RCVTIMEO, seconds: 30)
        _ = Request(id: 1, method).framed().withUnsafeBytes { Sockets.writeAll(fd, $0) }
        let decoder = FrameDecoder(maxFrameBytes: 1 << 24)
        while true {
            if let frame = try decoder.nextFrame() { return try Response(decoding: [UInt8](frame)) }
            let n = Sockets.readSome(fd, decoder.writableSpace(minimum: 65536))
            guard n > 0 else { throw ClientTests.Failed(description: "\(socket): connection closed") }
            decoder.commit(n)
        }
    }

    /// One CSV line's cells (quotes around reason texts; "" inside is a quote).
    static func csvCells(_ line: Substring) -> [String] {
        var out: [String] = [], cur = "", quoted = false, previous: Character = " "
        for ch in line {
            if ch == "\"" {
                if quoted == false && previous == "\"" { cur.append("\"") }
                quoted.toggle()
            } else if ch == "," && !quoted {
                out.append(cur)
                cur = ""
            } else {
                cur.append(ch)
            }
            previous = ch
        }
        out.append(cur)
        return out
    }

    @Test func threeReplicasBehindHAProxyScoreEveryRowOnceThroughAKillAndAReload() throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.haproxy), "haproxy missing: run scripts/install-deps.sh (Debian haproxy)")
        let dir = NSTemporaryDirectory() + "credit-fleet-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: "\(dir)/trusted", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let spec = "\(ClientTests.packageRoot)/examples/alura-cash/spec.json"

        // Two signed models and the 500,000-row book.
        try ClientTests.run("credit", ["keys", "generate", "--out", "\(dir)/trusted/ops"])
        try ClientTests.run("credit", ["synth", "--rows", "4000", "--seed", "5", "--out", "csv:\(dir)/train.csv"])
        for (name, seed) in [("a", "3"), ("b", "11")] {
            try ClientTests.run("credit", ["train", "--data", "csv:\(dir)/train.csv", "--spec", spec, "--algorithm", "logistic",
                                           "--validation", "0.3", "--test", "0.1", "--seed", seed,
                                           "--out", "\(dir)/\(name).credit", "--signing-key", "\(dir)/trusted/ops.key"])
        }
        try ClientTests.run("credit", ["synth", "--rows", "\(Self.rows + 1)", "--seed", "17", "--out", "csv:\(dir)/book.csv"])
        let models = [try ScoringModel(path: "\(dir)/a.credit"), try ScoringModel(path: "\(dir)/b.credit")]
        let (idA, idB) = (models[0].modelID, models[1].modelID)
        #expect(idA != idB && models.allSatisfy { $0.signer != nil })

        // Three replicas on model A, then HAProxy with the committed config.
        var replicas: [Replica] = []
        for i in 0..<3 {
            replicas.append(try Self.startReplica(model: "\(dir)/a.credit", trusted: "\(dir)/trusted", unix: "\(dir)/r\(i).sock",
                                                  log: "\(dir)/r\(i).log"))
        }
        // HAProxy with the committed config on fresh ports (`onFreshPorts`, like a replica).
        let admin = "\(dir)/haproxy.sock"
        let committed = try String(contentsOfFile: "\(ClientTests.packageRoot)/deploy/haproxy.cfg", encoding: .utf8)
        let (proxy, front) = try onFreshPorts(3) { ports -> (Process, UInt16) in
            let (front, httpFront, statsPort) = (ports[0], ports[1], ports[2])
            var cfg = committed
            let substitutions = [("/run/haproxy/creditd-admin.sock", admin), ("bind :7311", "bind 127.0.0.1:\(front)"),
                                 ("bind :8080", "bind 127.0.0.1:\(httpFront)"), ("bind 127.0.0.1:8404", "bind 127.0.0.1:\(statsPort)"),
                                 ("log stdout format raw local0 notice", "log stderr format raw local0 warning")]
                + (0..<3).flatMap { i in [("10.0.0.1\(i + 1):7311", "127.0.0.1:\(replicas[i].tcpPort)"),
                                          ("10.0.0.1\(i + 1):8080", "127.0.0.1:\(replicas[i].httpPort)")] }
            for (from, to) in substitutions {
                #expect(cfg.contains(from), "deploy/haproxy.cfg no longer has '\(from)'")
                cfg = cfg.replacingOccurrences(of: from, with: to)
            }
            try cfg.write(toFile: "\(dir)/haproxy.cfg", atomically: true, encoding: .utf8)
            try? FileManager.default.removeItem(atPath: admin)
            let proxy = Process()
            proxy.executableURL = URL(fileURLWithPath: Self.haproxy)
            proxy.arguments = ["-db", "-f", "\(dir)/haproxy.cfg"]
            proxy.environment = ["CREDITD_HTTP_TOKEN": "unused-on-loopback", "PATH": "/usr/bin:/bin"]
            proxy.standardOutput = FileHandle.nullDevice
            proxy.standardError = FileHandle.nullDevice
            try proxy.run()
            // Bound once its admin socket answers; an exit before that is a lost port.
            _ = waitUntil(seconds: 10) { !proxy.isRunning || (try? Self.haproxyCommand(admin, "show info")) != nil }
            guard proxy.isRunning else { throw CreditdStartError(description: "haproxy exited with \(proxy.terminationStatus)") }
            return (proxy, UInt16(front))
        }
        defer { if proxy.isRunning { kill(proxy.processIdentifier, SIGKILL) } }

        // HAProxy's own health checks (a Health frame, the ready answer's bytes) see all three UP.
        var up: [String] = []
        for _ in 0..<300 {
            up = ((try? Self.serverStats(admin, backend: "creditd_protobuf")) ?? [:]).filter { $0.value["status"] == "UP" }.map(\.key)
            if up.count == 3 { break }
            usleep(100_000)
        }
        #expect(up.count == 3, "HAProxy sees \(up) UP")

        // The run, through HAProxy only.
        let scorer = Process()
        scorer.executableURL = ClientTests.binDir.appendingPathComponent("credit")
        scorer.arguments = ["score", "--connect", "tcp:127.0.0.1:\(front)", "--data", "csv:\(dir)/book.csv", "--out", "csv:\(dir)/out.csv",
                            "--connections", "6", "--in-flight", "6", "--batch-size", "500", "--reconnect-seconds", "60"]
        FileManager.default.createFile(atPath: "\(dir)/score.err", contents: nil)
        scorer.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: "\(dir)/score.err"))
        scorer.standardOutput = FileHandle.nullDevice
        let started = Date()
        try scorer.run()
        defer { if scorer.isRunning { kill(scorer.processIdentifier, SIGKILL) } }

        // Events keyed to the rows the replicas have scored (their Stats over the Unix
        // sockets; a killed replica's count is banked), so they fall inside the run.
        var banked = 0, lastSeen = [Int](repeating: 0, count: 3)
        func rowsScored() -> Int {
            for (i, r) in replicas.enumerated() {
                if let s = (try? Self.call(r.unix, .stats))?.stats { lastSeen[i] = Int(s.rowsScored) }
            }
            return banked + lastSeen.reduce(0, +)
        }
        while scorer.isRunning, rowsScored() < Self.rows / 5 { usleep(20_000) }
        var killedDuringRun = false, reloadedDuringRun = false
        if scorer.isRunning {
            _ = rowsScored()
            replicas[0].process.signal(SIGKILL)
            _ = replicas[0].process.waitForExit(seconds: 10)
            banked += lastSeen[0]
            lastSeen[0] = 0
            killedDuringRun = scorer.isRunning
            usleep(500_000)
            replicas[0].process = try Self.startReplica(model: "\(dir)/a.credit", trusted: "\(dir)/trusted", tcpPort: replicas[0].tcpPort,
                                                        httpPort: replicas[0].httpPort, unix: replicas[0].unix, log: "\(dir)/r0.log")
        }
        while scorer.isRunning, rowsScored() < Self.rows / 2 { usleep(20_000) }
        if scorer.isRunning {
            let r = try Self.call(replicas[1].unix, .reload(path: "\(dir)/b.credit"))
            #expect(r.status.code == .ok, "\(r.status)")
            reloadedDuringRun = scorer.isRunning
        }
        while scorer.isRunning { usleep(50_000) }
        let seconds = Date().timeIntervalSince(started)
        let err = (try? String(contentsOfFile: "\(dir)/score.err", encoding: .utf8)) ?? ""
        #expect(scorer.terminationStatus == 0, "credit score --connect: \(err)")
        #expect(killedDuringRun, "the run finished before replica 0 was killed")
        #expect(reloadedDuringRun, "the run finished before replica 1 was reloaded")

        // Every row exactly once, each scored as its recorded model scores it in process.
        let book = try DataSources.open("csv:\(dir)/book.csv", kinds: ColumnKinds(forced: ["loan_id": .categorical])).read(query: nil)
        let expected = try models.map { m in
            Dictionary(try m.score(book).map { ($0.id ?? "", $0.score?.probability) }, uniquingKeysWith: { a, _ in a })
        }
        let lines = try String(contentsOfFile: "\(dir)/out.csv", encoding: .utf8).split(separator: "\n")
        let header = lines[0].split(separator: ",").map(String.init)
        let modelColumn = try #require(header.firstIndex(of: "model_id"), "no model_id column in \(header)")
        var seen = Set<String>(), duplicates = 0, mismatches: [String] = [], byModel = [idA: 0, idB: 0]
        for line in lines.dropFirst() {
            let cells = Self.csvCells(line)
            let id = cells[0]
            if !seen.insert(id).inserted { duplicates += 1 }
            let model = cells[modelColumn]
            guard let m = [idA, idB].firstIndex(of: model) else { mismatches.append("\(id): unknown model '\(model)'"); continue }
            byModel[model, default: 0] += 1
            let want = expected[m][id] ?? nil
            let got = Double(cells[1])
            if want?.bitPattern != got?.bitPattern && !(want == nil && got == nil) {
                mismatches.append("\(id) (model \(m == 0 ? "A" : "B")): \(String(describing: got)) vs in-process \(String(describing: want))")
            }
        }
        let inputIDs = Set((0..<book.rowCount).map { book.column(named: "loan_id")!.text(row: $0) })
        #expect(inputIDs.count == book.rowCount && book.rowCount == Self.rows)
        #expect(lines.count - 1 == book.rowCount && seen == inputIDs && duplicates == 0,
                "\(lines.count - 1) rows, \(seen.count) distinct ids, \(duplicates) duplicates for \(book.rowCount) input rows")
        #expect(mismatches.isEmpty, "\(mismatches.count) rows differ from in-process scoring: \(mismatches.prefix(5))")
        #expect(byModel[idA]! > 0 && byModel[idB]! > 0, "rows by model: \(byModel)")

        // Traffic spread: every replica carried a share of the request bytes; the killed one
        // (creditd1, out from a fifth of the run until its connections had moved) less.
        let stats = try Self.serverStats(admin, backend: "creditd_protobuf")
        let shares = stats.mapValues { Int($0["bin"] ?? "") ?? 0 }
        let total = shares.values.reduce(0, +)
        #expect(shares.count == 3 && shares.values.allSatisfy { $0 * 20 >= total }, "request bytes per replica: \(shares)")
        #expect(["creditd2", "creditd3"].allSatisfy { (shares[$0] ?? 0) * 5 >= total }, "request bytes per replica: \(shares)")
        print("fleet: \(book.rowCount) rows in \(String(format: "%.1f", seconds)) s through HAProxy; rows by model A \(byModel[idA]!), B \(byModel[idB]!); "
            + "request bytes per replica \(shares.sorted { $0.key < $1.key }); sessions \(stats.mapValues { $0["stot"] ?? "?" }.sorted { $0.key < $1.key })")
        kill(proxy.processIdentifier, SIGTERM)
        for r in replicas { r.process.signal(SIGTERM) }
    }
}
