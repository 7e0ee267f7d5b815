import Foundation
import Testing

/// What a program run to completion printed, and how it ended.
public struct ProcessResult: Sendable {
    public var status: Int32
    public var stdout: String
    public var stderr: String
}

/// Runs a program to completion: the one way the tests run a tool and read its answer.
/// stdout and stderr go through files, so a chatty program cannot fill a pipe and hang; past
/// `timeout` seconds it is terminated and the test records the timeout. `directory`: where it
/// runs (default: the test's own working directory).
public func run(_ executable: String, _ arguments: [String], environment: [String: String]? = nil,
                in directory: String? = nil, timeout: TimeInterval = 300) throws -> ProcessResult {
    try launch(executable, arguments, environment: environment, directory: directory, timeout: timeout, merged: false)
}

/// Runs a program and returns its exit status and everything it printed (stdout + stderr,
/// interleaved as written).
public func runCapturing(_ executable: String, _ arguments: [String], environment: [String: String]? = nil,
                         in directory: String? = nil, timeout: TimeInterval = 300) throws -> (status: Int32, output: String) {
    let r = try launch(executable, arguments, environment: environment, directory: directory, timeout: timeout, merged: true)
    return (r.status, r.stdout)
}

/// A built product of this package (`credit`, `creditd`, ...), as users run it.
public func builtProduct(_ name: String) throws -> String {
    let path = BuiltProducts.url(name).path
    return try #require(FileManager.default.isExecutableFile(atPath: path) ? path : nil, "\(name) not built at \(path) (swift build)")
}

private func launch(_ executable: String, _ arguments: [String], environment: [String: String]?, directory: String?,
                    timeout: TimeInterval, merged: Bool) throws -> ProcessResult {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("credit-proc-\(UUID().uuidString.prefix(8))")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let out = dir.appendingPathComponent("out"), err = dir.appendingPathComponent("err")
    _ = FileManager.default.createFile(atPath: out.path, contents: nil)
    _ = FileManager.default.createFile(atPath: err.path, contents: nil)
    let p = Process()
    p.executableURL = URL(fileURLWithPath: executable)
    p.arguments = arguments
    if let directory { p.currentDirectoryURL = URL(fileURLWithPath: directory) }
    if let environment, !environment.isEmpty { p.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
    let outHandle = try FileHandle(forWritingTo: out)
    p.standardOutput = outHandle
    p.standardError = merged ? outHandle : try FileHandle(forWritingTo: err)
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
