import CreditData
import Foundation

/// `credit score`'s progress: on a terminal, one line redrawn at most ten times a second with
/// the rows done, rows per second and, when the total is known, a bar and the time left; off a
/// terminal nothing until the summary line, which is always written (stderr).
///
/// The total comes from `SELECT COUNT(*)` over the query (`DataRequest.count()`), run on its
/// own connection in the background and only on a terminal, so it never delays the first row
/// and costs nothing in batch jobs. Sources without a cheap count (CSV, id filters) give no ETA.
final class ScoreProgress: @unchecked Sendable {
    let tty: Bool
    private let lock = NSLock()
    private var total: Int?
    private var done = 0
    private let started = ContinuousClock.now
    private var lastDraw: ContinuousClock.Instant?
    private var drawn = false
    /// Signalled when the background count ends (found or failed).
    private let counted = DispatchSemaphore(value: 0)
    private var counting = false

    init(tty: Bool = isatty(STDERR_FILENO) == 1) { self.tty = tty }

    /// Starts counting the request's rows in the background (terminals only), less `skip`
    /// (`--start-row`).
    func countInBackground(_ request: DataRequest, skip: Int) {
        guard tty else { return }
        counting = true
        Thread.detachNewThread { [self] in
            defer { counted.signal() }
            guard let n = try? request.count() else { return }
            lock.withLock { total = max(0, n - skip) }
        }
    }

    var seconds: Double {
        let d = ContinuousClock.now - started
        return Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }

    func advance(_ rows: Int) {
        guard tty else { return }
        let line: String? = lock.withLock {
            done += rows
            let now = ContinuousClock.now
            if let lastDraw, now - lastDraw < .milliseconds(100) { return nil }
            lastDraw = now
            drawn = true
            return Self.line(done: done, total: total, seconds: seconds)
        }
        if let line { FileHandle.standardError.write(Data(("\r\u{1B}[K" + line).utf8)) }
    }

    /// "[#####-----] 12000/50000 rows  9,800 rows/s  ETA 0:04", or without a total
    /// "12000 rows  9,800 rows/s".
    static func line(done: Int, total: Int?, seconds: Double) -> String {
        let rate = Double(done) / max(seconds, 1e-6)
        var s = "\(done) rows  \(Int(rate)) rows/s"
        if let total, total > 0 {
            let fraction = min(1, Double(done) / Double(total))
            let width = 30, filled = Int(fraction * Double(width))
            let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
            let left = rate > 0 ? Int((Double(max(0, total - done)) / rate).rounded()) : 0
            s = "[\(bar)] \(done)/\(total) rows  \(Int(rate)) rows/s  ETA \(left / 60):" + String(format: "%02d", left % 60)
        }
        return s
    }

    /// Ends the redrawn line and writes the summary: rows, refused, errors, time, rate, model(s).
    func summary(_ w: ScoreWriter, via: String? = nil) {
        let t = seconds
        // A run that ends before its COUNT(*) (a small or fast book, a loaded machine) still
        // shows the total on its last line: wait a little for the count.
        if tty && counting { _ = counted.wait(timeout: .now() + 5) }
        if tty {   // the last state of the line, then the summary under it
            let line = lock.withLock { drawn = true; return Self.line(done: done, total: total, seconds: t) }
            FileHandle.standardError.write(Data(("\r\u{1B}[K" + line).utf8))
        }
        let wasDrawn = lock.withLock { drawn }
        let rate = t > 0 ? Int(Double(w.rows) / t) : 0
        var line = (wasDrawn ? "\n" : "") + "scored \(w.rows - w.errors) of \(w.rows) rows (\(w.refused) refused, \(w.errors) errors) "
            + "in \(String(format: "%.2f", t)) s (\(rate) rows/s)"
        if let via { line += " via \(via)" }
        line += w.models.count == 1 ? ", model \(w.models[0])" : w.models.isEmpty ? "" : ", models \(w.models.joined(separator: ", "))"
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }

    /// Ends a redrawn line before an error message.
    func interrupt() {
        if lock.withLock({ drawn }) { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}
