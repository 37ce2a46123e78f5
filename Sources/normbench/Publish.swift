import ArgumentParser
import Foundation
import NormBenchHarness
import NormBenchWorkloads

struct Publish: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Render result records into Markdown tables, CSV and SVG charts.",
        discussion: """
            Reads the JSON records (cells/*.json) and writes README.md (an index), one page per workload, \
            cells.csv and charts. Without arguments: every run under --out (default Results). One run folder \
            without --out: the pages go into that folder, next to its records. With --out and run folders: \
            the records already under --out are published too, so every other workload's page and row is kept. \
            The same records give byte-identical files. \
            Exit codes: 0 written, 2 error (a bad record or a cell in two files is named; nothing is written).
            """)

    @Argument(help: "Run folders, folders of runs, or record files (default: every run under --out, i.e. Results/<workload>/<run>/).")
    var runs: [String] = []

    @Option(help: "Folder to write the results into (default: Results without arguments, the run folder with one).")
    var out: String?

    func run() throws {
        do {
            let (inputs, target, merge) = try plan()
            let written = try Publisher.publish(runs: inputs, out: target, merge: merge)
            let from = inputs.isEmpty ? "the records under \(target)" : inputs.joined(separator: ", ") + (merge ? " and the records already under \(target)" : "")
            print("wrote \(written.count) files to \(target)/ from \(from)")
        } catch {
            throw UsageError(error)  // a bad record or a cell in two files: exit 2, as documented
        }
    }

    /// What to read, where to write, and whether the records already there are kept.
    func plan() throws -> (inputs: [String], out: String, merge: Bool) {
        if let out {
            try OutputPath.checkRoot(out, option: "--out")
            return (runs, out, true)
        }
        if runs.isEmpty { return ([], "Results", true) }
        var isDirectory: ObjCBool = false
        guard runs.count == 1, FileManager.default.fileExists(atPath: runs[0], isDirectory: &isDirectory), isDirectory.boolValue else {
            throw UsageError(message: "\(runs.joined(separator: ", ")): \(runs.count == 1 ? "a record file" : "several inputs") need --out; pass --out <folder> (the records already there are published with them)")
        }
        return (runs, runs[0], false)
    }
}
