import Foundation
import Testing

/// The package's shape, checked: what each target imports is what Package.swift declares,
/// the daemon and the model/service layers never link a file-format driver, and no source
/// file outgrows one sitting. Reads `swift package describe --type json`.
@Suite struct ManifestTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    struct Target: Decodable {
        var name: String
        var path: String
        var type: String
        var module_type: String
        var sources: [String]
        var target_dependencies: [String]?
        var product_dependencies: [String]?
        var deps: Set<String> { Set((target_dependencies ?? []) + (product_dependencies ?? [])) }
    }
    struct Description: Decodable { var targets: [Target] }

    static func describe() throws -> [String: Target] {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        // Its own scratch path: `swift test` may hold the lock on .build.
        p.arguments = ["swift", "package", "--package-path", root, "--scratch-path", NSTemporaryDirectory() + "credit-describe-\(getpid())",
                       "describe", "--type", "json"]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        let d = try JSONDecoder().decode(Description.self, from: data)
        return Dictionary(uniqueKeysWithValues: d.targets.map { ($0.name, $0) })
    }

    /// Modules of the toolchain and the OS, not declared in a manifest.
    static let system: Set<String> = ["Foundation", "FoundationEssentials", "Dispatch", "Glibc", "Darwin", "Synchronization",
                                      "Testing", "XCTest", "_Concurrency", "PackageDescription"]

    /// Modules that come with a declared product besides the product's own module.
    static let productModules: [String: Set<String>] = ["GRDB": ["GRDBSQLite", "SQLite3"]]

    static func imports(of t: Target) throws -> Set<String> {
        var out = Set<String>()
        for file in t.sources where file.hasSuffix(".swift") {
            let text = try String(contentsOfFile: "\(t.path)/\(file)", encoding: .utf8)
            for line in text.split(separator: "\n") {
                var l = line.trimmingCharacters(in: .whitespaces)
                for prefix in ["@testable ", "@_exported ", "public ", "internal "] where l.hasPrefix(prefix) { l = String(l.dropFirst(prefix.count)) }
                guard l.hasPrefix("import ") else { continue }
                // `import X` or `import struct X.Y`: a Swift module name, nothing after it
                // (a Python `import a, b` inside a test's script string is not one).
                let words = l.dropFirst(7).split(separator: " ")
                guard let last = words.last, words.count <= 2,
                      last.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "." }) else { continue }
                let module = String(last.split(separator: ".").first ?? last)
                if !system.contains(module) { out.insert(module) }
            }
        }
        return out
    }

    @Test func declaredDependenciesAreTheImportedOnes() throws {
        let targets = try Self.describe()
        var problems: [String] = []
        for t in targets.values.sorted(by: { $0.name < $1.name }) where t.module_type == "SwiftTarget" {
            let imported = try Self.imports(of: t)
            // Test targets may depend on executables only so that they are built first.
            let declared = t.deps.filter { targets[$0]?.type != "executable" }
            let provided = t.deps.union(t.deps.flatMap { Self.productModules[$0] ?? [] })
            let unused = declared.subtracting(imported), undeclared = imported.subtracting(provided)
            if !unused.isEmpty { problems.append("\(t.name) declares but never imports: \(unused.sorted())") }
            if !undeclared.isEmpty { problems.append("\(t.name) imports but does not declare: \(undeclared.sorted())") }
        }
        #expect(problems.isEmpty, "\(problems.joined(separator: "\n"))")
    }

    /// The daemon, the service and the models link no data driver (GRDB, the server drivers
    /// and their C libraries, nor CreditData, where the drivers plug in). The CSV codec
    /// (CreditCSV over CSV.swift) reaches creditd only, through the HTTP face's CSV upload.
    @Test func daemonAndModelLayersLinkNoDataDriver() throws {
        let targets = try Self.describe()
        func closure(_ name: String) -> Set<String> {
            var seen = Set<String>(), stack = [name]
            while let n = stack.popLast() {
                for d in targets[n]?.deps ?? [] where seen.insert(d).inserted { stack.append(d) }
            }
            return seen
        }
        for layer in ["creditd", "CreditServer", "CreditService", "CreditModelServing", "CreditModels", "CreditDomain", "CreditClient"] {
            let reach = closure(layer)
            #expect(targets[layer] != nil, "no target \(layer)")
            var drivers: Set<String> = ["GRDB", "CreditData", "CreditPostgres", "CPostgres", "CreditMySQL", "CMariaDB"]
            if layer != "creditd" { drivers.formUnion(["CSV", "CreditCSV"]) }
            #expect(reach.isDisjoint(with: drivers), "\(layer) reaches \(reach.intersection(drivers).sorted())")
        }
    }

    /// Files a newcomer can read in one sitting: no hand-written Swift source over 600 lines.
    @Test func noSourceFileOutgrowsOneSitting() throws {
        var long: [String] = []
        for dir in ["Sources", "bench/Sources"] {
            let base = "\(Self.root)/\(dir)"
            guard let e = FileManager.default.enumerator(atPath: base) else { continue }
            for case let file as String in e where file.hasSuffix(".swift") {
                let n = try String(contentsOfFile: "\(base)/\(file)", encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false).count
                if n > 600 { long.append("\(dir)/\(file): \(n) lines") }
            }
        }
        #expect(long.isEmpty, "\(long)")
    }
}
