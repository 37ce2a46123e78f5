import ArgumentParser
import NormBenchEngine

@main
struct NormBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "normbench",
        abstract: "Measure the BatchNorm / GroupNorm trade-off on video models, on your own CPU.",
        version: BuildInfo.versionLine,
        subcommands: [Run.self, Plan.self, Decode.self, Publish.self, Check.self, List.self, Show.self, Bench.self, Info.self])
}

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Benchmarks: release builds, medians, ratios measured in the same run.",
        subcommands: [BenchDecode.self, BenchKernels.self, BenchNorms.self, BenchCalibrate.self])
}
