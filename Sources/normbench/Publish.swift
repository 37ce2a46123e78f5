import ArgumentParser
import Foundation
import NormBenchHarness

struct Publish: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Render result records into Markdown tables, CSV and SVG charts.",
        discussion: """
            Reads the JSON records (cells/*.json) of the given run folders and writes README.md (an index), \
            one page per workload, cells.csv and charts under --out. The same records give byte-identical files. \
            Exit codes: 0 written, 2 error (a bad record is named; nothing is written).
            """)

    @Argument(help: "Run folders, folders of runs, or record files (default: every run under --out, i.e. Results/<workload>/<run>/).")
    var runs: [String] = []

    @Option(help: "Folder to write the results into.")
    var out = "Results"

    func run() throws {
        let inputs = runs.isEmpty ? [out] : runs
        do {
            let written = try Publisher.publish(runs: inputs, out: out)
            print("wrote \(written.count) files to \(out)/ from \(inputs.joined(separator: ", "))")
        } catch {
            FileHandle.standardError.write(Data("normbench publish: \(error)\n".utf8))
            throw ExitCode(2)
        }
    }
}
