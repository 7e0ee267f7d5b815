import ArgumentParser
import CreditData
import CreditDomain
import Foundation

/// `credit profile --data URL [--query SQL|@file] --spec spec.json --out profile.html [--json profile.json]`
struct Profile: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Profile a loan book: per column counts, missing, distribution and default rates; "
            + "class balance; the cleaning report. Writes a self-contained HTML page (and JSON).",
        discussion: """
        The profile is computed on the raw values as queried (missing = NULL, '', NA), so its \
        counts agree with direct SQL counts; the cleaning report shows what the spec's rules do.
        """
    )

    @OptionGroup(title: "Data") var input: InputDataOptions

    @Option(help: "Dataset spec (JSON).")
    var spec: String

    @Option(help: "HTML page to write.")
    var out: String

    @Option(help: "Also write the numbers as JSON here.")
    var json: String?

    func run() throws {
        var spec = try DatasetSpec.load(from: self.spec)
        let table = try input.request(defaultQuery: spec.query, kinds: spec.forcedKinds).read()
        spec = try spec.resolvingKinds(with: table)
        let profile = try Profiler(spec: spec).profile(table, source: DatabaseURL.redact(input.data))
        try ProfileHTML.render(profile).write(toFile: out, atomically: true, encoding: .utf8)
        if let json { try profile.jsonData().write(to: URL(fileURLWithPath: json)) }
        var line = "profiled \(profile.rows) rows, \(profile.columns.count) columns → \(out)"
        if let json { line += " and \(json)" }
        print(line)
        if let b = profile.classBalance {
            print("labelled \(b.labelled), defaults \(b.positives)"
                + (b.defaultRate.map { String(format: " (%.1f%%)", $0 * 100) } ?? ""))
        }
    }
}
