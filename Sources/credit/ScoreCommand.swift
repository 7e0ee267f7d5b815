import ArgumentParser
import CreditData
import CreditModels
import Foundation

/// `credit score`: in-process batch scoring. One output row per input row, in input order:
/// id, probability, decision, up to four reason codes, or an error message.
struct ScoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "score",
        abstract: "Score applicants with a .credit model (batch, in-process).")

    @Option(help: "Model artifact (.credit).") var model: String
    @OptionGroup(title: "Data") var input: InputDataOptions
    @OptionGroup(title: "Row selection") var ids: IDFilterOptions
    @Option(help: "Output: csv:PATH (or csv:- for standard output).") var out: String

    func validate() throws {
        guard out.hasPrefix("csv:"), out.count > 4 else { throw ValidationError("--out must be csv:PATH, got \(out)") }
    }

    func run() throws {
        let scoring = try ScoringModel(path: model)
        let spec = scoring.artifact.spec
        var table = try input.read(specQuery: spec.query)
        table = try filterRows(table, idColumn: spec.id, only: try ids.onlyIDs.map(readIDList),
                               exclude: try ids.excludeIDs.map(readIDList))
        let results = try scoring.score(table)
        var csv = "\(spec.id),probability,decision,reason_1,reason_2,reason_3,reason_4,error\n"
        var errors = 0, refused = 0
        for r in results {
            var fields = [r.id ?? ""]
            switch r.outcome {
            case .scored(let s):
                if s.refuse { refused += 1 }
                fields += ["\(s.probability)", s.refuse ? "refuse" : "approve"]
                fields += (0..<4).map { $0 < s.reasons.count ? s.reasons[$0].text : "" }
                fields.append("")
            case .error(let e):
                errors += 1
                fields += ["", "error", "", "", "", "", "\(e.field) = '\(e.value)': \(e.reason)"]
            }
            csv += fields.map(csvField).joined(separator: ",") + "\n"
        }
        let path = String(out.dropFirst(4))
        if path == "-" {
            FileHandle.standardOutput.write(Data(csv.utf8))
        } else {
            try Data(csv.utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
        }
        FileHandle.standardError.write(Data("scored \(results.count - errors) of \(results.count) rows (\(refused) refused, \(errors) errors) with model \(scoring.modelID)\n".utf8))
    }
}

/// Quotes a CSV field when it holds a comma, quote or line break.
func csvField(_ s: String) -> String {
    guard s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return s }
    return "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\""
}
