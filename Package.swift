// swift-tools-version:6.1
import PackageDescription

// Layering (each target has one job; a new face or data driver is a new target registered
// at the edge, `credit` or `creditd`; docs/architecture.md, checked by Tests/PackageTests):
//   CreditDomain  the shared vocabulary, no third-party code: tables, the dataset spec compiled
//                 into the Schema, cleaning, row errors, the scoring vocabulary
//   CreditCore    Float32 matrix kernels (SIMD + scalar reference), run-time dispatch; the one
//                 seeded random family, ForkJoin, SystemClock
//   CreditCoreHaswell  the dense kernel bodies again (symlinked source) for AVX2+FMA
//   CCPUFeatures  C: does this CPU have AVX2 and FMA (for CreditCore's dispatch)
//   CreditData    I/O and tools: streaming sources and sinks (SQLite, CSV) and their registry,
//                 MySQL dump restore, profiling, synthetic applicants
//   CreditPostgres, CreditMySQL  the server data drivers (libpq through CPostgres, MariaDB
//                 Connector/C through CMariaDB): sources and sinks registered by `credit` only
//   CreditModels  preprocessing, learners, evaluation, threshold, reason codes, artifact
//                 (over CreditDomain only: no database or file-format code reaches serving)
//   CreditService the face-independent scoring service (slot, loading, methods, binding, metrics)
//   CreditModelServing  the adapter: CreditModels' ScoringModel as CreditService's ScoringBackend
//   CProtobufC    system library: libprotobuf-c (pkg-config libprotobuf-c)
//   CCreditProto  committed protoc-c output for proto/credit.proto (scripts/gen-proto.sh)
//   CreditWire    framing, the request scan, and the Swift layer owning every protobuf-c message
//   CreditNet     the one address grammar and socket helpers
//   CreditServer  the protobuf face (listeners, connection table, workers); creditd runs it
//   CreditHTTP    the HTTP/JSON face (Hummingbird) over the same service
//   CreditClient  the Swift client library
//   credit, creditd  the executables
// The numeric and parsing targets are optimized even in debug builds, so `swift test`
// trains models and restores dumps at release speed while dependencies stay debug.
let optimized: [SwiftSetting] = [.unsafeFlags(["-O"], .when(configuration: .debug))]

// CreditCoreHaswell compiles CreditCore's dense kernel bodies (Sources/CreditCoreHaswell is a
// symlink to Sources/CreditCore/DenseKernelBodies.swift) for AVX2 + FMA; CreditCore runs
// that copy only when the CPU has both (docs/matrix-core.md, "Run-time dispatch"). `arch` is
// the architecture the manifest is compiled for, i.e. the build host: off x86-64 the copy is
// compiled like the portable one (and never chosen).
#if arch(x86_64)
let haswellKernels: [SwiftSetting] = [.unsafeFlags(["-O", "-target-cpu", "haswell", "-DCREDIT_FMA"])]
#else
let haswellKernels: [SwiftSetting] = optimized
#endif

let package = Package(
    name: "credit-risk",
    products: [
        .executable(name: "credit", targets: ["credit"]),
        .library(name: "CreditDomain", targets: ["CreditDomain"]),
        .library(name: "CreditData", targets: ["CreditData"]),
        .library(name: "CreditCore", targets: ["CreditCore"]),
        .library(name: "CreditModels", targets: ["CreditModels"]),
        .library(name: "CreditWire", targets: ["CreditWire"]),
        .library(name: "CreditServer", targets: ["CreditServer"]),
        .library(name: "CreditClient", targets: ["CreditClient"]),
        .executable(name: "creditd", targets: ["creditd"]),
        .executable(name: "credit-bench", targets: ["credit-bench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/yaslab/CSV.swift", from: "2.5.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        // Already under Hummingbird; named for NIOPosix, whose event loops the HTTP face runs tasks on.
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    ],
    targets: [
        // The vocabulary every layer shares (no third-party code, no I/O).
        .target(name: "CreditDomain", swiftSettings: optimized),
        // The one address grammar and socket helpers (daemon listeners, clients, benchmark).
        .target(name: "CreditNet"),
        .target(
            name: "CreditData",
            dependencies: [
                "CreditCore", "CreditDomain", "CreditCSV",
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            swiftSettings: optimized
        ),
        // The one CSV reader and writer and the score file's layout: `credit` (csv: sources and
        // sinks, score files) and creditd (POST /v1/score/csv) read and write CSV through it.
        .target(
            name: "CreditCSV",
            dependencies: ["CreditDomain", .product(name: "CSV", package: "CSV.swift")],
            swiftSettings: optimized
        ),
        .target(name: "CreditCore", dependencies: ["CCPUFeatures", "CreditCoreHaswell"], swiftSettings: optimized),
        .target(name: "CreditCoreHaswell", swiftSettings: haswellKernels),
        .target(name: "CCPUFeatures"),
        .target(
            name: "CreditModels",
            dependencies: ["CreditDomain", "CreditCore", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: optimized
        ),
        // Server data drivers (docs/data.md, "Databases"): each its own target over a system
        // library, registered by `credit` only (never linked into creditd or the model layers).
        .systemLibrary(name: "CPostgres", pkgConfig: "libpq", providers: [.apt(["libpq-dev"])]),
        .target(name: "CreditPostgres", dependencies: ["CPostgres", "CreditData", "CreditDomain"], swiftSettings: optimized),
        .systemLibrary(name: "CMariaDB", pkgConfig: "libmariadb", providers: [.apt(["libmariadb-dev"])]),
        .target(name: "CreditMySQL", dependencies: ["CMariaDB", "CreditData", "CreditDomain"], swiftSettings: optimized),
        .executableTarget(
            name: "credit",
            dependencies: [
                "CreditData", "CreditCSV", "CreditCore", "CreditModels", "CreditClient", "CreditWire", "CreditDomain",
                "CreditPostgres", "CreditMySQL",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(name: "CreditDomainTests", dependencies: ["CreditDomain"]),
        // The server drivers against live servers (scripts/databases.sh); `credit` for the CLI runs.
        .testTarget(name: "CreditDatabaseTests", dependencies: ["CreditPostgres", "CreditMySQL", "CreditData", "CreditDomain", "CreditTestSupport", "credit"]),
        .testTarget(name: "CreditDataTests", dependencies: ["CreditData", "CreditCSV", "CreditDomain", "CreditCore", "CreditTestSupport"]),
        // Test fixtures shared by the test targets (synthetic book, the shared loan book).
        .target(name: "CreditTestSupport", dependencies: ["CreditData", "CreditModels", "CreditCore", "CreditDomain", "CreditNet", "CreditWire"],
                path: "Tests/CreditTestSupport"),
        .testTarget(name: "CreditCoreTests", dependencies: ["CreditCore"]),
        .testTarget(
            name: "CreditModelsTests",
            // Depends on the `credit` executable so the CLI subprocess tests find it built.
            dependencies: ["CreditModels", "CreditCore", "CreditDomain", "CreditTestSupport", "credit", "CMallocCounter"],
            swiftSettings: optimized
        ),
        // Test-only: counts malloc calls per thread (SessionAllocationTests).
        .target(name: "CMallocCounter", path: "Tests/CMallocCounter"),
        .systemLibrary(
            name: "CProtobufC",
            pkgConfig: "libprotobuf-c",
            providers: [.apt(["libprotobuf-c-dev"])]
        ),
        .target(
            name: "CCreditProto",
            dependencies: ["CProtobufC"],
            linkerSettings: [.linkedLibrary("protobuf-c")]
        ),
        .target(name: "CreditWire", dependencies: ["CCreditProto", "CProtobufC", "CreditDomain"], swiftSettings: optimized),
        // The face-independent scoring service: model slot, loading, method semantics,
        // request validation and binding, stats and metrics.
        .target(
            name: "CreditService",
            dependencies: [
                "CreditDomain", "CreditCore",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ],
            swiftSettings: optimized
        ),
        // The protobuf face: listeners, connections, worker pool, frames <-> service calls.
        .target(
            name: "CreditServer",
            dependencies: [
                "CreditService", "CreditWire", "CreditNet", "CreditDomain", "CreditCore",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: optimized
        ),
        // The HTTP/JSON face (Hummingbird): the same service, another protocol.
        .target(
            name: "CreditHTTP",
            dependencies: [
                "CreditService", "CreditDomain", "CreditCore", "CreditCSV",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            // The analyst web app: static files, embedded in the binary (no CDN, no build step).
            resources: [.embedInCode("web/index.html"), .embedInCode("web/app.js"), .embedInCode("web/app.css"), .embedInCode("web/charts.js"),
                        .embedInCode("web/report.html"), .embedInCode("web/report.js"),
                        .embedInCode("web/portfolio.html"), .embedInCode("web/portfolio.js"),
                        .embedInCode("web/score-file.html"), .embedInCode("web/score-file.js")],
            swiftSettings: optimized
        ),
        // The one adapter between the service and the models: ScoringModel as a ScoringBackend.
        .target(name: "CreditModelServing", dependencies: ["CreditService", "CreditModels", "CreditDomain"], swiftSettings: optimized),
        .executableTarget(
            name: "creditd",
            dependencies: [
                "CreditServer", "CreditService", "CreditHTTP", "CreditModelServing", "CreditCore",
                "CreditClient",  // `creditd --probe` (health checks)
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The async client library for creditd (pool, pipelining, deadlines, reconnect).
        .target(name: "CreditClient", dependencies: ["CreditWire", "CreditNet", "CreditDomain", "CreditCore"]),
        .testTarget(
            name: "CreditClientTests",
            // The executables are dependencies so the subprocess tests find them built.
            dependencies: ["CreditClient", "CreditWire", "CreditModels", "CreditData", "CreditDomain", "CreditNet", "CreditTestSupport", "credit", "creditd"],
            swiftSettings: optimized
        ),
        .testTarget(name: "CreditWireTests", dependencies: ["CreditWire", "CreditCore", "CreditDomain"]),
        .testTarget(name: "CreditServerTests", dependencies: ["CreditServer", "CreditService", "CreditWire", "CreditNet", "CreditDomain", "CreditModelServing", "CreditModels", "CreditData", "CreditCore", "CreditTestSupport",
                                                           .product(name: "Logging", package: "swift-log"),
                                                           .product(name: "MetricsTestKit", package: "swift-metrics")]),
        // Benchmarks (bench/README.md): the harness logic (load generator, schedules,
        // percentiles, reports) is a library so CI tests it; `credit-bench` is the thin
        // executable (serving runs, kernels vs OpenBLAS via dlopen, allocations, peers' tables).
        .target(
            name: "CreditBench",
            dependencies: ["CreditWire", "CreditNet", "CreditCore", "CreditDomain", .product(name: "Histogram", package: "hdrhistogram-swift")],
            path: "bench/Sources/CreditBench",
            swiftSettings: optimized
        ),
        .executableTarget(
            name: "credit-bench",
            dependencies: [
                "CreditBench", "CreditWire", "CreditCore", "CreditModels", "CreditData", "CreditDomain", "CreditNet",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "bench/Sources/credit-bench"
        ),
        .testTarget(name: "CreditBenchTests", dependencies: ["CreditBench", "CreditWire", "CreditDomain"]),
        .testTarget(
            name: "CreditHTTPTests",
            // `credit` so the file-scoring page is compared with `credit score` (built first).
            dependencies: ["CreditHTTP", "CreditService", "CreditServer", "CreditWire", "CreditNet", "CreditDomain", "CreditCore",
                           "CreditModels", "CreditModelServing", "CreditTestSupport", "CreditCSV", "credit",
                           .product(name: "Logging", package: "swift-log"),
                           .product(name: "Metrics", package: "swift-metrics"),
                           .product(name: "Prometheus", package: "swift-prometheus"),
                           // the raw score path's codec checked against NIO's HTTP/1.1 decoder
                           .product(name: "NIOCore", package: "swift-nio"),
                           .product(name: "NIOEmbedded", package: "swift-nio"),
                           .product(name: "NIOHTTP1", package: "swift-nio")],
            swiftSettings: optimized
        ),
        // The package's shape: declared = imported dependencies, no data driver under the
        // daemon, no source file over 600 lines.
        .testTarget(name: "PackageTests"),
    ]
)
