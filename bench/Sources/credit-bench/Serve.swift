import CreditDomain
import CreditCore
import CreditNet
import ArgumentParser
import CreditBench
import CreditWire
import Foundation

/// Drives the real `creditd` binary and the C echo floor with the same load generator, in
/// the same run, over the same kinds of socket, with the same request bytes.
struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Latency/throughput of creditd vs the C echo floor (and optionally an HTTP peer).")

    @Option(help: "creditd binary.") var creditd: String
    @Option(help: "Model artifact (.credit) creditd serves.") var model: String
    @Option(help: "C echo floor binary (bench/floor/echo.c).") var floor: String
    @Option(help: "Loan book: sqlite:PATH (restored with `credit db restore`).") var data: String
    @Option(name: .customLong("query-file"), help: "SQL joining the loan book.") var queryFile: String
    @Option(name: .customLong("malloc-counter"), help: "LD_PRELOAD malloc counter (bench/alloc/malloc_count.c built as .so).")
    var mallocCounter: String?
    @Option(help: "HTTP peer serving one applicant as JSON: tcp:HOST:PORT/PATH (e.g. FastAPI+XGBoost).") var http: String?
    @Option(name: .customLong("http-label"), help: "Name of the HTTP peer in the tables.") var httpLabel = "FastAPI+XGBoost"
    @Flag(name: .customLong("http-face"), help: "Also serve creditd's HTTP/JSON face and measure POST /v1/score (1 applicant, 1024 columnar).")
    var httpFace = false
    @Option(help: "Warm-up seconds per run (discarded).") var warmup: Double = 1
    @Option(help: "Measured seconds per run.") var seconds: Double = 3
    @Option(name: .customLong("open-rate"), help: "Open-loop rate (requests/s) for one-applicant runs.") var openRate: Double = 2000
    @Option(help: "Batch sizes (applicants per request).") var shapes: String = "1,16,256,1024"
    @Option(help: "Big batches (1024+) with reason codes, without, or both (the others: with).") var reasons: ReasonRuns = .both
    @Option(name: .customLong("tcp-port"), help: "First TCP port used (creditd, floor, alloc creditd).") var tcpPort: Int = 17311
    @Option(name: .customLong("out-json")) var outJSON: String
    @Option(name: .customLong("out-md")) var outMD: String

    func run() throws {
        let dir = NSTemporaryDirectory() + "credit-bench-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let creditdUnix = dir + "/creditd.sock", floorUnix = dir + "/floor.sock"
        let creditdPort = UInt16(tcpPort), floorPort = UInt16(tcpPort + 1), httpPort = UInt16(tcpPort + 3)

        // The HTTP face runs in the same daemon, on the same model slot, as in production.
        let httpListen = httpFace ? ["--listen", "http:127.0.0.1:\(httpPort)"] : []
        let daemon = try Spawned(creditd, ["--model", model, "--listen", "unix:\(creditdUnix)", "--listen", "tcp:\(creditdPort)",
                                           "--log-level", "warning"] + httpListen, wait: .unix(path: creditdUnix))
        defer { daemon.stop() }
        let echo = try Spawned(floor, ["unix:\(floorUnix)", "tcp:\(floorPort)"], wait: .unix(path: floorUnix))
        defer { echo.stop() }

        let info = try modelInfo(.unix(path: creditdUnix))
        let applicants = try ApplicantSource(data: data, queryFile: queryFile, fields: info.fields)
        log("model \(info.modelId) (\(info.algorithm)), \(applicants.table.rowCount) loan-book rows")

        let shapeList = shapes.split(separator: ",").compactMap { Int($0) }
        let endpoints: [(String, SocketAddress, SocketAddress)] = [
            ("unix", .unix(path: creditdUnix), .unix(path: floorUnix)),
            ("tcp", .tcp(host: "127.0.0.1", port: creditdPort), .tcp(host: "127.0.0.1", port: floorPort)),
        ]
        var results: [LoadResult] = []
        var table = MarkdownTable(LoadResult.tableHeader + ["p50 / floor", "p99 / floor", "applicants/s / floor"])
        func add(_ r: LoadResult, floor f: LoadResult?) {
            results.append(r)
            var row = r.tableRow
            if let f, r.target != "floor" {
                row += [Fmt.ratio(r.latencyMicros.p50Micros / f.latencyMicros.p50Micros), Fmt.ratio(r.latencyMicros.p99Micros / f.latencyMicros.p99Micros),
                        Fmt.ratio(r.applicantsPerSecond / f.applicantsPerSecond)]
            } else { row += ["", "", ""] }
            table.add(row)
            log("\(r.target) \(r.transport) \(r.applicantsPerRequest) \(r.mode): p50 \(Fmt.micros(r.latencyMicros.p50Micros)) µs, p99 \(Fmt.micros(r.latencyMicros.p99Micros)) µs, \(Fmt.count(r.requestsPerSecond)) req/s, errors \(Fmt.errors(r.outcomes))")
        }

        // The one-applicant HTTP runs (creditd's JSON face, the FastAPI peer) go right after the
        // protobuf TCP run they are compared with: this host's wake-up cost drifts over minutes
        // (bench/NOTES.md), and a ratio of runs minutes apart would measure the drift.
        var httpResult: LoadResult?
        var faceRuns: [LoadResult]? = httpFace ? [] : nil
        func runFace(_ shape: Int) throws {
            let body = shape == 1 ? applicants.json(0) : applicants.jsonColumns(first: 0, count: shape)
            let head = "POST /v1/score HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: \(body.count)\r\n\r\n"
            let r = try runLoad(LoadSpec(endpoint: .tcp(host: "127.0.0.1", port: httpPort),
                                         payload: .http(request: Array(head.utf8) + body, applicants: shape),
                                         mode: .closed(connections: 1), warmupSeconds: warmup, measureSeconds: seconds),
                                target: ServeReport.httpFaceTarget)
            let f = results.last { $0.target == "floor" && $0.transport == "tcp" && $0.applicantsPerRequest == shape && $0.mode == "closed, 1 conn" }
            add(r, floor: f)
            faceRuns?.append(r)
        }
        func runPeer(_ http: String) throws {
            let (endpoint, path) = try parseHTTP(http)
            let body = applicants.json(0)
            let head = "POST \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: \(body.count)\r\n\r\n"
            let r = try runLoad(LoadSpec(endpoint: endpoint, payload: .http(request: Array(head.utf8) + body, applicants: 1),
                                         mode: .closed(connections: 1), warmupSeconds: warmup, measureSeconds: seconds),
                                target: httpLabel)
            let f = results.last { $0.target == "floor" && $0.transport == "tcp" && $0.applicantsPerRequest == 1 && $0.mode.hasPrefix("closed") }
            add(r, floor: f)
            httpResult = r
        }

        for shape in shapeList {
            let template = try applicants.template(applicants: shape)
            for (transport, cd, fl) in endpoints {
                var modes: [LoadMode] = [.closed(connections: 1)]
                if shape == 1 { modes.append(.open(ratePerSecond: openRate, connections: 1)) }
                if shape >= 256 { modes.append(.closed(connections: 2)) }
                for mode in modes {
                    let f = try runLoad(LoadSpec(endpoint: fl, payload: .frames(template), mode: mode,
                                                 warmupSeconds: warmup, measureSeconds: seconds), target: "floor")
                    add(f, floor: nil)
                    if shape >= 1024 && reasons == .none { continue }
                    let c = try runLoad(LoadSpec(endpoint: cd, payload: .frames(template), mode: mode,
                                                 warmupSeconds: warmup, measureSeconds: seconds), target: "creditd")
                    add(c, floor: f)
                    if shape == 1 && transport == "tcp" && mode == .closed(connections: 1) {
                        if httpFace { try runFace(1) }
                        if let http { try runPeer(http) }
                    }
                }
                // Big batches again without reason codes (probabilities and decisions only:
                // the same work as the in-process peers, which compute no reasons).
                if shape >= 1024 && reasons != .full {
                    let bare = try applicants.template(applicants: shape, reasons: .none)
                    for mode in modes {
                        let f = results.last { $0.target == "floor" && $0.transport == cd.transport && $0.mode == "\(mode)" }
                        let c = try runLoad(LoadSpec(endpoint: cd, payload: .frames(bare), mode: mode,
                                                     warmupSeconds: warmup, measureSeconds: seconds), target: ServeReport.noReasonsTarget)
                        add(c, floor: f)
                    }
                }
            }
        }

        if httpFace, shapeList.contains(1024) { try runFace(1024) }

        var alloc: AllocationResult?
        if let mallocCounter {
            alloc = try measureAllocations(counter: mallocCounter, dir: dir, applicants: applicants, port: UInt16(tcpPort + 2))
        }

        let report = ServeReport(model: info.modelId, algorithm: info.algorithm, runs: results, http: httpResult,
                                 httpFace: faceRuns, allocations: alloc, warmupSeconds: warmup, measureSeconds: seconds)
        try prettyJSON(report).write(toFile: outJSON, atomically: true, encoding: .utf8)
        var md = table.text
        if let a = alloc {
            md += "\nAllocations in creditd (LD_PRELOAD malloc counter, all threads of the daemon, after warm-up):\n\n"
            var t = MarkdownTable(["request shape", "requests", "allocations", "per request", "per applicant", "idle baseline (same duration)"])
            for s in a.shapes {
                t.add(["\(s.applicants) applicant(s)", "\(s.requests)", "\(s.allocations)",
                       String(format: "%.3f", Double(s.allocations) / Double(s.requests)),
                       String(format: "%.4f", Double(s.allocations) / Double(s.requests * s.applicants)), "\(s.idleAllocations)"])
            }
            md += t.text
        }
        try md.write(toFile: outMD, atomically: true, encoding: .utf8)
    }

    func parseHTTP(_ s: String) throws -> (SocketAddress, String) {
        guard s.hasPrefix("tcp:"), let slash = s.dropFirst(4).firstIndex(of: "/") else { throw BenchError("--http: expected tcp:HOST:PORT/PATH, got '\(s)'") }
        let hostPort = s[s.index(s.startIndex, offsetBy: 4)..<slash].split(separator: ":")
        guard hostPort.count == 2, let port = UInt16(hostPort[1]) else { throw BenchError("--http: bad host:port in '\(s)'") }
        return (.tcp(host: String(hostPort[0]), port: port), String(s[slash...]))
    }

    /// Counts the daemon's malloc calls (all threads) while it answers `requests` requests
    /// after a warm-up: a second creditd run under the LD_PRELOAD counter, which keeps its
    /// counter in a shared file mapping that this process reads.
    func measureAllocations(counter: String, dir: String, applicants: ApplicantSource, port: UInt16) throws -> AllocationResult {
        let sock = dir + "/alloc.sock", countFile = dir + "/malloc.count"
        let daemon = try Spawned(creditd, ["--model", model, "--listen", "unix:\(sock)", "--log-level", "warning"],
                                 wait: .unix(path: sock), environment: ["LD_PRELOAD": counter, "MALLOC_COUNT_FILE": countFile])
        defer { daemon.stop() }
        let counterView = try MappedCounter(path: countFile)
        let conn = try BenchConnection(.unix(path: sock))
        var shapes: [AllocationResult.Shape] = []
        for (n, requests) in [(1, 5_000), (16, 1_000), (256, 100), (1024, 30)] {
            let template = try applicants.template(applicants: n)
            var frame = template.frame
            func send(_ count: Int, from: Int) throws {
                try frame.withUnsafeMutableBytes { buf in
                    for i in 0..<count {
                        RequestTemplate.patch(buf, sequence: from + i)
                        guard conn.writeAll(UnsafeRawBufferPointer(buf)), let r = conn.readFrame(),
                              ProtoScan.head(r)?.code == 0 else { throw BenchError("allocation run: request failed") }
                    }
                }
            }
            try send(max(20, requests / 5), from: 0)  // warm-up: scratch and buffers reach their size
            let a0 = counterView.value
            let t0 = SystemClock.monotonicNanos()
            try send(requests, from: 1_000_000)
            let busy = SystemClock.monotonicNanos() - t0
            let a1 = counterView.value
            // Idle baseline: what the daemon allocates with no traffic for as long.
            usleep(UInt32(min(busy / 1000, 2_000_000)))
            let idle = counterView.value - a1
            shapes.append(.init(applicants: n, requests: requests, allocations: a1 - a0, idleAllocations: idle))
            log("allocations: \(n) applicant(s): \(a1 - a0) in \(requests) requests (idle baseline \(idle))")
        }
        return AllocationResult(method: "LD_PRELOAD malloc/calloc/realloc/memalign counter (bench/alloc/malloc_count.c), whole creditd process", shapes: shapes)
    }
}

struct AllocationResult: Codable {
    struct Shape: Codable {
        var applicants: Int
        var requests: Int
        var allocations: UInt64
        var idleAllocations: UInt64
    }
    var method: String
    var shapes: [Shape]
}

struct ServeReport: Codable {
    /// Target name of the creditd runs whose requests ask for no reason codes.
    static let noReasonsTarget = "creditd, no reasons"
    /// Target name of the runs through creditd's own HTTP/JSON face (`POST /v1/score`).
    static let httpFaceTarget = "creditd HTTP/JSON"
    var model: String
    var algorithm: String
    var runs: [LoadResult]
    var http: LoadResult?
    var httpFace: [LoadResult]?
    var allocations: AllocationResult?
    var warmupSeconds: Double
    var measureSeconds: Double
}

/// The counter page the LD_PRELOAD library maps (first 8 bytes: allocation calls).
final class MappedCounter {
    let base: UnsafeMutableRawPointer
    init(path: String) throws {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw BenchError("malloc counter file \(path) missing: was the LD_PRELOAD library loaded?") }
        defer { close(fd) }
        guard let p = mmap(nil, 4096, PROT_READ, MAP_SHARED, fd, 0), p != MAP_FAILED else { throw BenchError("mmap \(path) failed") }
        base = p
    }
    var value: UInt64 {
        // The other process increments it atomically; an aligned 8-byte load sees a whole value.
        base.load(as: UInt64.self)
    }
}

func log(_ s: String) {
    FileHandle.standardError.write(Data(("[credit-bench] " + s + "\n").utf8))
}

func modelInfo(_ endpoint: SocketAddress) throws -> ModelDescription {
    let c = try BenchConnection(endpoint)
    let frame = Request(id: 1, .modelInfo).framed()
    guard frame.withUnsafeBytes({ c.writeAll($0) }), let r = c.readFrame() else { throw BenchError("ModelInfo: no answer from \(endpoint)") }
    let response = try Response(decoding: r)
    guard let info = response.modelInfo else { throw BenchError("ModelInfo: \(response.status)") }
    return info
}

/// A child process (creditd, the floor) started for the run and stopped after it.
final class Spawned {
    let process = Process()
    init(_ path: String, _ args: [String], wait: SocketAddress, environment: [String: String] = [:]) throws {
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = args
        var env = ProcessInfo.processInfo.environment
        for (k, v) in environment { env[k] = v }
        process.environment = env
        try process.run()
        let deadline = Date().addingTimeInterval(30)
        while true {
            if (try? BenchConnection(wait)) != nil { return }
            if !process.isRunning { throw BenchError("\(path) exited with \(process.terminationStatus) before listening") }
            if Date() > deadline { process.terminate(); throw BenchError("\(path) did not listen on \(wait) within 30 s") }
            usleep(20_000)
        }
    }
    func stop() {
        if process.isRunning { process.terminate(); process.waitUntilExit() }
    }
}

/// Which big-batch runs `serve` makes (a profile of one kind needs the other left out).
enum ReasonRuns: String, ExpressibleByArgument {
    case both, full, none
}
