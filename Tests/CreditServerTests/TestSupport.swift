import CreditTestSupport
import CreditNet
import CreditService
import CreditDomain
import CreditCore
import CreditServer
import CreditWire
import Foundation
import Logging
import Testing

// MARK: - The test-only backend (the ONE place daemon tests touch a model)
//
// TEST-ONLY. A fixed logistic formula standing in for a real `.credit` artifact until the
// CreditModels adapter is merged; at merge the lead swaps `TestModel` for a real artifact
// (write one, load it with the real loader, compute expectations with ScoringModel).
//
// "Artifact" files are small `key=value` text files: id, bias, threshold, delay_ms.
enum TestModel {
    static let fields = [
        SchemaField(name: "person_income", kind: .numeric),
        SchemaField(name: "loan_amnt", kind: .numeric),
        SchemaField(name: "person_home_ownership", kind: .categorical, categories: ["RENT", "OWN", "MORTGAGE", "OTHER"]),
    ]

    /// Writes a model file and returns its path.
    static func write(in dir: String, id: String, bias: Double = -2, threshold: Double = 0.5, delayMillis: Int = 0) -> String {
        let path = "\(dir)/\(id).model"
        try! "id=\(id)\nbias=\(bias)\nthreshold=\(threshold)\ndelay_ms=\(delayMillis)\n".write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    static let loader: ModelLoader = { path in
        let text = try String(contentsOfFile: path, encoding: .utf8)
        var kv = [String: String]()
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: "=", maxSplits: 1)
            guard parts.count == 2 else { throw LoadError(message: "line '\(line)' is not key=value") }
            kv[String(parts[0])] = String(parts[1])
        }
        guard let id = kv["id"], let bias = Double(kv["bias"] ?? ""), let threshold = Double(kv["threshold"] ?? "") else {
            throw LoadError(message: "needs id, bias and threshold")
        }
        return FormulaBackend(id: id, bias: bias, threshold: threshold, delayMillis: Int(kv["delay_ms"] ?? "0") ?? 0)
    }

    struct LoadError: Error, CustomStringConvertible { var message: String; var description: String { message } }

    /// What the model answers for one applicant (nil = row error).
    static func expected(bias: Double, income: Double, loan: Double, home: String) -> Double? {
        guard income.isFinite, income > 0, loan.isFinite, loan >= 0 else { return nil }
        let rent = home == "RENT" ? 0.5 : 0
        if !home.isEmpty && !["RENT", "OWN", "MORTGAGE", "OTHER"].contains(home) { return nil }
        return 1 / (1 + exp(-(bias + 4 * loan / income + rent)))
    }
}

/// TEST-ONLY backend: p = sigmoid(bias + 4·loan/income + 0.5·[home == RENT]).
final class FormulaBackend: ScoringBackend {
    let info: ModelDescription
    let bias: Double
    let delayMillis: Int

    init(id: String, bias: Double, threshold: Double, delayMillis: Int) {
        info = ModelDescription(modelId: id, algorithm: "test-formula", threshold: threshold, thresholdMode: "fixed",
                                fields: TestModel.fields, metrics: [("auc", 0.75)])
        self.bias = bias
        self.delayMillis = delayMillis
    }

    final class Scratch: ScoringScratch {}
    func makeScratch(maxRows: Int) -> any ScoringScratch { Scratch() }

    func score(_ batch: borrowing ColumnarApplicants, into results: inout ScoreResults, scratch: any ScoringScratch) {
        if delayMillis > 0 { usleep(UInt32(delayMillis * 1000)) }
        let income = batch.numeric(0), loan = batch.numeric(1), home = batch.categoryCodes(2)
        for i in 0..<batch.count {
            guard income[i].isFinite, income[i] > 0 else {
                results.setError(row: i, field: "person_income", value: batch.text(field: 0, row: i), reason: "must be a positive number")
                continue
            }
            guard loan[i].isFinite, loan[i] >= 0 else {
                results.setError(row: i, field: "loan_amnt", value: batch.text(field: 1, row: i), reason: "must be a number >= 0")
                continue
            }
            guard home[i] != ColumnarApplicants.unknown else {
                results.setError(row: i, field: "person_home_ownership", value: batch.text(field: 2, row: i), reason: "not one of RENT, OWN, MORTGAGE, OTHER")
                continue
            }
            let ratio = 4 * loan[i] / income[i]
            let rent = home[i] == 0 ? 0.5 : 0
            let p = 1 / (1 + exp(-(bias + ratio + rent)))
            results.setScore(row: i, probability: p, decision: p >= info.threshold ? .refuse : .approve)
            results.addReason(row: i, field: 1, text: "loan amount is large relative to income", contribution: ratio)
            if rent > 0 { results.addReason(row: i, field: 2, text: "rents their home", contribution: rent) }
        }
    }
}

// MARK: - Daemon fixtures

/// A temporary directory (short path: Unix socket paths are limited to 107 bytes).
final class TempDir {
    let path: String
    init() {
        var template = Array("/tmp/creditd-test-XXXXXX".utf8CString)
        path = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)!) }
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }
    var socket: String { "\(path)/d.sock" }
}

var testLogger: Logger {
    var l = Logger(label: "creditd-test")
    l.logLevel = .critical
    return l
}

/// Starts a real daemon on a temporary Unix socket and an ephemeral TCP port with the
/// test model; `tweak` adjusts the configuration.
func startDaemon(_ dir: TempDir, model: String? = nil, tcp: Bool = true, _ tweak: (inout DaemonConfig) -> Void = { _ in }) throws -> Daemon {
    var config = DaemonConfig(modelPath: model ?? TestModel.write(in: dir.path, id: "model-a"),
                              listen: [.unix(path: dir.socket)] + (tcp ? [.tcp(host: "127.0.0.1", port: 0)] : []))
    config.idleTimeoutSeconds = 10
    config.drainSeconds = 10
    tweak(&config)
    return try buildDaemon(config: config, loader: TestModel.loader, logger: testLogger)
}

extension Daemon {
    var unixAddress: SocketAddress { config.listen.first { $0.isUnix }! }
    var tcpAddress: SocketAddress { .tcp(host: "127.0.0.1", port: tcpPorts[0]) }
}

/// A reproducible batch of applicants (some invalid) and the expected probabilities.
struct Applicants {
    var ids: [String] = []
    var income: [Double] = []
    var loan: [Double] = []
    var home: [String] = []

    init(count: Int, seed: UInt64, invalidEvery: Int = 0) {
        var rng = SplitMix64(seed: seed)
        let homes = ["RENT", "OWN", "MORTGAGE", "OTHER", ""]
        for i in 0..<count {
            ids.append("app-\(seed)-\(i)")
            income.append(Double(10_000 + rng.next() % 90_000))
            loan.append(Double(500 + rng.next() % 20_000))
            home.append(homes[Int(rng.next() % 5)])
            if invalidEvery > 0 && i % invalidEvery == invalidEvery - 1 {
                if i % 2 == 0 { income[i] = -5 } else { home[i] = "CASTLE" }
            }
        }
    }

    var batch: ColumnBatch {
        ColumnBatch(ids: ids, numeric: [("person_income", income), ("loan_amnt", loan)], categorical: [("person_home_ownership", home)])
    }

    func request(id: UInt64, deadline: UInt64 = 0) -> Request { Request(id: id, deadlineUnixMicros: deadline, .score(.columns(batch))) }

    func expected(bias: Double) -> [Double?] {
        (0..<ids.count).map { TestModel.expected(bias: bias, income: income[$0], loan: loan[$0], home: home[$0]) }
    }

    /// What is wrong with a Score answer for model `bias` (nil when right); usable off the
    /// test's thread.
    func problem(_ r: Response, bias: Double, modelId: String) -> String? {
        guard r.status.code == .ok, let s = r.score else { return "request \(r.requestId): \(r.status)" }
        if s.modelId != modelId { return "request \(r.requestId): model \(s.modelId), expected \(modelId)" }
        if s.ids != ids { return "request \(r.requestId): ids differ" }
        let want = expected(bias: bias)
        if s.probability.count != want.count { return "request \(r.requestId): \(s.probability.count) results for \(want.count)" }
        for (i, w) in want.enumerated() {
            if let w, abs(s.probability[i] - w) > 1e-12 { return "request \(r.requestId) applicant \(i): \(s.probability[i]) != \(w) (model \(modelId))" }
            if w == nil && !s.probability[i].isNaN { return "request \(r.requestId) applicant \(i): scored but should be a row error" }
        }
        return nil
    }

    /// Checks a Score answer against the formula for model `bias`.
    func check(_ r: Response, bias: Double, modelId: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(r.status.code == .ok, "\(r.status)", sourceLocation: sourceLocation)
        guard let s = r.score else { Issue.record("no score result", sourceLocation: sourceLocation); return }
        #expect(s.modelId == modelId, sourceLocation: sourceLocation)
        #expect(s.ids == ids, sourceLocation: sourceLocation)
        let want = expected(bias: bias)
        #expect(s.probability.count == want.count, sourceLocation: sourceLocation)
        var errorRows = [Int]()
        for (i, w) in want.enumerated() where i < s.probability.count {
            if let w {
                if abs(s.probability[i] - w) > 1e-12 {
                    Issue.record("applicant \(i): probability \(s.probability[i]) != \(w)", sourceLocation: sourceLocation)
                    return
                }
            } else {
                errorRows.append(i)
            }
        }
        #expect(s.errors.map(\.row) == errorRows, sourceLocation: sourceLocation)
    }
}

let oneApplicant = ApplicantRow(id: "solo", fields: [("person_income", .number(40_000)), ("loan_amnt", .number(8_000)), ("person_home_ownership", .text("RENT"))])
let oneApplicantProbability = TestModel.expected(bias: -2, income: 40_000, loan: 8_000, home: "RENT")!

func vmRSSKiB() -> Int {
    let text = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
    for line in text.split(separator: "\n") where line.hasPrefix("VmRSS:") {
        return Int(line.split(separator: " ", omittingEmptySubsequences: true)[1]) ?? 0
    }
    return 0
}

/// Waits until the server closes `client`'s connection; returns the seconds it took, or nil
/// if it stays open past `timeout`. Frames received meanwhile are returned too.
func waitForClose(_ client: WireTestClient, timeout: Double) -> (seconds: Double?, frames: [Response]) {
    let start = Date()
    var frames = [Response]()
    while Date().timeIntervalSince(start) < timeout {
        do {
            frames.append(try client.receive())
        } catch .closed {
            return (Date().timeIntervalSince(start), frames)
        } catch .timeout {
            continue
        } catch {
            return (Date().timeIntervalSince(start), frames)
        }
    }
    return (nil, frames)
}

/// Runs one test (`Suite/test`) in a child process of this test binary, alone, with
/// `variable` set so the test runs its body there: memory checks then read the daemon's
/// RSS, not whatever other suites hold at that moment. Expects it to pass and to print a
/// line starting with `marker`, which is printed here too.
func runAloneInChildProcess(_ test: String, variable: String, marker: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
    let exe = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path
    let (status, text) = try runCapturing(exe, ["--testing-library", "swift-testing", "--filter", test], environment: [variable: "1"])
    let tail = text.split(separator: "\n").suffix(12).joined(separator: "\n")
    #expect(status == 0, "\(test) failed in its child process:\n\(tail)", sourceLocation: sourceLocation)
    #expect(text.contains(marker), "\(test) printed no '\(marker)' line:\n\(tail)", sourceLocation: sourceLocation)
    if let line = text.split(separator: "\n").first(where: { $0.hasPrefix(marker) }) { print(line) }
}
