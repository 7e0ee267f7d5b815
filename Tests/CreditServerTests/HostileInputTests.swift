import CreditCore
import CreditDomain
import CreditNet
import CreditServer
import CreditTestSupport
import CreditWire
import Foundation
import Logging
import CreditService
import Testing

/// Hand-built protobuf bytes: what a hostile or broken client can send that protobuf-c's
/// packer (C strings) cannot express.
enum Proto {
    static func varint(_ v: UInt64) -> [UInt8] {
        var v = v, out: [UInt8] = []
        while v >= 0x80 { out.append(UInt8(v & 0x7f) | 0x80); v >>= 7 }
        out.append(UInt8(v))
        return out
    }
    static func field(_ n: Int, _ bytes: [UInt8]) -> [UInt8] { varint(UInt64(n << 3 | 2)) + varint(UInt64(bytes.count)) + bytes }
    static func uint(_ n: Int, _ v: UInt64) -> [UInt8] { varint(UInt64(n << 3)) + varint(v) }
    static func packedDoubles(_ n: Int, _ xs: [Double]) -> [UInt8] {
        field(n, xs.flatMap { x in withUnsafeBytes(of: x.bitPattern.littleEndian) { Array($0) } })
    }
    /// A columnar Score request: ids, numeric columns, categorical columns of raw bytes.
    static func score(id: UInt64, ids: [[UInt8]], numeric: [(String, [Double])], categorical: [(String, [[UInt8]])]) -> [UInt8] {
        var columns: [UInt8] = ids.flatMap { field(1, $0) }
        for (name, xs) in numeric { columns += field(2, field(1, Array(name.utf8)) + packedDoubles(2, xs)) }
        for (name, vs) in categorical { columns += field(3, field(1, Array(name.utf8)) + vs.flatMap { field(2, $0) }) }
        return uint(1, id) + field(10, field(1, columns))
    }
}

@Suite struct HostileInputTests {
    static let homes: [[UInt8]] = [Array("RENT".utf8), Array("RENT\0junk".utf8), [0x4F, 0xFF, 0x4E], Array("OWN".utf8)]

    /// A NUL inside a category or invalid UTF-8 is that applicant's row error; the others are
    /// scored; the answer's strings are all valid UTF-8 (escaped value).
    @Test func categoryValuesThatAreNotTextAreRowErrors() throws {
        let dir = TempDir()
        let daemon = try startDaemon(dir, tcp: false)
        defer { daemon.stop() }
        let client = try WireTestClient(daemon.unixAddress)
        let ids = (0..<4).map { Array("a\($0)".utf8) }
        try client.sendRaw(Frame.encode(Proto.score(id: 7, ids: ids, numeric: [("person_income", [40_000, 40_000, 40_000, 40_000]),
                                                                              ("loan_amnt", [8_000, 8_000, 8_000, 8_000])],
                                                      categorical: [("person_home_ownership", Self.homes)])))
        let frame = try client.receiveFrame()
        let r = try Response(decoding: frame)
        let s = try #require(r.score, "\(r.status)")
        #expect(s.errors.map(\.row) == [1, 2])
        #expect(s.errors[0].field == "person_home_ownership" && s.errors[0].value == "RENT\\x00junk" && s.errors[0].reason == "value contains a NUL byte")
        #expect(s.errors[1].value == "O\\xFFN" && s.errors[1].reason == "value is not valid UTF-8")
        #expect(s.probability[0] == oneApplicantProbability)
        #expect(s.probability[1].isNaN && s.probability[2].isNaN && !s.probability[3].isNaN)
        for e in s.errors { #expect(!e.value.unicodeScalars.contains { $0.value < 0x20 }) }
    }

    /// Ids, field names and Reload paths that are not text make the request INVALID_ARGUMENT.
    @Test func idsAndNamesThatAreNotTextAreInvalidArguments() throws {
        let dir = TempDir()
        let daemon = try startDaemon(dir, tcp: false) { $0.maxProtocolErrors = 10 }
        defer { daemon.stop() }
        let client = try WireTestClient(daemon.unixAddress)
        let cases: [([UInt8], String)] = [
            (Proto.score(id: 1, ids: [Array("ok".utf8), Array("abc\0def".utf8)], numeric: [("loan_amnt", [1, 2])], categorical: []), "request ids[1] contains a NUL byte"),
            (Proto.score(id: 2, ids: [[0xC3, 0x28]], numeric: [("loan_amnt", [1])], categorical: []), "request ids[0] is not valid UTF-8"),
            (Proto.score(id: 3, ids: [], numeric: [("loan\0amnt", [1])], categorical: []), "request field name contains a NUL byte"),
            (Proto.uint(1, 4) + Proto.field(14, Proto.field(1, Array("/tmp/x\n model=FORGED".utf8) + [0xFF])), "request reload path is not valid UTF-8"),
        ]
        for (bytes, message) in cases {
            try client.sendRaw(Frame.encode(bytes))
            let r = try client.receive()
            #expect(r.status.code == .invalidArgument && r.status.message == message, "\(r.status)")
        }
        // The connection still serves.
        #expect(try client.call(Request(id: 9, .health)).health?.ready == true)
    }

    /// A frame of empty sub-messages is refused before protobuf-c allocates for them.
    @Test func elementBombIsRefusedBeforeUnpacking() throws {
        let dir = TempDir()
        let daemon = try startDaemon(dir, tcp: false) { $0.maxApplicants = 100 }
        defer { daemon.stop() }
        let client = try WireTestClient(daemon.unixAddress)
        // 200,000 empty NumericColumn messages: 400 KB on the wire.
        let empties: [UInt8] = (0..<400_000).map { $0 % 2 == 0 ? 0x12 : 0x00 }
        try client.sendRaw(Frame.encode(Proto.uint(1, 5) + Proto.field(10, Proto.field(1, empties))))
        let r = try client.receive()
        #expect(r.requestId == 5 && r.status.code == .resourceExhausted, "\(r.status)")
        #expect(r.status.message.contains("elements"))
        // Unknown fields count too.
        let unknown = (0..<10_000).flatMap { _ in Proto.field(99, []) }
        try client.sendRaw(Frame.encode(Proto.uint(1, 6) + unknown))
        #expect(try client.receive().status.code == .resourceExhausted)
        #expect(try client.call(Request(id: 9, .health)).health?.ready == true)
    }

    @Test func scanCountsWhatUnpackAllocates() {
        let ok = Proto.score(id: 1, ids: [[0x61], [0x62]], numeric: [("x", [1, 2])], categorical: [("c", [[0x61], [0x62]])])
        let scan = ok.withUnsafeBytes { RequestScan($0, elementLimit: 1000) }
        // score, columns (2); ids: 2 + their array (3); numeric: column + the columns array + name + values array (4);
        // categorical: column + the columns array + name + 2 values + values array (6)
        #expect(scan.elements == 15)
        #expect(scan.problem == nil && scan.badValues.isEmpty && !scan.malformed)
        let truncated = Array(ok.dropLast(3))
        #expect(truncated.withUnsafeBytes { RequestScan($0, elementLimit: 1000) }.malformed)
    }
}

/// Client-supplied text never starts a new log line.
@Suite struct LogInjectionTests {
    final class Lines: @unchecked Sendable {
        let lock = NSLock()
        var text = ""
        func add(_ s: String) { lock.lock(); text += s; lock.unlock() }
    }

    @Test func controlCharactersInClientValuesAreEscaped() throws {
        let dir = TempDir()
        let lines = Lines()
        var logger = Logger(label: "creditd") { label in EscapingLogHandler(label: label) { lines.add($0) } }
        logger.logLevel = .debug
        var config = DaemonConfig(modelPath: TestModel.write(in: dir.path, id: "m"), listen: [.unix(path: dir.socket)])
        config.idleTimeoutSeconds = 10
        let daemon = try buildDaemon(config: config, loader: TestModel.loader, logger: logger)
        defer { daemon.stop() }
        let client = try WireTestClient(daemon.unixAddress)
        let forged = "/nope\n2026-12-04T00:00:00.000Z notice creditd: model loaded model=FORGED\r\u{1B}[2J\u{85}\u{2028}end"
        let r = try client.call(Request(id: 1, .reload(path: forged)))
        #expect(r.status.code == .internal)
        daemon.stop()
        let logged = lines.lock.withLock { lines.text }
        let all = logged.split(separator: "\n", omittingEmptySubsequences: true)
        #expect(!all.isEmpty)
        for line in all {
            // Every line is one event the daemon wrote: timestamp, level, label.
            #expect(line.range(of: #"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z [a-z]+ creditd: "#, options: .regularExpression) != nil, "\(line)")
            #expect(!line.unicodeScalars.contains { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) || $0.value == 0x2028 })
        }
        #expect(logged.contains(#"\n2026-12-04T00:00:00.000Z notice creditd: model loaded model=FORGED\r\u{1b}[2J\u{85}\u{2028}end"#))
        #expect(!all.contains { $0.contains("model loaded") && $0.contains("model=FORGED") && !$0.contains("load failed") })
    }
}
