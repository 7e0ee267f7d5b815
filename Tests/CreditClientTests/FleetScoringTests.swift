import CreditClient
import CreditNet
import CreditTestSupport
import Foundation
import Testing

/// `credit score --connect` over several daemons (docs/data.md, "Streaming score"): two real
/// creditd processes, the addresses as one comma-separated list or repeated; the batches are
/// spread over both (each scores a share), and the output is exactly the in-process one.
@Suite(.serialized) struct FleetScoringTests {
    @Test func batchesAreSpreadOverSeveralDaemons() async throws {
        let f = try ClientTests.fixture()
        let book = "\(f.dir)/fleet.csv"
        try ClientTests.run("credit", ["synth", "--rows", "12000", "--seed", "23", "--out", "csv:\(book)"])
        try ClientTests.run("credit", ["score", "--model", f.model, "--data", "csv:\(book)", "--out", "csv:\(f.dir)/fleet-inproc.csv"])
        let sockets = ["\(f.dir)/fa.sock", "\(f.dir)/fb.sock"]
        var daemons: [CreditdProcess] = []
        defer { for d in daemons where d.isRunning { d.terminate(); d.waitUntilExit() } }
        for s in sockets { daemons.append(try await ClientTests.startDaemon(model: f.model, socket: s)) }

        // One list in the address grammar.
        let log = try ClientTests.run("credit", ["score", "--connect", sockets.map { "unix:\($0)" }.joined(separator: ","),
                                                 "--data", "csv:\(book)", "--out", "csv:\(f.dir)/fleet-daemons.csv",
                                                 "--batch-size", "100", "--in-flight", "2"])
        let expected = try String(contentsOfFile: "\(f.dir)/fleet-inproc.csv", encoding: .utf8)
        #expect(try String(contentsOfFile: "\(f.dir)/fleet-daemons.csv", encoding: .utf8) == expected, "\(log)")
        var scored: [UInt64] = []
        for s in sockets {
            let c = DaemonClient(.unix(path: s))
            scored.append(try await c.stats().rowsScored)
            c.close()
        }
        // 11,999 rows, a few of them refused locally (no id): each daemon took a real share.
        #expect(scored.reduce(0, +) > 11_000 && scored.reduce(0, +) <= 11_999, "\(scored)")
        #expect(scored.allSatisfy { $0 >= 2_000 }, "the batches should be spread: \(scored)")

        // Repeated --connect, one daemon stopped: its batches go to the other; same output.
        daemons[1].terminate()
        daemons[1].waitUntilExit()
        _ = try ClientTests.run("credit", ["score", "--connect", "unix:\(sockets[0])", "--connect", "unix:\(sockets[1])",
                                           "--data", "csv:\(book)", "--out", "csv:\(f.dir)/fleet-one.csv",
                                           "--batch-size", "500", "--reconnect-seconds", "0.3"])
        #expect(try String(contentsOfFile: "\(f.dir)/fleet-one.csv", encoding: .utf8) == expected)

        // A bad list is refused before anything is read.
        #expect(throws: (any Error).self) {
            try ClientTests.run("credit", ["score", "--connect", "unix:\(sockets[0]),,tcp:1", "--data", "csv:\(book)", "--out", "csv:\(f.dir)/x.csv"])
        }
    }
}
