/// Calls `body(b)` for every set bit `b < limit` of the bit array `words` (bit `b` is bit
/// `b & 63` of word `b >> 6`), in ascending order.
///
/// The GBDT learner's histogram bitmaps (which bins of a wide feature may be non-zero) are
/// scanned with it per bin by both the histogram code and the split search. It lives here,
/// `@inlinable`, because debug builds compile each file of a module separately and never
/// inline a call into another file of the same module, while inlinable code of another
/// module is inlined (the per-bin closure then becomes straight-line code).
@inlinable @inline(__always)
public func forEachSetBit(_ words: UnsafePointer<UInt64>, below limit: Int, _ body: (Int) -> Void) {
    guard limit > 0 else { return }
    let nw = (limit + 63) >> 6
    for w in 0..<nw {
        var word = words[w]
        if w == nw - 1 && limit & 63 != 0 { word &= (1 << UInt64(limit & 63)) &- 1 }
        while word != 0 {
            body(w << 6 | word.trailingZeroBitCount)
            word &= word &- 1
        }
    }
}
