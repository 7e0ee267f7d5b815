import CreditDomain
import CreditCore
import CreditWire
import Testing

@Suite struct CodecTests {
    static let batch = ColumnBatch(
        ids: ["a", "b", "c"],
        numeric: [("person_income", [50_000, .nan, 12.5]), ("loan_amnt", [1000, 2000, 3000])],
        categorical: [("home", ["RENT", "", "OWN"])])

    static func unpack(_ bytes: [UInt8]) -> Request? {
        bytes.withUnsafeBytes { b in
            guard let r = UnpackedRequest(b) else { return nil }
            return r.toRequest()
        }
    }

    @Test func requestsRoundTripThroughProtobufC() {
        let requests: [Request] = [
            Request(id: 1, deadlineUnixMicros: 123_456, .score(.columns(Self.batch))),
            Request(id: 2, .score(.row(ApplicantRow(id: "x", fields: [("person_income", .number(1.5)), ("home", .text("RENT"))])))),
            Request(id: 7, reasons: .none, .score(.columns(Self.batch))),
            Request(id: 8, reasons: .none, .score(.row(ApplicantRow(id: "y", fields: [("home", .text("OWN"))])))),
            Request(id: 3, .health), Request(id: 4, .modelInfo), Request(id: 5, .stats),
            Request(id: UInt64.max, .reload(path: "/tmp/model.credit")),
        ]
        for r in requests {
            #expect(Self.unpack(r.serialized()) == r)
        }
    }

    @Test func arenaUnpackMatchesMallocUnpackAndIsReused() {
        let arena = UnpackArena()
        let messages = [Request(id: 1, .score(.columns(Self.batch))), Request(id: 2, .health),
                        Request(id: 3, .score(.row(ApplicantRow(id: "r", fields: [("a", .text("X"))]))))]
        for round in 0..<300 {
            let r = messages[round % messages.count]
            let back: Request? = r.serialized().withUnsafeBytes { b in
                guard let u = UnpackedRequest(b, arena: arena) else { return nil }
                return u.toRequest()
            }
            #expect(back == r)
        }
        // A failed unpack leaves the arena usable.
        let failed = [UInt8]([0xff, 0xff]).withUnsafeBytes { UnpackedRequest($0, arena: arena) == nil }
        #expect(failed)
        let again = messages[0].serialized().withUnsafeBytes { b in UnpackedRequest(b, arena: arena)?.requestId }
        #expect(again == 1)
    }

    @Test func numericColumnsAreReadInPlace() {
        let bytes = Request(id: 9, .score(.columns(Self.batch))).serialized()
        bytes.withUnsafeBytes { b in
            let r = UnpackedRequest(b)!
            #expect(r.method == .score)
            let ok = r.withScore { view -> Bool in
                #expect(view.form == .columns)
                #expect(view.numericCount == 2 && view.categoricalCount == 1 && view.ids.count == 3)
                let (field, values) = view.numeric(0)
                #expect(String(cString: field) == "person_income")
                #expect(values[0] == 50_000 && values[1].isNaN && values[2] == 12.5)
                return true
            }
            #expect(ok == true)
        }
    }

    @Test func malformedBytesAreRejected() {
        let garbage: [[UInt8]] = [[0xff, 0xff, 0xff], [0x0a, 0x80], [0x08], [0x52, 0x05, 0x0a, 0x03]]
        for g in garbage {
            #expect(Self.unpack(g) == nil, "\(g)")
        }
        // The id is still recovered when it comes first.
        var bytes = Request(id: 300, .health).serialized()
        bytes.append(0xff)
        bytes.withUnsafeBytes { b in
            let failed = UnpackedRequest(b) == nil
            #expect(failed)
            #expect(UnpackedRequest.peekRequestId(b) == 300)
        }
    }

    @Test func responsesRoundTrip() throws {
        var info = ModelDescription(modelId: "m1", algorithm: "logistic", threshold: 0.3, thresholdMode: "max-f1",
                                    fields: [SchemaField(name: "a", kind: .numeric), SchemaField(name: "b", kind: .categorical, categories: ["X", "Y"])],
                                    metrics: [("auc", 0.91), ("ks", 0.6)])
        let infoBack = try Response(decoding: Response(id: 7, status: .ok, result: .modelInfo(info)).serialized())
        #expect(infoBack.requestId == 7 && infoBack.modelInfo == info)
        info.modelId = "other"
        #expect(infoBack.modelInfo != info)

        let health = try Response(decoding: Response(id: 8, status: .ok, result: .health(Health(live: true, ready: false, modelId: ""))).serialized())
        #expect(health.health == Health(live: true, ready: false, modelId: ""))

        var stats = StatsSnapshot()
        stats.requests = 10
        stats.rowsScored = 99
        stats.byCode = [.ok: 8, .invalidArgument: 2]
        stats.latency.p50Micros = 12.5
        let statsBack = try Response(decoding: Response(id: 9, status: .ok, result: .stats(stats)).serialized())
        #expect(statsBack.stats == stats)

        let err = try Response(decoding: Response(id: 10, status: Status(.deadlineExceeded, "late")).serialized())
        #expect(err.status == Status(.deadlineExceeded, "late") && err.result == nil)
    }

    @Test func scoreFastPathEncodesResults() throws {
        var results = ScoreResults()
        results.reset(count: 3)
        results.setScore(row: 0, probability: 0.1, decision: .approve)
        results.addReason(row: 0, field: 1, text: "high loan", contribution: 0.7)
        results.setError(row: 1, field: "a", value: "-1", reason: "must be positive")
        results.setScore(row: 2, probability: 0.9, decision: .refuse)
        for k in 0..<6 { results.addReason(row: 2, field: 0, text: "r\(k)", contribution: Double(k)) }
        let names = CStringTable(["a", "b"])
        let modelId = CStringTable(["model-7"])
        let ids = CStringTable(["x", "y", "z"])
        let idPointers: [UnsafeMutablePointer<CChar>?] = (0..<3).map { ids[$0] }
        let encoder = ResponseEncoder()
        let framed = idPointers.withUnsafeBufferPointer { idBuf in
            [UInt8](encoder.encodeScore(requestId: 5, modelId: modelId[0], ids: idBuf, results: results, fieldNames: names))
        }
        let r = try Response(decoding: Array(framed.dropFirst(4)))
        let s = try #require(r.score)
        #expect(r.requestId == 5 && r.status.code == .ok)
        #expect(s.modelId == "model-7" && s.ids == ["x", "y", "z"])
        #expect(s.probability[0] == 0.1 && s.probability[1].isNaN && s.probability[2] == 0.9)
        #expect(s.decision == [.approve, .unspecified, .refuse])
        #expect(s.reasons[0] == [Reason(feature: "b", text: "high loan", contribution: 0.7)])
        #expect(s.reasons[1].isEmpty)
        #expect(s.reasons[2].count == ScoreResults.maxReasons && s.reasons[2].map(\.text) == ["r0", "r1", "r2", "r3"])
        #expect(s.errors == [RowError(row: 1, field: "a", value: "-1", reason: "must be positive")])
    }

    /// In-process fuzz of the unpack path (the socket-level fuzz is in CreditServerTests).
    @Test func unpackSurvivesMutations() {
        var rng = SplitMix64(seed: 7)
        let seeds = [Request(id: 1, .score(.columns(Self.batch))).serialized(),
                     Request(id: 2, .score(.row(ApplicantRow(id: "x", fields: [("a", .number(1)), ("b", .text("Y"))])))).serialized(),
                     Request(id: 3, .reload(path: "/x")).serialized()]
        var decoded = 0
        for _ in 0..<20_000 {
            var b = seeds[Int(rng.next() % 3)]
            for _ in 0..<(1 + Int(rng.next() % 4)) {
                switch rng.next() % 3 {
                case 0: b[Int(rng.next() % UInt64(b.count))] = UInt8(truncatingIfNeeded: rng.next())
                case 1: b = Array(b.prefix(Int(rng.next() % UInt64(b.count + 1))))
                default: b.insert(UInt8(truncatingIfNeeded: rng.next()), at: Int(rng.next() % UInt64(b.count + 1)))
                }
                if b.isEmpty { b = [0] }
            }
            if Self.unpack(b) != nil { decoded += 1 }
        }
        #expect(decoded > 0 && decoded < 20_000)
    }
}
