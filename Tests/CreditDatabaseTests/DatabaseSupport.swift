import CreditData
import CreditMySQL
import CreditPostgres
import Foundation
import Testing

/// The throwaway servers of `scripts/databases.sh up DIR` (CREDIT_TEST_POSTGRES_URL,
/// CREDIT_TEST_MYSQL_URL). Under CI (`CI` or `CREDIT_CI` set, as `.ci/run` does) a missing
/// URL fails the tests that need it; on a workstation without servers they are not run.
enum Servers {
    static let env = ProcessInfo.processInfo.environment
    static var inCI: Bool { env["CI"].map { !$0.isEmpty && $0 != "0" } == true || env["CREDIT_CI"] != nil }
    /// Whether the database tests run: the servers are there, or CI demands them.
    static var enabled: Bool { inCI || (env["CREDIT_TEST_POSTGRES_URL"] != nil && env["CREDIT_TEST_MYSQL_URL"] != nil) }

    /// The drivers registered once, as `credit` registers them.
    private static let registered: Void = {
        PostgresDriver.register()
        MySQLDriver.register()
    }()

    static func url(_ name: String) throws -> String {
        _ = registered
        return try #require(env[name].flatMap { $0.isEmpty ? nil : $0 },
                     "\(name) is not set: start the servers with `eval \"$(bash scripts/databases.sh up DIR)\"`")
    }
    static func postgres() throws -> String { try url("CREDIT_TEST_POSTGRES_URL") }
    static func mysql() throws -> String { try url("CREDIT_TEST_MYSQL_URL") }

    /// The password in a URL (the secret the tests look for in every output).
    static func password(of location: String) throws -> String {
        try #require(try DatabaseURL(location).password, "the test URL has no password")
    }

    /// The same server, another database.
    static func with(database: String, _ location: String) throws -> String {
        let cut = try #require(location.range(of: "/", options: .backwards))
        return location[..<cut.lowerBound] + "/" + database
    }
}

struct ProcessResult {
    var status: Int32
    var stdout: String
    var stderr: String
}

/// Runs a program to completion; stdout and stderr go through files (no pipe deadlocks).
func run(_ executable: String, _ arguments: [String], environment: [String: String]? = nil, timeout: TimeInterval = 300) throws -> ProcessResult {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("credit-db-proc-\(UUID().uuidString.prefix(8))")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let out = dir.appendingPathComponent("out"), err = dir.appendingPathComponent("err")
    _ = FileManager.default.createFile(atPath: out.path, contents: nil)
    _ = FileManager.default.createFile(atPath: err.path, contents: nil)
    let p = Process()
    p.executableURL = URL(fileURLWithPath: executable)
    p.arguments = arguments
    if let environment { p.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
    p.standardOutput = try FileHandle(forWritingTo: out)
    p.standardError = try FileHandle(forWritingTo: err)
    try p.run()
    let deadline = Date().addingTimeInterval(timeout)
    while p.isRunning && Date() < deadline { usleep(20_000) }
    if p.isRunning {
        p.terminate()
        Issue.record("\(executable) \(arguments.first ?? "") timed out after \(timeout) s")
    }
    p.waitUntilExit()
    return ProcessResult(status: p.terminationStatus,
                         stdout: (try? String(contentsOf: out, encoding: .utf8)) ?? "",
                         stderr: (try? String(contentsOf: err, encoding: .utf8)) ?? "")
}

enum Paths {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let spec = root.appendingPathComponent("examples/alura-cash/spec.json").path
    static let dumps = root.deletingLastPathComponent().appendingPathComponent("shared/data/alura-cash")

    static func credit() throws -> String {
        let exe = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        let candidates = [exe.deletingLastPathComponent().appendingPathComponent("credit").path,
                          root.appendingPathComponent(".build/debug/credit").path]
        return try #require(candidates.first { FileManager.default.isExecutableFile(atPath: $0) }, "credit binary not found")
    }

    static func tempDir() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("credit-db-tests-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}
