import CreditNet
import CreditDomain
import CreditClient
import CreditData
import CreditDomain
import CreditModels
import CreditWire
import CreditTestSupport
import Foundation
import Testing

/// End to end against the real `creditd` executable with a logistic model trained in the test
/// (by the real `credit` executable) on a synthetic book: the Swift library, the C client,
/// the Python client and `credit score --connect` must all return exactly the in-process
/// probabilities (`ScoringModel.score`).
@Suite(.serialized) struct ClientTests {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    static let binDir = BuiltProducts.directory

    // MARK: fixture

    final class Fixture: @unchecked Sendable {
        let dir: String
        let model: String
        let apply: String       // 100 applicants
        let expected: [String: Double]   // id -> in-process probability
        let applyTable: DataTable

        init() throws {
            dir = NSTemporaryDirectory() + "credit-client-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            model = "\(dir)/m.credit"
            apply = "\(dir)/apply.csv"
            try ClientTests.run("credit", ["synth", "--rows", "3000", "--seed", "5", "--out", "csv:\(dir)/book.csv"])
            try ClientTests.run("credit", ["train", "--data", "csv:\(dir)/book.csv", "--spec", "\(ClientTests.packageRoot)/examples/alura-cash/spec.json",
                                           "--algorithm", "logistic", "--out", model, "--seed", "3"])
            // Exactly 100 applicants: the first 100 data rows of a synthetic book.
            try ClientTests.run("credit", ["synth", "--rows", "200", "--seed", "77", "--out", "csv:\(dir)/apply-all.csv"])
            let all = try String(contentsOfFile: "\(dir)/apply-all.csv", encoding: .utf8).split(separator: "\n")
            try (all.prefix(101).joined(separator: "\n") + "\n").write(toFile: apply, atomically: true, encoding: .utf8)
            let scoring = try ScoringModel(path: model)
            applyTable = try DataSources.open("csv:\(apply)", kinds: ColumnKinds(forced: ["loan_id": .categorical])).read(query: nil)
            var expected: [String: Double] = [:]
            for r in try scoring.score(applyTable) {
                if let s = r.score, let id = r.id { expected[id] = s.probability }
            }
            self.expected = expected
        }
    }

    nonisolated(unsafe) static var shared: Fixture?
    static func fixture() throws -> Fixture {
        if let f = shared { return f }
        let f = try Fixture()
        shared = f
        return f
    }

    struct Failed: Error, CustomStringConvertible { var description: String }

    @discardableResult
    static func run(_ tool: String, _ args: [String], env: [String: String] = [:]) throws -> String {
        let exe = tool.hasPrefix("/") ? tool : binDir.appendingPathComponent(tool).path
        let r = try CreditTestSupport.run(exe, args, environment: env)
        guard r.status == 0 else {
            throw Failed(description: "\(tool) \(args.joined(separator: " ")) exited \(r.status): \(r.stderr)")
        }
        return r.stdout
    }

    /// SIGKILLs the daemon once it has scored at least `rows` applicants and returns the count
    /// it had reached. The watch runs in a Python process, not on this test's cooperative pool:
    /// under the whole suite other tests' training can hold that pool for seconds, long enough
    /// for the scorer to finish before an in-process probe looked (a CI failure).
    static func killWhenScored(_ daemon: CreditdProcess, socket: String, rows: Int) throws -> UInt64 {
        let watch = """
        import os, signal, sys, time
        from credit_client import CreditClient
        c = CreditClient(sys.argv[1])
        n, end = 0, time.monotonic() + 120
        while time.monotonic() < end:
            n = c.stats().rows_scored
            if n >= int(sys.argv[3]): break
            time.sleep(0.002)
        os.kill(int(sys.argv[2]), signal.SIGKILL)
        print(n)
        """
        let out = try run(python, ["-c", watch, "unix:\(socket)", "\(daemon.pid)", "\(rows)"],
                          env: ["PYTHONPATH": "\(packageRoot)/clients/python/src"])
        daemon.waitUntilExit()
        return try #require(UInt64(out.trimmingCharacters(in: .whitespacesAndNewlines)), "watcher printed '\(out)'")
    }

    /// Starts creditd on a Unix socket and waits until it accepts connections.
    static func startDaemon(model: String, socket: String, extra: [String] = []) async throws -> CreditdProcess {
        try CreditdProcess(["--model", model, "--listen", "unix:\(socket)", "--log-level", "error"] + extra,
                           until: { accepts(.unix(path: socket)) })
    }

    /// id -> probability from a "id,probability,decision,..." CSV (rows with a probability).
    static func probabilities(csv text: String) -> [String: Double] {
        var out: [String: Double] = [:]
        for line in text.split(separator: "\n").dropFirst() {
            let cells = line.split(separator: ",", omittingEmptySubsequences: false)
            if cells.count > 1, let p = Double(cells[1]) { out[String(cells[0])] = p }
        }
        return out
    }

    static var python: String {
        ProcessInfo.processInfo.environment["CREDIT_PYTHON"]
            ?? NSHomeDirectory() + "/.local/share/credit-risk/venv/bin/python"
    }

    // MARK: tests

    @Test func swiftCAndPythonClientsMatchInProcessScoringExactly() async throws {
        let f = try Self.fixture()
        #expect(f.expected.count == 100, "the 100 synthetic applicants should all be scorable in-process")
        let socket = "\(f.dir)/a.sock"
        let daemon = try await Self.startDaemon(model: f.model, socket: socket)
        defer { daemon.terminate(); daemon.waitUntilExit() }

        // Swift library: pipelined batches of 10 over a pool of 2 connections.
        let client = DaemonClient(.unix(path: socket))
        defer { client.close() }
        let info = try await client.modelInfo()
        let idCol = try #require(f.applyTable.column(named: "loan_id"))
        let results = try await withThrowingTaskGroup(of: [(String, Double)].self) { group in
            for start in stride(from: 0, to: f.applyTable.rowCount, by: 10) {
                let rows = Array(start..<min(start + 10, f.applyTable.rowCount))
                var batch = ColumnBatch(ids: rows.map { idCol.text(row: $0) })
                for field in info.fields {
                    guard let col = f.applyTable.column(named: field.name) else { continue }
                    if field.kind == .numeric {
                        batch.numeric.append((field.name, rows.map { col.numericValues?[$0] ?? .nan }))
                    } else {
                        batch.categorical.append((field.name, rows.map { col.isMissing(row: $0) ? "" : col.text(row: $0) }))
                    }
                }
                group.addTask {
                    let r = try await client.score(batch, timeout: .seconds(10))
                    return Array(zip(r.ids, r.probability))
                }
            }
            var all: [String: Double] = [:]
            for try await part in group { for (id, p) in part { all[id] = p } }
            return all
        }
        #expect(results == f.expected)

        // C client, built with make into a temp dir.
        let cBuild = "\(f.dir)/cbuild"
        try Self.run("/usr/bin/make", ["-s", "-C", "\(Self.packageRoot)/clients/c", "BUILD=\(cBuild)"])
        let cOut = try Self.run("\(cBuild)/score_csv", ["unix:\(socket)", f.apply])
        #expect(Self.probabilities(csv: cOut) == f.expected)

        // Python client (runtime from scripts/install-deps.sh's venv), from the source tree.
        try #require(FileManager.default.isExecutableFile(atPath: Self.python),
                     "no Python with protobuf at \(Self.python): run scripts/install-deps.sh (or set CREDIT_PYTHON)")
        let pyOut = try Self.run(Self.python, ["-W", "error", "\(Self.packageRoot)/clients/python/examples/score_csv.py", "unix:\(socket)", f.apply, "loan_id", "7"],
                                 env: ["PYTHONPATH": "\(Self.packageRoot)/clients/python/src"])
        #expect(Self.probabilities(csv: pyOut) == f.expected)
        let version = try Self.run(Self.python, ["-c", "import credit_client; print(credit_client.check_runtime())"],
                                   env: ["PYTHONPATH": "\(Self.packageRoot)/clients/python/src"])
        #expect(!version.isEmpty)

        // The batch scorer writes the same file as in-process scoring, byte for byte.
        try Self.run("credit", ["score", "--model", f.model, "--data", "csv:\(f.apply)", "--out", "csv:\(f.dir)/inproc.csv"])
        try Self.run("credit", ["score", "--connect", "unix:\(socket)", "--data", "csv:\(f.apply)", "--out", "csv:\(f.dir)/daemon.csv",
                                "--batch-size", "7", "--in-flight", "3"])
        let a = try String(contentsOfFile: "\(f.dir)/inproc.csv", encoding: .utf8)
        let b = try String(contentsOfFile: "\(f.dir)/daemon.csv", encoding: .utf8)
        #expect(a == b)
        #expect(Self.probabilities(csv: b) == f.expected)
    }

    /// `credit score --connect` on an SQL source needs neither `--spec` nor `--query`: the
    /// daemon's model carries its spec's id column and default query (ModelInfo), and the
    /// output equals in-process scoring with the same model, byte for byte.
    @Test func connectedScoringTakesIdAndQueryFromTheModel() async throws {
        let dir = NSTemporaryDirectory() + "credit-connect-nospec-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let spec = "\(Self.packageRoot)/examples/alura-cash/spec.json"
        try Self.run("credit", ["synth", "--rows", "1500", "--seed", "11", "--out", "mysqldump:\(dir)/book.sql"])
        try Self.run("credit", ["db", "restore", "--into", "sqlite:\(dir)/book.db", "\(dir)/book.sql"])
        try Self.run("credit", ["train", "--data", "sqlite:\(dir)/book.db", "--spec", spec, "--algorithm", "logistic",
                                "--out", "\(dir)/m.credit", "--seed", "3"])
        let socket = "\(dir)/d.sock"
        let d = try await Self.startDaemon(model: "\(dir)/m.credit", socket: socket)
        defer { d.terminate(); d.waitUntilExit() }
        let info = try await DaemonClient(.unix(path: socket)).modelInfo()
        #expect(info.idField == "loan_id" && info.query.contains("JOIN"))
        try Self.run("credit", ["score", "--model", "\(dir)/m.credit", "--data", "sqlite:\(dir)/book.db", "--out", "csv:\(dir)/inproc.csv"])
        try Self.run("credit", ["score", "--connect", "unix:\(socket)", "--data", "sqlite:\(dir)/book.db", "--out", "csv:\(dir)/daemon.csv"])
        let a = try String(contentsOfFile: "\(dir)/inproc.csv", encoding: .utf8)
        let b = try String(contentsOfFile: "\(dir)/daemon.csv", encoding: .utf8)
        #expect(a.split(separator: "\n").count > 1000)
        #expect(a == b)
    }

    @Test func typedErrorsDeadlinesAndReconnect() async throws {
        let f = try Self.fixture()
        let socket = "\(f.dir)/b.sock"
        var options = DaemonClient.Options()
        options.reconnectWindow = .milliseconds(300)
        let client = DaemonClient(.unix(path: socket), options: options)
        defer { client.close() }
        // Nothing listening: a connect error naming the address, after the reconnect window.
        await #expect(throws: DaemonError.self) { _ = try await client.health() }
        do { _ = try await client.health() } catch { #expect("\(error)".contains(socket)) }

        let d1 = try await Self.startDaemon(model: f.model, socket: socket)
        #expect(try await client.health().ready)
        // The daemon's status code and message come back typed.
        do {
            _ = try await client.score(ColumnBatch(ids: ["x"], numeric: [("no_such_field", [1])]))
            Issue.record("an unknown field should be rejected")
        } catch {
            #expect(error.statusCode == .invalidArgument)
            #expect("\(error)".contains("no_such_field"))
        }
        // Restart: the pool reconnects on its own.
        d1.terminate(); d1.waitUntilExit()
        let d2 = try await Self.startDaemon(model: f.model, socket: socket)
        defer { d2.terminate(); d2.waitUntilExit() }
        let r = try await client.score(ApplicantRow(id: "one", fields: [("person_income", .number(50_000))]))
        #expect(r.ids == ["one"] && r.probability.count == 1)
        #expect(client.connectsMade >= 2)
        // An already-passed deadline fails without waiting.
        await #expect(throws: DaemonError.deadlineExceeded) { _ = try await client.health(timeout: .zero) }
        // Many requests in flight on one connection, matched by id.
        var one = DaemonClient.Options()
        one.connections = 1
        let conn = DaemonClient(.unix(path: socket), options: one)
        defer { conn.close() }
        let answers = try await withThrowingTaskGroup(of: String.self) { group in
            for i in 0..<50 {
                group.addTask {
                    let r = try await conn.score(ApplicantRow(id: "r\(i)", fields: [("loan_amnt", .number(Double(1000 + i)))]))
                    return r.ids.first ?? ""
                }
            }
            var ids = Set<String>()
            for try await id in group { ids.insert(id) }
            return ids
        }
        #expect(answers == Set((0..<50).map { "r\($0)" }))
    }

    @Test func batchScorerSurvivesDaemonKilledMidRun() async throws {
        let f = try Self.fixture()
        let socket = "\(f.dir)/c.sock"
        let rows = 40_000   // enough left after the first 1,000 that the kill lands mid-run on a fast machine
        let book = "\(f.dir)/big.csv"
        try Self.run("credit", ["synth", "--rows", "\(rows)", "--seed", "21", "--out", "csv:\(book)"])
        try Self.run("credit", ["score", "--model", f.model, "--data", "csv:\(book)", "--out", "csv:\(f.dir)/big-inproc.csv"])
        var daemon = try await Self.startDaemon(model: f.model, socket: socket)
        defer { if daemon.isRunning { daemon.terminate(); daemon.waitUntilExit() } }

        let scorer = Process()
        scorer.executableURL = Self.binDir.appendingPathComponent("credit")
        scorer.arguments = ["score", "--connect", "unix:\(socket)", "--data", "csv:\(book)", "--out", "csv:\(f.dir)/big-daemon.csv",
                            "--batch-size", "5", "--in-flight", "2", "--reconnect-seconds", "20"]
        let err = Pipe()
        scorer.standardError = err
        scorer.standardOutput = FileHandle.nullDevice
        try scorer.run()
        // SIGKILL the daemon once it has scored some rows, then restart it on the same socket.
        let scoredBeforeKill = try Self.killWhenScored(daemon, socket: socket, rows: 1000)
        #expect(scoredBeforeKill >= 1000 && scoredBeforeKill < UInt64(rows), "the kill should land mid-run (scored \(scoredBeforeKill))")
        try await Task.sleep(for: .milliseconds(300))
        daemon = try await Self.startDaemon(model: f.model, socket: socket)
        let log = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        scorer.waitUntilExit()
        #expect(scorer.terminationStatus == 0, "\(log)")
        let after = DaemonClient(.unix(path: socket))
        let scoredAfter = try await after.stats().rowsScored
        after.close()
        #expect(scoredAfter > 0, "the restarted daemon should have scored the rest")
        // Every row once, in input order, with the in-process probabilities.
        let a = try String(contentsOfFile: "\(f.dir)/big-inproc.csv", encoding: .utf8)
        let b = try String(contentsOfFile: "\(f.dir)/big-daemon.csv", encoding: .utf8)
        #expect(a.split(separator: "\n").count == b.split(separator: "\n").count)
        #expect(a == b)
    }

    @Test func batchScorerStopsWithResumePointWhenTheDaemonStaysAway() async throws {
        let f = try Self.fixture()
        let socket = "\(f.dir)/e.sock"
        let book = "\(f.dir)/stop.csv"
        try Self.run("credit", ["synth", "--rows", "12000", "--seed", "22", "--out", "csv:\(book)"])
        let daemon = try await Self.startDaemon(model: f.model, socket: socket)
        defer { if daemon.isRunning { daemon.terminate(); daemon.waitUntilExit() } }
        let scorer = Process()
        scorer.executableURL = Self.binDir.appendingPathComponent("credit")
        scorer.arguments = ["score", "--connect", "unix:\(socket)", "--data", "csv:\(book)", "--out", "csv:\(f.dir)/stop-out.csv",
                            "--batch-size", "5", "--in-flight", "2", "--reconnect-seconds", "0.5"]
        let err = Pipe()
        scorer.standardError = err
        scorer.standardOutput = FileHandle.nullDevice
        try scorer.run()
        let scoredBeforeKill = try Self.killWhenScored(daemon, socket: socket, rows: 1000)
        #expect(scoredBeforeKill >= 1000 && scoredBeforeKill < 11_999, "the kill should land mid-run (scored \(scoredBeforeKill))")
        let log = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        scorer.waitUntilExit()
        #expect(scorer.terminationStatus != 0)
        // "... resume with --start-row K": the file holds exactly rows 0..<K.
        let k = try #require(log.range(of: "--start-row ").map { Int(log[$0.upperBound...].prefix { $0.isNumber }) } ?? nil, "\(log)")
        #expect(k >= 1000 && k < 11_999, "\(log)")
        let written = try String(contentsOfFile: "\(f.dir)/stop-out.csv", encoding: .utf8).split(separator: "\n")
        #expect(written.count == k + 1)
        let input = try String(contentsOfFile: book, encoding: .utf8).split(separator: "\n")
        #expect(written.dropFirst().map { $0.prefix { $0 != "," } } == input.dropFirst().prefix(k).map { $0.prefix { $0 != "," } })
    }

    @Test func invalidFieldsBecomeErrorRowsAndTheRunGoesOn() throws {
        let f = try Self.fixture()
        let socket = "\(f.dir)/d.sock"
        var lines = try String(contentsOfFile: f.apply, encoding: .utf8).split(separator: "\n").map(String.init)
        let header = lines[0].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        func corrupt(_ row: Int, _ field: String, _ value: String) {
            var cells = lines[row].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            cells[header.firstIndex(of: field)!] = value
            lines[row] = cells.joined(separator: ",")
        }
        corrupt(3, "person_income", "abc")
        corrupt(10, "loan_amnt", "inf")
        corrupt(20, "loan_int_rate", "12,5%".replacingOccurrences(of: ",", with: "."))
        let bad = "\(f.dir)/bad.csv"
        try (lines.joined(separator: "\n") + "\n").write(toFile: bad, atomically: true, encoding: .utf8)
        let sem = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var daemon: CreditdProcess?
        nonisolated(unsafe) var startError: (any Error)?
        Task { do { daemon = try await Self.startDaemon(model: f.model, socket: socket) } catch { startError = error }; sem.signal() }
        sem.wait()
        if let startError { throw startError }
        defer { daemon?.terminate(); daemon?.waitUntilExit() }
        try Self.run("credit", ["score", "--connect", "unix:\(socket)", "--data", "csv:\(bad)", "--out", "csv:\(f.dir)/bad-daemon.csv", "--batch-size", "16"])
        try Self.run("credit", ["score", "--model", f.model, "--data", "csv:\(bad)", "--out", "csv:\(f.dir)/bad-inproc.csv"])
        let out = try String(contentsOfFile: "\(f.dir)/bad-daemon.csv", encoding: .utf8).split(separator: "\n").map(String.init)
        #expect(out.count == 101)
        #expect(out[3].contains(",error,") && out[3].contains("person_income = 'abc'"))
        #expect(out[10].contains(",error,") && out[10].contains("loan_amnt = 'inf'"))
        #expect(out[20].contains(",error,") && out[20].contains("loan_int_rate = '12.5%'"))
        #expect(out.dropFirst().filter { $0.contains(",error,") }.count == 3)
        #expect(try String(contentsOfFile: "\(f.dir)/bad-inproc.csv", encoding: .utf8) == out.joined(separator: "\n") + "\n")
    }

    @Test func swiftAndPythonClientsOverTCP() async throws {
        let f = try Self.fixture()
        // A free port: bind port 0, read it, release it.
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        let port = UInt16(bigEndian: addr.sin_port)
        close(fd)
        let daemon = try await Self.startDaemon(model: f.model, socket: "\(f.dir)/t.sock", extra: ["--listen", "tcp:127.0.0.1:\(port)"])
        defer { daemon.terminate(); daemon.waitUntilExit() }
        let client = try DaemonClient("tcp:127.0.0.1:\(port)")
        defer { client.close() }
        #expect(try await client.health().ready)
        // Reload is refused over TCP: the typed error carries the daemon's code.
        do { _ = try await client.reload(path: f.model); Issue.record("Reload over TCP should be refused") } catch {
            #expect(error.statusCode == .permissionDenied)
        }
        let pyOut = try Self.run(Self.python, ["-W", "error", "\(Self.packageRoot)/clients/python/examples/score_csv.py", "tcp:127.0.0.1:\(port)", f.apply],
                                 env: ["PYTHONPATH": "\(Self.packageRoot)/clients/python/src"])
        #expect(Self.probabilities(csv: pyOut) == f.expected)
    }

    @Test func pythonGeneratedCodeIsFresh() throws {
        let tmp = NSTemporaryDirectory() + "pyproto-\(getpid())"
        try FileManager.default.createDirectory(atPath: tmp, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: tmp) }
        try Self.run("/bin/bash", ["\(Self.packageRoot)/scripts/gen-python-proto.sh", tmp])
        let fresh = try Data(contentsOf: URL(fileURLWithPath: "\(tmp)/credit_pb2.py"))
        let committed = try Data(contentsOf: URL(fileURLWithPath: "\(Self.packageRoot)/clients/python/src/credit_client/credit_pb2.py"))
        #expect(fresh == committed, "clients/python/src/credit_client/credit_pb2.py is stale: run scripts/gen-python-proto.sh")
        let protoc = try Self.run("/usr/bin/env", ["protoc", "--version"])
        let client = try String(contentsOfFile: "\(Self.packageRoot)/clients/python/src/credit_client/client.py", encoding: .utf8)
        let version = protoc.split(separator: " ").last.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) } ?? "?"
        #expect(client.contains("PROTOC_VERSION = \"\(version)\""), "protoc is \(version): update PROTOC_VERSION/MIN_RUNTIME in client.py")
    }
}

/// Strings that are not what they seem, sent through the Python client (NUL inside proto3
/// strings, which Python sends as they are) and as raw bytes (invalid UTF-8, which no
/// client library will encode): every answer parses with Python's strict protobuf runtime,
/// and no applicant is scored as a different one.
@Suite struct ClientStringTests {
    @Test func nulAndBadUTF8AreAnsweredParseablyAndNeverScoredAsAnotherValue() async throws {
        let f = try ClientTests.fixture()
        let socket = "\(f.dir)/s.sock"
        let d = try await ClientTests.startDaemon(model: f.model, socket: socket)
        defer { d.terminate(); d.waitUntilExit() }
        try #require(FileManager.default.isExecutableFile(atPath: ClientTests.python), "no Python at \(ClientTests.python)")
        let script = #"""
import socket, struct, sys
from credit_client import CreditClient
from credit_client import credit_pb2 as pb
sock = sys.argv[1]
c = CreditClient("unix:" + sock)
num = {"person_income": [50000.0, 50000.0, 50000.0], "loan_amnt": [9000.0, 9000.0, 9000.0]}
r = c.score_columns(["a", "b", "c"], num, {"person_home_ownership": ["RENT", "RENT\x00junk", "\x00"]})
errs = r.errors
print("row-errors", sorted((i, e.field, e.value, e.reason) for i, e in errs.items()))
print("scored", [i for i in range(3) if i not in errs])
for bad in (["a\x00b"], ["ok"]):
    try:
        c.score_columns(bad, {"loan_amnt": [1.0]}, {"person_home_ownership\x00x": ["RENT"]} if bad == ["ok"] else {})
        print("accepted", bad)
    except Exception as e:
        print("refused", type(e).__name__, str(e).splitlines()[0])
# Raw frames with invalid UTF-8 in an id, a field name and a category value: the answers
# must parse with the strict runtime.
def fld(n, b): return bytes([n << 3 | 2]) + bytes([len(b)]) + b
s = socket.socket(socket.AF_UNIX); s.connect(sock)
for cols in (fld(1, b"\xc3\x28"), fld(3, fld(1, b"person_home_ownership") + fld(2, b"O\xffN")), fld(2, fld(1, b"loan\xffamnt"))):
    req = bytes([0x08, 0x05]) + fld(10, fld(1, cols))
    s.sendall(struct.pack(">I", len(req)) + req)
    n = struct.unpack(">I", s.recv(4, socket.MSG_WAITALL))[0]
    resp = pb.Response.FromString(s.recv(n, socket.MSG_WAITALL))
    print("raw", pb.Code.Name(resp.status.code), [(e.index, e.value, e.reason) for e in resp.score.errors])
"""#
        let out = try ClientTests.run(ClientTests.python, ["-c", script, socket], env: ["PYTHONPATH": "\(ClientTests.packageRoot)/clients/python/src"])
        let lines = out.split(separator: "\n").map(String.init)
        #expect(lines.contains("row-errors [(1, 'person_home_ownership', 'RENT\\\\x00junk', 'value contains a NUL byte'), (2, 'person_home_ownership', '\\\\x00', 'value contains a NUL byte')]"), "\(out)")
        #expect(lines.contains("scored [0]"), "\(out)")
        #expect(lines.filter { $0.hasPrefix("refused ") }.count == 2, "\(out)")
        #expect(lines.contains("raw INVALID_ARGUMENT []"), "\(out)")
        #expect(lines.contains("raw OK [(0, 'O\\\\xFFN', 'value is not valid UTF-8')]"), "\(out)")
        #expect(lines.filter { $0.hasPrefix("raw ") }.count == 3, "\(out)")

        // The C client passes bytes through as C strings: a category that is not UTF-8 comes
        // back as that row's error, escaped, and the other rows keep their scores.
        let rows = try String(contentsOfFile: f.apply, encoding: .utf8).split(separator: "\n").prefix(4).map { Array($0.utf8) }
        let header = String(decoding: rows[0], as: UTF8.self).split(separator: ",").map(String.init)
        let home = try #require(header.firstIndex(of: "person_home_ownership"))
        var bytes = rows[0] + [10]
        for (i, row) in rows.dropFirst().enumerated() {
            var cells = row.split(separator: UInt8(ascii: ","), omittingEmptySubsequences: false).map(Array.init)
            if i == 1 { cells[home] = [0x4F, 0xFF, 0x4E] }
            bytes += Array(cells.joined(separator: [UInt8(ascii: ",")])) + [10]
        }
        let csv = "\(f.dir)/bad-utf8.csv"
        try Data(bytes).write(to: URL(fileURLWithPath: csv))
        let cBuild = "\(f.dir)/cbuild-strings"
        try ClientTests.run("/usr/bin/make", ["-s", "-C", "\(ClientTests.packageRoot)/clients/c", "BUILD=\(cBuild)"])
        let cOut = try ClientTests.run("\(cBuild)/score_csv", ["unix:\(socket)", csv]).split(separator: "\n").map(String.init)
        #expect(cOut.count == 4, "\(cOut)")
        #expect(cOut[2].hasSuffix(",,error,person_home_ownership = 'O\\xFFN': value is not valid UTF-8"), "\(cOut)")
        let expected = ClientTests.probabilities(csv: cOut.joined(separator: "\n"))
        for (id, p) in expected { #expect(f.expected[id] == p, "\(id)") }
        #expect(expected.count == 2)
    }
}
