// swift-tools-version: 6.1
//
// HotPath's package-benchmark suite, kept in its own package (as swift-nio does) so that users
// of the library do not inherit package-benchmark. Run from the repository root:
//   swift package --package-path Benchmarks benchmark
// Traits: only MallocInterposer (malloc counts). The other default trait, RuntimeInterposer
// (ARC retain/release counts on Swift 6.3 Linux), needs ordo-one/swift-runtime-interposer,
// which the package mirror these machines resolve from does not carry; with the trait off,
// SwiftPM prunes that dependency and the package resolves.
import PackageDescription
import Foundation

// A path dependency's identity is its folder's name, which differs between checkouts
// ("main", "hotpath", a CI clone's name), so derive it from where this file sits.
let rootIdentity = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().lastPathComponent.lowercased()

let package = Package(
    name: "HotPathBenchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark.git", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "CoreBenchmarks",
            dependencies: [
                .product(name: "HotPath", package: rootIdentity),
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/CoreBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ]
)
