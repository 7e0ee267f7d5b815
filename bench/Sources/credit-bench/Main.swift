import CreditDomain
import ArgumentParser

/// `credit-bench`: the benchmark driver behind `bench/run.sh` (see bench/README.md).
@main struct CreditBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "credit-bench",
        abstract: "Benchmarks of creditd, the matrix core and the models (bench/README.md).",
        subcommands: [ServeCommand.self, KernelsCommand.self, ReportCommand.self])
}
