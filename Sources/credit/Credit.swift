import ArgumentParser
import CreditMySQL
import CreditPostgres

/// `credit`: the credit-risk tool. One command tree; each subcommand lives in its own file.
@main
struct Credit: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "credit",
        abstract: "Restore, clean, profile and model a loan book; score applicants.",
        subcommands: [DB.self, Synth.self, Profile.self, TrainCommand.self, EvaluateCommand.self, ScoreCommand.self, KeysCommand.self, ReportCommand.self]
    )

    /// The server drivers register their schemes here, at the edge: only `credit` links them.
    static func main() {
        PostgresDriver.register()
        MySQLDriver.register()
        Self.main(nil)
    }
}
