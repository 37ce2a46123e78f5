// swift-tools-version:6.1
import PackageDescription

// Release builds target x86-64-v3 (AVX2 + FMA) on x86_64: with the baseline
// target, SIMD multiply-add compiles to a library call to `fmaf` per lane and the
// kernels run ~10x slower (../shared/PLATFORM-NOTES.md). `-Xcc -march` changes
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

// The MPI variant is a package trait (docs/distributed.md): off by default, so the
// default build needs neither Open MPI's headers nor its library. With
// `--traits MPI` the CLI links `NormBenchMPI` (the only importer of `CMPI`) and
// compiles its `#if NORMBENCH_MPI` paths (`run --distributed`, `--distribute-cells`).
let mpi: Set<String> = ["MPI"]

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
    traits: [
        .trait(name: "MPI", description: "Data-parallel training and distributed sweeps over MPI ranks (Open MPI: libopenmpi-dev)."),
        .default(enabledTraits: []),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
    ],
    targets: [
        .systemLibrary(name: "CFFmpeg", pkgConfig: "libavformat"),
        .systemLibrary(name: "CDNNL"),
        .systemLibrary(name: "CMPI", pkgConfig: "ompi-c"),
        .target(name: "NormBenchVideo", dependencies: ["CFFmpeg"], swiftSettings: speed),
        .target(name: "NormBenchEngine", dependencies: ["CDNNL"], swiftSettings: speed),
        .target(
            name: "NormBenchWorkloads",
            dependencies: ["NormBenchEngine", "NormBenchVideo", .product(name: "Yams", package: "Yams")],
            swiftSettings: speed),
        .target(name: "NormBenchHarness", dependencies: ["NormBenchWorkloads", "NormBenchEngine", "NormBenchVideo"], swiftSettings: speed),
        // Without the trait this module compiles empty (its sources are `#if NORMBENCH_MPI`),
        // so `swift build` of every target never looks for mpi.h.
        .target(
            name: "NormBenchMPI",
            dependencies: ["NormBenchEngine", .target(name: "CMPI", condition: .when(traits: mpi))],
            swiftSettings: speed + [.define("NORMBENCH_MPI", .when(traits: mpi))]),
        .executableTarget(
            name: "normbench",
            dependencies: [
                "NormBenchVideo", "NormBenchEngine", "NormBenchWorkloads", "NormBenchHarness",
                .target(name: "NormBenchMPI", condition: .when(traits: mpi)),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: speed + [.define("NORMBENCH_MPI", .when(traits: mpi))]),
        .target(name: "NormBenchTestSupport", path: "Tests/NormBenchTestSupport"),
        .testTarget(name: "NormBenchVideoTests", dependencies: ["NormBenchVideo", "NormBenchTestSupport"], swiftSettings: speed),
        .testTarget(name: "NormBenchEngineTests", dependencies: ["NormBenchEngine", "NormBenchTestSupport"], swiftSettings: speed),
        .testTarget(name: "NormBenchWorkloadsTests", dependencies: ["NormBenchWorkloads", "NormBenchEngine", "NormBenchTestSupport"], swiftSettings: speed),
        .testTarget(name: "NormBenchHarnessTests", dependencies: ["NormBenchHarness", "NormBenchTestSupport"], swiftSettings: speed),
        .testTarget(
            name: "NormBenchCLITests", dependencies: ["normbench", "NormBenchTestSupport"],
            swiftSettings: speed + [.define("NORMBENCH_MPI", .when(traits: mpi))]),
    ]
)
