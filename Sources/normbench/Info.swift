import ArgumentParser
import NormBenchEngine

struct Info: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the build, CPU and library versions that results record.")

    func run() throws {
        print("normbench      \(BuildInfo.version) (\(BuildInfo.configuration))")
        print("built for      \(BuildInfo.targetFeatures.joined(separator: " "))")
        print("cpu            \(BuildInfo.cpuModel) (\(BuildInfo.logicalCPUs) logical CPUs)")
        print("cpu features   \(BuildInfo.cpuFeatures.joined(separator: " "))")
        print("oneDNN         \(BuildInfo.oneDNNVersion)")
    }
}
