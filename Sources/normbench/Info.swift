import ArgumentParser
import Foundation
import NormBenchEngine
import NormBenchHarness

struct Info: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print what every result record records about this machine and build: versions, commit, CPU features, oneDNN ISA.",
        discussion: "Exit codes: 0 printed; 2 bad options.")

    @Flag(help: "Print one JSON object on stdout (docs/cli.md) instead of the lines.")
    var json = false

    /// The record's `environment`, with the parts of the numerics fingerprint that need no cell.
    struct InfoJSON: Encodable {
        var environment: Environment
        var commitNote: String?
        var oneDNNISA: String
        var caches: String
        var resultsFolder: String
        var dataCache: String
    }

    func run() throws {
        let env = Environment.current()
        let note = env.gitCommit == "unknown" ? Self.commitUnknownReason() : Environment.commitCaveat()
        let info = InfoJSON(environment: env, commitNote: note, oneDNNISA: BuildInfo.oneDNNISA, caches: BuildInfo.cacheSizes,
                            resultsFolder: absolute("Results"), dataCache: absolute(".normbench/cache"))
        if json { return try printJSON(info) }
        print("normbench      \(env.normbenchVersion)")
        print("built for      \(env.buildTargetFeatures.joined(separator: " "))")
        print("cpu            \(env.cpuModel) (\(env.logicalCPUs) logical CPUs)")
        print("cpu features   \(env.cpuFeatures.joined(separator: " "))")
        print("caches         \(info.caches)")
        print("oneDNN         \(env.oneDNNVersion), ISA \(info.oneDNNISA)")
        print("FFmpeg         \(env.ffmpegVersion)")
        print("Swift          \(env.swiftVersion)")
        print("commit         \(env.gitCommit)\(note.map { " (\($0))" } ?? "")")
        print("results        \(info.resultsFolder) (run's default; --out elsewhere)")
        print("data cache     \(info.dataCache) (default; a workload's data.cache elsewhere)")
    }

    /// Why records made here say `gitCommit: unknown`.
    static func commitUnknownReason() -> String {
        let cwd = FileManager.default.currentDirectoryPath
        let hasGit = (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":")
            .contains { FileManager.default.isExecutableFile(atPath: "\($0)/git") }
        return hasGit ? "\(cwd) is not inside a git checkout; run from the repository to record the commit"
                      : "git is not on PATH; install git to record the commit"
    }
}
