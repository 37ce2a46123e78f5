import ArgumentParser
import NormBenchWorkloads
import Yams

struct Show: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print a workload's resolved spec, defaults filled in.",
        discussion: "Exit codes: 0 printed; 2 the workload is missing or invalid, or bad options (one line on stderr).")

    @Argument(help: "A workload name (see `normbench list`) or a path to a YAML file.") var workload: String
    @Option(help: "Folder of workload files (relative to the working directory).") var workloads = "Workloads"
    @Flag(help: "Print the spec as one JSON object on stdout (docs/cli.md) instead of YAML.") var json = false

    func run() throws {
        let spec: WorkloadSpec
        do { spec = try WorkloadCatalog(directory: workloads).load(workload) } catch {
            throw UsageError(error)
        }
        if json { return try printJSON(spec) }
        print(try YAMLEncoder().encode(spec), terminator: "")
    }
}
