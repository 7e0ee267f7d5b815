import CreditData
import CreditModels
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

// Counts Swift heap allocations (`swift_allocObject`: arrays, strings, class instances,
// closure contexts, boxes) made by the calling thread, through the runtime's
// allocation hook (`_swift_allocObject`, enabled by
// `_swift_enableSwizzlingOfAllocationAndRefCountingFunctions_forInstrumentsOnly`).
// Only the thread that asked counts, so tests running in parallel do not disturb it.
// Raw `UnsafeMutablePointer.allocate` (malloc) is not counted; the session path makes
// none after `init` (all its buffers are allocated there).
typealias SwiftAllocFunction = @convention(c) (UnsafeRawPointer?, Int, Int) -> UnsafeMutableRawPointer?
nonisolated(unsafe) private var originalAllocObject: SwiftAllocFunction?
nonisolated(unsafe) private var countingThread: pthread_t = 0
nonisolated(unsafe) private var swiftAllocations = 0

private let countingAllocObject: SwiftAllocFunction = { metadata, size, alignMask in
    if pthread_equal(pthread_self(), countingThread) != 0 { swiftAllocations &+= 1 }
    return originalAllocObject!(metadata, size, alignMask)
}

enum SwiftAllocationCounter {
    /// Installs the hook once (never removed: other threads may be inside it).
    static let installed: Bool = {
        guard let slot = dlsym(nil, "_swift_allocObject"),
              let flag = dlsym(nil, "_swift_enableSwizzlingOfAllocationAndRefCountingFunctions_forInstrumentsOnly") else { return false }
        let hook = slot.assumingMemoryBound(to: Optional<SwiftAllocFunction>.self)
        originalAllocObject = hook.pointee
        guard originalAllocObject != nil else { return false }
        hook.pointee = countingAllocObject
        flag.assumingMemoryBound(to: Bool.self).pointee = true
        return true
    }()

    /// Swift heap allocations made by this thread while `body` runs.
    static func count(_ body: () -> Void) -> Int {
        precondition(installed)
        swiftAllocations = 0
        countingThread = pthread_self()
        body()
        countingThread = 0
        return swiftAllocations
    }
}

@Suite struct SessionAllocationTests {
    @Test func counterSeesAllocations() {
        #expect(SwiftAllocationCounter.installed)
        var keep: [[Int]] = []
        let n = SwiftAllocationCounter.count {
            for i in 0..<10 { keep.append([Int](repeating: i, count: 100)) }
        }
        #expect(n >= 10, "counted \(n)")
        #expect(keep.count == 10)
    }

    /// After one warm-up batch, scoring a batch (64 rows and 1 row) through the category-code
    /// path and streaming every row's reasons makes no Swift heap allocation, for each
    /// model family.
    @Test(arguments: ["logistic", "mlp", "gbdt"])
    func sessionPathAllocatesNothingAfterWarmUp(algorithm: String) throws {
        #expect(SwiftAllocationCounter.installed)
        var o = TrainingOptions()
        o.algorithm = algorithm
        o.seed = 7
        let outcome = try Trainer.train(raw: Synthetic.table(rows: 1500, seed: 99), spec: Synthetic.spec, options: o)
        let model = try ScoringModel(artifact: outcome.artifact, modelID: outcome.modelID)
        let rows = 64
        let t = Synthetic.table(rows: rows, seed: 21, missingRate: 0.05)
        let num = model.plan.numericFeatures.map { n in t.column(named: n)!.numericValues!.map { $0 ?? .nan } }
        let codes: [[Int32]] = model.plan.categoricalFeatures.map { name in
            let list = model.inputFields.first { $0.name == name }!.categories!
            return t.column(named: name)!.categoricalValues!.map { v in v.map { s in list.firstIndex(of: s).map(Int32.init) ?? -2 } ?? -1 }
        }
        let expected = try model.score(t)
        let session = model.makeSession(maxRows: rows)
        var sum = 0.0, reasons = 0, textBytes = 0
        let (batch, single) = num.withUnsafeBufferPointers { numBuffers in
            codes.withUnsafeBufferPointers { codeBuffers in
                func run(_ n: Int) {
                    session.score(numeric: numBuffers, categoryCodes: codeBuffers, rows: n)
                    for r in 0..<n {
                        sum += session.probability(r)
                        session.forEachReason(r) { f, text, c in reasons += 1; textBytes += text.utf8.count; sum += c + Double(f) }
                    }
                }
                run(rows)   // warm-up
                let batch = SwiftAllocationCounter.count { run(rows) }
                let single = SwiftAllocationCounter.count { run(1) }
                run(rows)   // leave the full batch in the session for the check below
                return (batch, single)
            }
        }
        #expect(batch == 0, "\(algorithm): \(batch) allocations for a batch of \(rows)")
        #expect(single == 0, "\(algorithm): \(single) allocations for one applicant")
        #expect(reasons > 0 && textBytes > 0 && sum.isFinite)
        // The session still answers what the table path answers.
        for r in 0..<rows {
            guard let s = expected[r].score else { continue }
            #expect(session.probability(r).bitPattern == s.probability.bitPattern)
            #expect(session.reasons(r).map(\.feature) == s.reasons.map(\.feature))
        }
    }
}
