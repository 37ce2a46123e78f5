import ArgumentParser
import NormBenchWorkloads
import Yams

struct Show: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print a workload's resolved spec, defaults filled in.")

    @Argument(help: "A workload name (see `normbench list`) or a path to a YAML file.") var workload: String
    @Option(help: "Folder of workload files.") var workloads = "Workloads"

    func run() throws {
        let spec = try WorkloadCatalog(directory: workloads).load(workload)
        print(try YAMLEncoder().encode(spec), terminator: "")
    }
}
