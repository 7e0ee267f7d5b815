import CreditDomain
import CreditModels
import Foundation
import CreditTestSupport
import Testing

@Suite struct PreprocessorTests {
    let spec = DatasetSpec(name: "t", id: "id", target: TargetSpec(column: "y", positive: "1"),
                           features: [FeatureSpec(name: "x", kind: .numeric), FeatureSpec(name: "c", kind: .categorical),
                                      FeatureSpec(name: "d", kind: .categorical)])

    func table(x: [Double?], c: [String?], d: [String?]) -> DataTable {
        DataTable(columns: [.numeric("x", x), .categorical("c", c), .categorical("d", d)])
    }

    @Test func statisticsComeFromFitRowsOnly() throws {
        let base = table(x: [1, 2, nil, 4, 100, 200], c: ["a", "b", "a", nil, "z", "z"], d: ["p", "q", "p", "p", "q", "w"])
        let p1 = try Preprocessor.fit(table: base, spec: spec, rows: [0, 1, 2, 3])
        // Change only the non-fit rows: the fitted preprocessing must not move.
        let other = table(x: [1, 2, nil, 4, -5e6, nil], c: ["a", "b", "a", nil, "new", nil], d: ["p", "q", "p", "p", nil, "v"])
        let p2 = try Preprocessor.fit(table: other, spec: spec, rows: [0, 1, 2, 3])
        #expect(p1 == p2)
        let x = p1.stats(named: "x")!
        #expect(x.median == 2 && x.missing == 1 && x.rows == 4)
        #expect(abs(x.mean! - 2.25) < 1e-12)   // imputed column [1, 2, 2, 4]
        #expect(p1.stats(named: "c")!.categories == ["a", "b"])
    }

    @Test func denseEncoding() throws {
        let t = table(x: [1, 3, nil, 4], c: ["a", "b", "a", nil], d: ["p", "q", "p", "p"])
        let p = try Preprocessor.fit(table: t, spec: spec, rows: [0, 1, 2, 3])
        let cols = p.columns(.dense)
        #expect(cols.map(\.name) == ["x", "x#missing", "c=a", "c=b", "c#missing", "d=p", "d=q"])
        let scoring = table(x: [3, nil, .infinity], c: ["zzz", nil, "b"], d: [nil, "new", "q"])
        let m = try p.transform(scoring, encoding: .dense)
        let s = p.stats(named: "x")!
        #expect(abs(Double(m[0, 0]) - (3 - s.mean!) / s.std!) < 1e-6)
        #expect(m[1, 1] == 1 && m[0, 1] == 0)                   // missing indicator
        #expect(abs(Double(m[1, 0]) - (s.median! - s.mean!) / s.std!) < 1e-6)
        #expect(m[0, 2] == 0 && m[0, 3] == 0 && m[0, 4] == 0)   // unseen category → all zeros
        #expect(m[1, 4] == 1)                                   // missing with an indicator
        #expect(m[0, 5] == 1 && m[0, 6] == 0)                   // missing without indicator → mode "p"
        #expect(m[1, 5] == 0 && m[1, 6] == 0)                   // unseen
        #expect(m.values.allSatisfy { $0.isFinite })
    }

    @Test func nativeEncoding() throws {
        let t = table(x: [1, 3, nil, 4], c: ["a", "b", "a", nil], d: ["p", "q", "p", "p"])
        let p = try Preprocessor.fit(table: t, spec: spec, rows: [0, 1, 2, 3])
        #expect(p.columns(.native).map(\.kind) == [.numeric, .categorical(cardinality: 2), .categorical(cardinality: 2)])
        let m = try p.transform(table(x: [7.5, nil], c: ["b", "unseen"], d: [nil, "p"]), encoding: .native)
        #expect(m[0, 0] == 7.5 && m[1, 0].isNaN)
        #expect(m[0, 1] == 1 && m[1, 1] == 2)   // code, cardinality for unseen
        #expect(m[0, 2].isNaN && m[1, 2] == 0)
    }

    @Test func columnarPlanMatchesTableTransform() throws {
        let t = Synthetic.table(rows: 300, seed: 5)
        let cleaned = try Cleaner(spec: Synthetic.spec).clean(t, purpose: .training).table
        let p = try Preprocessor.fit(table: cleaned, spec: Synthetic.spec, rows: Array(0..<200))
        for enc in [InputEncoding.dense, .native] {
            let expected = try p.transform(cleaned, encoding: enc, rows: Array(100..<300))
            let plan = p.plan(enc)
            let num: [[Double]] = plan.numericFeatures.map { n in cleaned.column(named: n)!.numericValues!.map { $0 ?? .nan } }
            let codes: [[Int32]] = plan.categoricalFeatures.enumerated().map { k, n in
                cleaned.column(named: n)!.categoricalValues!.map { plan.code($0, categorical: k) }
            }
            var out = [Float](repeating: -1, count: 200 * plan.width)
            num.withUnsafeBufferPointers { nb in
                codes.withUnsafeBufferPointers { cb in
                    out.withUnsafeMutableBufferPointer { plan.transform(numeric: nb, categorical: cb, rows: 100..<300, into: $0) }
                }
            }
            #expect(out.elementsEqual(expected.values) { $0 == $1 || ($0.isNaN && $1.isNaN) })
        }
    }
}

extension Array {
    /// Test helper: buffers over each inner array.
    func withUnsafeBufferPointers<T, R>(_ body: ([UnsafeBufferPointer<T>]) -> R) -> R where Element == [T] {
        var bufs: [UnsafeBufferPointer<T>] = []
        func step(_ i: Int) -> R {
            if i == count { return body(bufs) }
            return self[i].withUnsafeBufferPointer { b in bufs.append(b); return step(i + 1) }
        }
        return step(0)
    }
}
