import ArgumentParser
import Foundation
import NormBenchWorkloads

struct List: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the workloads and the normalization methods.",
        discussion: "Exit codes: 0 listed (an invalid workload is listed with its problem); 2 the --workloads folder does not exist.")

    @Option(help: "Folder of workload files.") var workloads = "Workloads"

    func run() throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: workloads, isDirectory: &isDirectory), isDirectory.boolValue else {
            printError("normbench list: --workloads \(workloads): no such folder; run from the repository root or pass a folder of workload YAML files")
            throw ExitCode(2)
        }
        let catalog = WorkloadCatalog(directory: workloads)
        print("Workloads (\(workloads)/):")
        for name in catalog.names() {
            do {
                let spec = try catalog.load(name)
                print("  \(name.padding(toLength: 12, withPad: " ", startingAt: 0)) \(spec.description)")
            } catch {
                print("  \(name.padding(toLength: 12, withPad: " ", startingAt: 0)) (invalid: \(error))")
            }
        }
        print("\nNormalization methods:")
        print("  " + WorkloadSpec.knownNorms.joined(separator: ", "))
    }
}
