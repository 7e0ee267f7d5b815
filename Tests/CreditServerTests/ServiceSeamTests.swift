import CreditCore
import CreditDomain
import CreditNet
import CreditServer
import CreditService
import CreditTestSupport
import CreditWire
import Foundation
import Logging
import MetricsTestKit
import Testing

/// The seam a second face (HTTP/JSON, Prometheus) builds on: the scoring service works with
/// no protobuf in sight, shares its model slot with the protobuf face, and reports through
/// swift-metrics.
@Suite struct ServiceSeamTests {
    static func bytes<R>(_ s: String, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        var s = s
        return try s.withUTF8 { try body(UnsafeRawBufferPointer($0)) }
    }

    @Test func serviceScoresSwiftValuesWithoutTheWire() throws {
        let dir = TempDir()
        let service = ScoringService(config: ServiceConfig(maxApplicants: 100), loader: TestModel.loader, logger: testLogger)
        try service.load(path: TestModel.write(in: dir.path, id: "svc"), trigger: "test")
        let model = try service.modelForScoring().get()
        let apps = Applicants(count: 40, seed: 9, invalidEvery: 7)
        let scorer = service.makeScorer()
        #expect(scorer.begin(model: model, count: apps.ids.count, reasons: .full) == nil)
        let income = try Self.bytes("person_income") { try scorer.field(named: $0).get() }
        let loan = try Self.bytes("loan_amnt") { try scorer.field(named: $0).get() }
        let home = try Self.bytes("person_home_ownership") { try scorer.field(named: $0).get() }
        let homes = apps.home   // Swift strings, as a JSON face would hold them
        let statuses: [Status?] = apps.income.withUnsafeBufferPointer { i in
            apps.loan.withUnsafeBufferPointer { l in
                [scorer.bindNumeric(income, i), scorer.bindNumeric(loan, l),
                 scorer.bindCategorical(home, strings: homes.map { Optional($0) }), scorer.score()]
            }
        }
        #expect(statuses.allSatisfy { $0 == nil }, "\(statuses)")
        let r = scorer.results
        for (i, want) in apps.expected(bias: -2).enumerated() {
            if let want { #expect(r.probability[i] == want) } else { #expect(r.errors.contains { $0.row == i }) }
        }
        // The unknown category's raw text reaches the backend (and so the row error).
        let castle = try #require(r.errors.first { $0.field == "person_home_ownership" })
        #expect(castle.value == "CASTLE")
    }

    @Test func validationSpeaksTheSameWordsForEveryFace() throws {
        let dir = TempDir()
        let service = ScoringService(config: ServiceConfig(maxApplicants: 3), loader: TestModel.loader, logger: testLogger)
        try service.load(path: TestModel.write(in: dir.path, id: "svc"), trigger: "test")
        let model = try service.modelForScoring().get()
        let scorer = service.makeScorer()
        #expect(scorer.begin(model: model, count: 4, reasons: .full)?.message == "4 applicants in one request; the limit is 3")
        #expect(scorer.begin(model: model, count: 0, reasons: .full)?.code == .invalidArgument)
        #expect(scorer.begin(model: model, count: 2, reasons: .full) == nil)
        let unknown = Self.bytes("no_such") { scorer.field(named: $0) }
        guard case .failure(let s) = unknown else { Issue.record("unknown field accepted"); return }
        #expect(s.message.hasPrefix("unknown field 'no_such'; model svc takes: person_income, loan_amnt"))
        let values = [1.0, 2.0, 3.0]
        values.withUnsafeBufferPointer { v in
            #expect(scorer.bindNumeric(0, UnsafeBufferPointer(rebasing: v[0..<3]))?.message == "numeric column 'person_income' has 3 values for 2 applicants")
            #expect(scorer.bindNumeric(2, UnsafeBufferPointer(rebasing: v[0..<2]))?.message == "field 'person_home_ownership' is categorical; send it as a categorical column")
            #expect(scorer.bindNumeric(0, UnsafeBufferPointer(rebasing: v[0..<2])) == nil)
            #expect(scorer.bindNumeric(0, UnsafeBufferPointer(rebasing: v[0..<2]))?.message == "field 'person_income' is sent twice")
        }
        #expect(service.checkDeadline(SystemClock.unixMicros() - 1_000_000)?.code == .deadlineExceeded)
        #expect(service.checkDeadline(0) == nil)
    }

    /// A face built on an existing service shares its slot: a load through the service is
    /// what the protobuf face serves next; and every request is counted through
    /// swift-metrics with its face, method and code.
    @Test func facesShareTheSlotAndReportThroughSwiftMetrics() async throws {
        let dir = TempDir()
        let metrics = TestMetrics()
        var sc = ServiceConfig(modelPath: nil, maxApplicants: 100)
        sc.metricsFactory = metrics
        let service = ScoringService(config: sc, loader: TestModel.loader, logger: testLogger)
        try service.load(path: TestModel.write(in: dir.path, id: "first"), trigger: "test")
        let daemon = try buildDaemon(config: DaemonConfig(listen: [.unix(path: dir.socket)]), service: service)
        defer { daemon.stop() }
        let client = try WireTestClient(daemon.unixAddress)
        #expect(try client.call(Request(id: 1, .health)).health?.modelId == "first")
        try service.load(path: TestModel.write(in: dir.path, id: "second"), trigger: "test")
        #expect(try client.call(Request(id: 2, .health)).health?.modelId == "second")
        let apps = Applicants(count: 10, seed: 3, invalidEvery: 4)
        let r = try client.call(apps.request(id: 3))
        apps.check(r, bias: -2, modelId: "second")
        _ = try client.call(Request(id: 4, .reload(path: "")))    // INVALID_ARGUMENT: no path

        #expect(metrics.counterTotal(label: "credit_requests_total", dimensions: [("face", "protobuf"), ("method", "health"), ("code", "OK")]) == 2)
        #expect(metrics.counterTotal(label: "credit_requests_total", dimensions: [("face", "protobuf"), ("method", "score"), ("code", "OK")]) == 1)
        #expect(metrics.counterTotal(label: "credit_requests_total", dimensions: [("face", "protobuf"), ("method", "reload"), ("code", "INVALID_ARGUMENT")]) == 1)
        let errors = r.score!.errors.count
        #expect(metrics.counterTotal(label: "credit_rows_scored_total") == Int64(10 - errors))
        #expect(metrics.counterTotal(label: "credit_row_errors_total") == Int64(errors))
        let refused = r.score!.decision.filter { $0 == Decision.refuse }.count
        #expect(metrics.counterTotal(label: "credit_decisions_total", dimensions: [("face", "protobuf"), ("decision", "refuse")]) == Int64(refused))
        #expect(metrics.counterTotal(label: "credit_model_loads_total", dimensions: [("outcome", "ok")]) == 2)
        #expect(try metrics.expectGauge("credit_model_info", [("model_id", "second"), ("algorithm", "test-formula")]).lastValue == 1)
        #expect(try metrics.expectGauge("credit_model_info", [("model_id", "first"), ("algorithm", "test-formula")]).lastValue == 0)
        #expect(metrics.counterTotal(label: "credit_connections_total") == 1)
        #expect(try metrics.expectTimer("credit_request_duration_seconds", [("face", "protobuf"), ("method", "score")]).values.count == 1)
        // The Stats method sees the same requests (all faces together).
        #expect(service.statsSnapshot().requests == 4)
    }
}

/// The one address grammar.
@Suite struct AddressTests {
    @Test func grammar() throws {
        #expect(try SocketAddress(parsing: "unix:/run/c.sock") == .unix(path: "/run/c.sock"))
        #expect(try SocketAddress(parsing: "tcp:7700") == .tcp(host: "127.0.0.1", port: 7700))
        #expect(try SocketAddress(parsing: "tcp:db.example:80") == .tcp(host: "db.example", port: 80))
        #expect(try SocketAddress(parsing: "tcp:[::1]:0") == .tcp(host: "::1", port: 0))
        #expect(try SocketAddress(parsing: "tcp:[::1]:9").description == "tcp:[::1]:9")
        for bad in ["unix:", "tcp:", "tcp:host:99999", "tcp:::1:80", "tcp:[::1]80", "http://x", "tcp:[::1:80"] {
            #expect(throws: SocketError.self, "\(bad)") { try SocketAddress(parsing: bad) }
        }
        do { _ = try SocketAddress(parsing: "tcp:::1:80") } catch {
            #expect(error.description.contains("brackets"))
        }
    }

    /// Names are resolved and IPv6 works on both ends (the daemon listens, the client
    /// library connects).
    @Test func daemonListensOnNamesAndIPv6() async throws {
        let dir = TempDir()
        let daemon = try startDaemon(dir, tcp: false) { $0.listen += [.tcp(host: "localhost", port: 0), .tcp(host: "::1", port: 0)] }
        defer { daemon.stop() }
        #expect(daemon.tcpPorts.count == 2)
        for (host, port) in [("localhost", daemon.tcpPorts[0]), ("::1", daemon.tcpPorts[1])] {
            let client = try WireTestClient(.tcp(host: host, port: port))
            #expect(try client.call(Request(id: 1, .health)).health?.ready == true, "\(host)")
        }
        #expect(throws: SocketError.self) { try Sockets.connect(.tcp(host: "no-such-host.invalid", port: 1)) }
    }
}
