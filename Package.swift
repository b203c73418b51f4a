// swift-tools-version:6.2
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "coursegen",
    products: [
        .executable(name: "coursegen", targets: ["coursegen"])
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-system.git", from: "1.8.1"),
        .package(url: "https://github.com/x-sheep/swift-property-based.git", from: "2.0.1"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache.git", from: "2.1.1"),
        .package(url: "https://github.com/swiftlang/swift-subprocess.git", from: "1.0.2"),
    ],
    targets: [
        // libinotifytools (Debian's libinotifytools0-dev); only Watcher imports it.
        .systemLibrary(
            name: "CInotify",
            providers: [.apt(["libinotifytools0-dev"])]
        ),
        // Linux calls Glibc's Swift overlay does not import (renameat2, statfs, posix_spawn's chdir).
        .systemLibrary(name: "CLinux"),
        // What the operating system and the standard library lack, for every other target: durations
        // as numbers, reading a small file a user names safely, a few words for messages and logs.
        .target(
            name: "Platform",
            dependencies: [
                .product(name: "SystemPackage", package: "swift-system"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        // Outlines: the model, the Markdown, YAML and JSON parsers, with FILE:LINE errors. No
        // network, no engine: the fuzzer links only this.
        .target(
            name: "Outlines",
            dependencies: [
                "Platform",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "SystemPackage", package: "swift-system"),
            ],
            swiftSettings: swiftSettings
        ),
        // The APIs that write chapters: Gemini and OpenAI-compatible servers, their wire formats,
        // the streamed-answer reader, the classification of every answer.
        .target(
            name: "Providers",
            dependencies: [
                "Platform",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "SystemPackage", package: "swift-system"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "Watcher",
            dependencies: [
                "CInotify",
                "CLinux",
                "Platform",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "SystemPackage", package: "swift-system"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "Generation",
            dependencies: [
                "CLinux",
                "Platform",
                "Outlines",
                "Providers",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "SystemPackage", package: "swift-system"),
            ],
            resources: [.embedInCode("Prompt/Templates")],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "coursegen",
            dependencies: [
                "Watcher",
                "Generation",
                "Outlines",
                "Providers",
                "Platform",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "SystemPackage", package: "swift-system"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Subprocess", package: "swift-subprocess"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),

        // Local stand-ins for the Gemini API and OpenAI-compatible servers, used by the tests,
        // the benchmarks and the systemd test script: the shared HTTP machinery (connections,
        // statistics, gates, quota, storms, latency models, wire faults), then one module per API.
        .target(
            name: "FakeServerKit",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ],
            path: "Tests/FakeServerKit",
            swiftSettings: swiftSettings
        ),
        .target(
            name: "FakeGemini",
            dependencies: ["FakeServerKit", .product(name: "NIOHTTP1", package: "swift-nio")],
            path: "Tests/FakeGemini",
            swiftSettings: swiftSettings
        ),
        .target(
            name: "FakeOpenAI",
            dependencies: ["FakeServerKit", .product(name: "NIOHTTP1", package: "swift-nio")],
            path: "Tests/FakeOpenAI",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "fake-gemini",
            dependencies: [
                "FakeServerKit",
                "FakeGemini",
                "FakeOpenAI",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Tests/FakeGeminiServer",
            swiftSettings: swiftSettings
        ),

        // The benchmark program: every scenario of BENCHMARKS.md, one table. scripts/benchmark.sh
        // builds it in release and runs it; the debug build compiles it, and no test runs it.
        .executableTarget(
            name: "coursegen-bench",
            dependencies: [
                "Generation", "Outlines", "Providers", "Platform", "FakeServerKit", "FakeGemini",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ],
            path: "Benchmarks/coursegen-bench",
            swiftSettings: swiftSettings
        ),

        // What the test targets share: a manual clock, temporary folders, a log recorder.
        .target(
            name: "TestSupport",
            dependencies: [
                "CLinux",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ],
            path: "Tests/TestSupport",
            swiftSettings: swiftSettings
        ),

        // The outline parsers under libFuzzer (scripts/fuzz-outlines.sh), or replaying a corpus.
        .executableTarget(
            name: "OutlineFuzzer",
            dependencies: ["Outlines"],
            path: "Tests/OutlineFuzzer",
            swiftSettings: swiftSettings
        ),
        // Parsing time per KiB of generated outlines (scripts/outline-scaling.sh).
        .executableTarget(
            name: "outline-scaling",
            dependencies: ["Outlines"],
            path: "Tests/OutlineScaling",
            swiftSettings: swiftSettings
        ),

        .testTarget(
            name: "GenerationTests",
            dependencies: [
                "Generation",
                "Outlines",
                "Providers",
                "Platform",
                "FakeServerKit",
                "FakeGemini",
                "FakeOpenAI",
                "TestSupport",
                "OutlineFuzzer",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "PropertyBased", package: "swift-property-based"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "SystemPackage", package: "swift-system"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            exclude: ["Fixtures"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "BenchmarkTests",
            dependencies: [
                "coursegen-bench",
                "FakeGemini",
                "FakeServerKit",
                "Generation",
                "Platform",
                "Providers",
                "TestSupport",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "WatcherTests",
            dependencies: [
                "Watcher",
                "Platform",
                "TestSupport",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "SystemPackage", package: "swift-system"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "CoursegenTests",
            dependencies: [
                "coursegen",
                "FakeGemini",
                "FakeOpenAI",
                "FakeServerKit",
                "Generation",
                "Outlines",
                "Providers",
                "Platform",
                "TestSupport",
                "Watcher",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
    ]
)
