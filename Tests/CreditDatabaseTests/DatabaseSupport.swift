import CreditData
import CreditMySQL
import CreditPostgres
import CreditTestSupport
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

enum Paths {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let spec = root.appendingPathComponent("examples/alura-cash/spec.json").path
    static let dumps = root.deletingLastPathComponent().appendingPathComponent("shared/data/alura-cash")

    static func credit() throws -> String { try builtProduct("credit") }

    static func tempDir() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("credit-db-tests-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}
