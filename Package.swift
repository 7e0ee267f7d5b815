// swift-tools-version:6.1
import PackageDescription

// Layering (each target has one job; later issues add targets rather than grow one):
//   CreditData    loan-book tables, sources (SQLite, CSV), MySQL dump restore, dataset spec,
//                 cleaning with an audit trail, profiling, synthetic applicants
//   CreditCore    Float32 matrix kernels (SIMD + scalar reference)
//   CreditModels  preprocessing, learners, evaluation, threshold, reason codes, artifact
//   credit        the command-line tool (one command tree)
// The numeric and parsing targets are optimized even in debug builds, so `swift test`
// trains models and restores dumps at release speed while dependencies stay debug.
let optimized: [SwiftSetting] = [.unsafeFlags(["-O"], .when(configuration: .debug))]

let package = Package(
    name: "credit-risk",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "credit", targets: ["credit"]),
        .library(name: "CreditData", targets: ["CreditData"]),
        .library(name: "CreditCore", targets: ["CreditCore"]),
        .library(name: "CreditModels", targets: ["CreditModels"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/yaslab/CSV.swift", from: "2.5.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
    ],
    targets: [
        .target(
            name: "CreditData",
            dependencies: [
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "CSV", package: "CSV.swift"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: optimized
        ),
        .target(name: "CreditCore", swiftSettings: optimized),
        .target(
            name: "CreditModels",
            dependencies: ["CreditData", "CreditCore", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: optimized
        ),
        .executableTarget(
            name: "credit",
            dependencies: [
                "CreditData", "CreditCore", "CreditModels",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Throughput check of the CreditCore kernels (`swift run -c release kernel-bench`).
        .executableTarget(name: "kernel-bench", dependencies: ["CreditCore"]),
        .testTarget(name: "CreditDataTests", dependencies: ["CreditData"]),
        .testTarget(name: "CreditCoreTests", dependencies: ["CreditCore"]),
        .testTarget(
            name: "CreditModelsTests",
            // Depends on the `credit` executable so the CLI subprocess tests find it built.
            dependencies: ["CreditModels", "CreditCore", "CreditData", "credit", .product(name: "GRDB", package: "GRDB.swift")],
            swiftSettings: optimized
        ),
    ]
)
