// swift-tools-version:6.1
import PackageDescription

// libFuzzer harness over creditd's request decoder (CreditWire: RequestScan, protobuf-c
// unpack into the arena, the in-place views). Its own package so that only the decoder's
// targets are built with the fuzzer and address sanitizers:
//   swift build --package-path Fuzz -c debug --sanitize fuzzer --sanitize address \
//       -Xswiftc -parse-as-library
//   Fuzz/.build/debug/RequestFuzz Fuzz/corpus -max_total_time=60
// `scripts/fuzz.sh SECONDS` does both; the test suite runs it for a bounded time
// (Tests/CreditServerTests/DecoderFuzzTests.swift).
let package = Package(
    name: "credit-fuzz",
    dependencies: [.package(name: "credit-risk", path: "..")],
    targets: [
        .executableTarget(
            name: "RequestFuzz",
            dependencies: [.product(name: "CreditWire", package: "credit-risk")]
        ),
    ]
)
