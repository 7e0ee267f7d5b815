import Foundation

/// Maps raw categorical values to a canonical vocabulary: exact match, then case and
/// spacing, then the nearest entry within a small Damerau–Levenshtein distance. Anything
/// else (no entry close enough, or two entries equally close) is `Cleaner.unknownCategory`.
public struct CategoryCanonicalizer: Sendable {
    public let vocabulary: [String]
    /// The largest edit distance accepted (the spec's `max_edit_distance`, default 2);
    /// never more than a third of the vocabulary word's length, so one-letter codes
    /// ("A", "Y") only match by case.
    public let maxEditDistance: Int
    private let normalized: [String]
    private let normalizedChars: [[Character]]
    /// raw → canonical for every raw value known up front (each entry and its normalized form).
    private let exact: [String: String]
    /// raw → canonical for values resolved by edit distance, so a repeated typo costs one
    /// hash lookup at scoring time too (shared by copies; bounded).
    private let learned = LearnedSpellings()

    public init(vocabulary: [String], maxEditDistance: Int = 2) {
        self.vocabulary = vocabulary
        self.maxEditDistance = maxEditDistance
        normalized = vocabulary.map(Self.normalize)
        normalizedChars = normalized.map(Array.init)
        var exact: [String: String] = [:]
        for (v, n) in zip(vocabulary, normalized) {
            exact[v] = v
            exact[n] = v
        }
        self.exact = exact
    }

    /// Case- and spacing-insensitive key: lowercased, without whitespace (Unicode White_Space,
    /// the same set as Foundation's `whitespacesAndNewlines`), '_' or '-'. Runs for every
    /// category value that is not spelled exactly like the vocabulary ("RENT" for "Rent"), so
    /// ASCII text takes a byte loop: Foundation's character sets cost microseconds a call.
    public static func normalize(_ s: String) -> String {
        var ascii = true
        let bytes = s.utf8.compactMap { b -> UInt8? in
            if b >= 0x80 { ascii = false; return b }
            if b == 0x20 || (b >= 0x09 && b <= 0x0D) || b == UInt8(ascii: "_") || b == UInt8(ascii: "-") { return nil }
            return b >= UInt8(ascii: "A") && b <= UInt8(ascii: "Z") ? b | 0x20 : b
        }
        if ascii { return String(decoding: bytes, as: UTF8.self) }
        return String(String.UnicodeScalarView(s.lowercased().unicodeScalars.filter {
            !$0.properties.isWhitespace && $0 != "_" && $0 != "-"
        }))
    }

    /// The canonical value of a non-missing raw value, or `Cleaner.unknownCategory`.
    public func canonical(_ raw: String) -> String {
        if let v = exact[raw] { return v }
        let n = Self.normalize(raw)
        if let v = exact[n] { return v }
        if let v = learned.get(n) { return v }
        let v = nearest(n)
        learned.set(n, v)
        return v
    }

    private func nearest(_ n: String) -> String {
        let chars = Array(n)
        var best = Int.max
        var bestIndex = -1
        var tie = false
        for (i, candidate) in normalizedChars.enumerated() {
            let allowed = min(maxEditDistance, candidate.count / 3)
            guard allowed > 0, abs(candidate.count - chars.count) <= allowed else { continue }
            let d = Self.editDistance(chars, candidate, limit: allowed)
            guard d <= allowed else { continue }
            if d < best {
                best = d
                bestIndex = i
                tie = false
            } else if d == best {
                tie = true
            }
        }
        guard bestIndex >= 0, !tie else { return Cleaner.unknownCategory }
        return vocabulary[bestIndex]
    }

    /// Optimal-string-alignment (restricted Damerau–Levenshtein) distance: insertions,
    /// deletions, substitutions and transpositions of adjacent characters each cost 1.
    /// Returns `limit + 1` as soon as the distance is known to exceed `limit`.
    public static func editDistance(_ a: [Character], _ b: [Character], limit: Int = .max) -> Int {
        let n = a.count, m = b.count
        if n == 0 { return m }
        if m == 0 { return n }
        var prev2 = [Int](repeating: 0, count: m + 1)
        var prev = Array(0...m)
        var cur = [Int](repeating: 0, count: m + 1)
        for i in 1...n {
            cur[0] = i
            var rowMin = cur[0]
            for j in 1...m {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                var v = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                    v = min(v, prev2[j - 2] + 1)
                }
                cur[j] = v
                rowMin = min(rowMin, v)
            }
            if rowMin > limit { return limit == .max ? rowMin : limit + 1 }
            (prev2, prev, cur) = (prev, cur, prev2)
        }
        return prev[m]
    }

    public static func editDistance(_ a: String, _ b: String) -> Int {
        editDistance(Array(a), Array(b))
    }
}

/// A small thread-safe cache of resolved spellings.
private final class LearnedSpellings: @unchecked Sendable {
    private let lock = NSLock()
    private var map: [String: String] = [:]
    private let limit = 10_000

    func get(_ key: String) -> String? {
        lock.lock(); defer { lock.unlock() }
        return map[key]
    }

    func set(_ key: String, _ value: String) {
        lock.lock(); defer { lock.unlock() }
        if map.count < limit { map[key] = value }
    }
}
