// swift-tools-version: 6.1
//
// HotPath: a low-latency, single-binary market-data → features → model → signal engine.
// Layout (see ../shared/docs/ARCHITECTURE.md):
//   Sources/CSupport   – hp_-prefixed C shims for what Swift cannot import (CPU_SET, rdtscp…)
//   Sources/HotPath    – the library; one concept per file, rooms as folders
//   Sources/HotPathCLI – the thin `hotpath` executable (not `Sources/hotpath`: that collides
//                        with `Sources/HotPath` on case-insensitive file systems)
//   Tests/             – XCTest suites + a test-only malloc counter
//   Benchmarks/        – a nested package (package-benchmark), so library users do not inherit it
import PackageDescription

let package = Package(
    name: "HotPath",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "HotPath", targets: ["HotPath"]),
        .executable(name: "hotpath", targets: ["HotPathCLI"]),
        // libFuzzer harnesses over the parsers; scripts/fuzz.sh builds and runs them.
        .executable(name: "hotpath-fuzz", targets: ["HotPathFuzz"]),
    ],
    dependencies: [.package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2")],
    targets: [
        .target(
            name: "CSupport",
            cSettings: [.define("_GNU_SOURCE")],
            linkerSettings: [
                .linkedLibrary("uring"), .linkedLibrary("numa"), .linkedLibrary("ssl"),
                .linkedLibrary("crypto"), .linkedLibrary("zstd"), .linkedLibrary("z"), .linkedLibrary("pthread"),
                .linkedLibrary("nats"),
            ]
        ),
        .target(name: "HotPath", dependencies: ["CSupport"]),
        .executableTarget(
            name: "HotPathCLI",
            dependencies: ["HotPath", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        .executableTarget(name: "HotPathFuzz", dependencies: ["HotPath"]),
        // Counts malloc calls per thread by interposing malloc in the test process only.
        .target(name: "MallocCounter", path: "Tests/MallocCounter"),
        .testTarget(name: "HotPathTests", dependencies: ["HotPath", "MallocCounter"]),
    ]
)
