// swift-tools-version:6.2
import PackageDescription

// Tools version 6.2 (so Swift 6.2 or later): from 6.2 on, SwiftPM accepts the
// unsafe flags below in a package that another package depends on by version,
// so the library products (NormBenchVideo, NormBenchEngine, ...) can be used
// with `.package(url:from:)` (docs/build.md, docs/library.md,
// scripts/consumer-check.sh).

// Release builds target x86-64-v3 (AVX2 + FMA) on x86_64: with the baseline
// target, SIMD multiply-add compiles to a library call to `fmaf` per lane and the
// kernels run ~10x slower (docs/build.md). `-Xcc -march` changes
// Swift's own code generation as well as C's. Set NORMBENCH_PORTABLE=1 to build
// for baseline x86-64 (a CPU without AVX2). The binary records what it was built
// for (`BuildInfo.targetFeatures`).
let portable = Context.environment["NORMBENCH_PORTABLE"] == "1"
var speed: [SwiftSetting] = [
    .unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release)),
]
#if arch(x86_64)
if !portable {
    speed.append(.unsafeFlags(["-Xcc", "-march=x86-64-v3"]))
}
#endif

// The MPI variant (docs/distributed.md) is built with NORMBENCH_MPI=1 (scripts/mpi.sh,
// into its own scratch path .build-mpi): only then does the package declare `CMPI`
// (Open MPI's headers through pkg-config) and `NormBenchMPI` (its only importer),
// link them into the CLI and compile the `#if NORMBENCH_MPI` paths (`run
// --distributed`, `--distribute-cells`, the MPI tests). The default build needs
// neither Open MPI's headers nor its library. (A package trait would say the same;
// the environment variable keeps scripts/mpi.sh and its scratch path as they are.)
let mpiBuild = Context.environment["NORMBENCH_MPI"] == "1"
let mpiDefine: [SwiftSetting] = mpiBuild ? [.define("NORMBENCH_MPI")] : []
let mpiTargets: [Target] = !mpiBuild ? [] : [
    .systemLibrary(name: "CMPI", pkgConfig: "ompi-c"),
    .target(name: "NormBenchMPI", dependencies: ["NormBenchEngine", "CMPI"], swiftSettings: speed + mpiDefine),
]

let package = Package(
    name: "normbench",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "normbench", targets: ["normbench"]),
        .library(name: "NormBenchVideo", targets: ["NormBenchVideo"]),
        .library(name: "NormBenchEngine", targets: ["NormBenchEngine"]),
        .library(name: "NormBenchWorkloads", targets: ["NormBenchWorkloads"]),
        .library(name: "NormBenchHarness", targets: ["NormBenchHarness"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
    ],
    targets: [
        .systemLibrary(name: "CFFmpeg", pkgConfig: "libavformat"),
        .systemLibrary(name: "CDNNL"),
        .target(name: "NormBenchVideo", dependencies: ["CFFmpeg"], swiftSettings: speed),
        .target(name: "CFMAPeak"),
        .target(name: "CWeightGradient"),
        .target(name: "CStreamStore"),
        .target(name: "NormBenchEngine", dependencies: ["CDNNL", "CFMAPeak", "CWeightGradient", "CStreamStore"], swiftSettings: speed),
        .target(
            name: "NormBenchWorkloads",
            dependencies: ["NormBenchEngine", "NormBenchVideo", .product(name: "Yams", package: "Yams")],
            swiftSettings: speed),
        .target(name: "NormBenchHarness", dependencies: ["NormBenchWorkloads", "NormBenchEngine", "NormBenchVideo"], swiftSettings: speed),
        .executableTarget(
            name: "normbench",
            dependencies: [
                "NormBenchVideo", "NormBenchEngine", "NormBenchWorkloads", "NormBenchHarness",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Yams", package: "Yams"),
            ] + (mpiBuild ? ["NormBenchMPI"] : []),
            swiftSettings: speed + mpiDefine),
        .target(name: "NormBenchTestSupport", path: "Tests/NormBenchTestSupport"),
        .testTarget(name: "NormBenchVideoTests", dependencies: ["NormBenchVideo", "NormBenchTestSupport"], swiftSettings: speed),
        .testTarget(name: "NormBenchEngineTests", dependencies: ["NormBenchEngine", "NormBenchTestSupport"], swiftSettings: speed),
        .testTarget(name: "NormBenchWorkloadsTests", dependencies: ["NormBenchWorkloads", "NormBenchEngine", "NormBenchTestSupport"], swiftSettings: speed),
        .testTarget(name: "NormBenchHarnessTests", dependencies: ["NormBenchHarness", "NormBenchTestSupport"], swiftSettings: speed),
        .testTarget(
            name: "NormBenchCLITests", dependencies: ["normbench", "NormBenchTestSupport"],
            swiftSettings: speed + mpiDefine),
    ] + mpiTargets
)
