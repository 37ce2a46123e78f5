import ArgumentParser
import NormBenchWorkloads
import Yams

struct Show: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print a workload's resolved spec, defaults filled in.",
        discussion: "Exit codes: 0 printed; 2 the workload is missing or invalid (one line on stderr).")

    @Argument(help: "A workload name (see `normbench list`) or a path to a YAML file.") var workload: String
    @Option(help: "Folder of workload files.") var workloads = "Workloads"

    func run() throws {
        let spec: WorkloadSpec
        do { spec = try WorkloadCatalog(directory: workloads).load(workload) } catch {
            printError("normbench show: \(error)")
            throw ExitCode(2)
        }
        print(try YAMLEncoder().encode(spec), terminator: "")
    }
}
