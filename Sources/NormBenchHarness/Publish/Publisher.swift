import Foundation
import NormBenchWorkloads

/// Renders result records into the published results: `README.md` (an index),
/// one Markdown page per workload, `cells.csv`, and SVG charts.
///
/// Rendering is a pure function of the records (sorted; no clock, no machine
/// state), so the same records always give byte-identical files. Every record
/// is read and every file rendered before the first write, so a bad record
/// leaves the output folder untouched; each file is then written atomically.
public enum Publisher {
    /// A rendered file: a path relative to the output folder and its bytes.
    public struct File: Equatable, Sendable {
        public var path: String
        public var contents: Data
    }

    /// Reads the records of `runs` (run folders, folders of runs, or record
    /// files), renders them and writes the files under `out`.
    ///
    /// With `merge`, the records already under `out` are rendered too (except
    /// those of a results folder nested in it, such as `Results/distributed/`,
    /// which is published on its own), so that publishing one run into a results
    /// folder adds its workload to the index and keeps every other workload's
    /// page and `cells.csv` rows.
    /// - Returns: the paths written, sorted.
    /// - Throws: `HarnessError.read` naming a bad record file, `.mismatch` for a
    ///   cell found in two files (both named) or no records at all, `.write` when
    ///   a file cannot be written, `OutputPath.Refused` for a path outside `out`.
    @discardableResult
    public static func publish(runs: [String], out: String, merge: Bool = false) throws -> [String] {
        try OutputPath.checkRoot(out, option: "--out")
        let read = try readRecordsWithPaths(runs, results: merge && FileManager.default.fileExists(atPath: out) ? out : nil)
        let records = read.map(\.record)
        let benchmarks = try TrainBenchmark.load(workloads: Set(records.map(\.cell.workload)), under: out)
        let files = try render(records, docs: docsLink(from: out), benchmarks: benchmarks, floors: errorFloors(read))
        let targets = try files.map { try OutputPath.resolve($0.path, under: out) }  // all checked before the first write
        for (file, target) in zip(files, targets) { try AtomicFile.write(file.contents, to: target) }
        return targets
    }

    /// Reads every record of `runs`; a record file reached twice (a run inside a
    /// results folder also given) counts once, and a cell may be in one file only.
    /// - Throws: `HarnessError.mismatch` naming both files that hold a cell.
    public static func readRecords(_ runs: [String], results: String? = nil) throws -> [ResultRecord] {
        try readRecordsWithPaths(runs, results: results).map(\.record)
    }

    static func readRecordsWithPaths(_ runs: [String], results: String? = nil) throws -> [(path: String, record: ResultRecord)] {
        var seen: [CellKey: String] = [:]
        var files = Set<String>()
        var records: [(path: String, record: ResultRecord)] = []
        let sources = runs.map { ($0, false) } + (results.map { [($0, true)] } ?? [])
        for (run, isResults) in sources {
            for (path, record) in try RecordStore.readAllWithPaths(run, skippingNestedResults: isResults) {
                guard files.insert(OutputPath.realPath(path)).inserted else { continue }
                if let other = seen[record.cell] {
                    throw HarnessError.mismatch("cell \(record.cell.workload)/\(record.cell.id) is in both \(other) and \(path); publish each cell once: pass one of the two runs, or move the stale record out of the folders being published")
                }
                seen[record.cell] = path
                records.append((path, record))
            }
        }
        guard !records.isEmpty else {
            throw HarnessError.mismatch("\(sources.map(\.0).joined(separator: ", ")): no result records (cells/*.json) found; pass run folders written by `normbench run`")
        }
        return records.sorted { $0.record.cell < $1.record.cell }
    }

    /// The top-1 error no model can beat on a classification workload's
    /// synthetic data: half the share of clips whose target stands still.
    public struct ErrorFloor: Hashable, Sendable {
        /// `data.synthetic.stationary` / 2: the floor the settings lead to expect.
        public var expected: Double
        /// The clips of the evaluation split that stand still (`SyntheticRenderer.isStationary`)
        /// and how many there are; nil when the run description does not give the whole data set.
        public var realized: Realized?

        public struct Realized: Hashable, Sendable {
            public var stationary: Int
            public var clips: Int

            public init(stationary: Int, clips: Int) {
                self.stationary = stationary
                self.clips = clips
            }

            /// Half the share of evaluation clips that stand still.
            public var floor: Double { clips > 0 ? Double(stationary) / Double(clips) / 2 : 0 }
        }

        public init(expected: Double, realized: Realized? = nil) {
            self.expected = expected
            self.realized = realized
        }
    }

    /// Per classification workload, the top-1 error no model can beat on its
    /// synthetic data (`data.synthetic` in the run folders' `run.json`, the folder
    /// above each record's `cells/`): the expected floor when every run of the
    /// workload gives the same, and the floor realized on the evaluation clips
    /// when, in addition, every run gives the same data set and every record was
    /// evaluated on all of its evaluation clips.
    static func errorFloors(_ read: [(path: String, record: ResultRecord)]) -> [String: ErrorFloor] {
        var perRun: [String: ErrorFloor?] = [:]
        var expected: [String: Set<Double?>] = [:]
        var realized: [String: Set<ErrorFloor.Realized?>] = [:]
        for (path, record) in read where record.task == "classification" {
            let run = URL(fileURLWithPath: path).deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("run.json").path
            if perRun[run] == nil { perRun[run] = .some(errorFloor(runDescription: run)) }
            let floor = perRun[run]!
            expected[record.cell.workload, default: []].insert(floor?.expected)
            // A record evaluated on fewer clips (some skipped as unreadable) was not evaluated on these.
            let whole = floor?.realized.flatMap { $0.clips == record.data.evalClips ? $0 : nil }
            realized[record.cell.workload, default: []].insert(whole)
        }
        var out: [String: ErrorFloor] = [:]
        for (workload, values) in expected {
            guard values.count == 1, let p = values.first!, p > 0 else { continue }
            let r = realized[workload]!
            out[workload] = ErrorFloor(expected: p, realized: r.count == 1 ? r.first! : nil)
        }
        return out
    }

    /// The error floor a run description (`run.json`) gives: nil when it cannot
    /// be read or its data are not synthetic; without the realized floor when
    /// its synthetic settings are incomplete.
    static func errorFloor(runDescription path: String) -> ErrorFloor? {
        guard let bytes = try? Data(contentsOf: URL(fileURLWithPath: path)),
              let json = try? JSONSerialization.jsonObject(with: bytes) as? [String: Any],
              let data = (json["workload"] as? [String: Any])?["data"] as? [String: Any],
              data["source"] as? String == "synthetic",
              let synthetic = data["synthetic"] as? [String: Any],
              let p = synthetic["stationary"] as? Double else { return nil }
        var floor = ErrorFloor(expected: p / 2)
        if let raw = try? JSONSerialization.data(withJSONObject: synthetic),
           let s = try? JSONDecoder().decode(SyntheticSpec.self, from: raw),
           s.stationary == p, s.evalClips >= 0, s.classes > 0, s.classes <= SyntheticRenderer.maxClassificationClasses {
            let renderer = SyntheticRenderer(spec: s)
            let still = (0..<s.evalClips).filter { renderer.isStationary($0, split: .eval) }.count
            floor.realized = .init(stationary: still, clips: s.evalClips)
        }
        return floor
    }

    /// The repository's docs folder relative to `out`, for the pages' links:
    /// `../docs` from `Results`, `../../docs` from `Results/distributed` (paths
    /// are taken relative to the working directory, the repository root when
    /// publishing as documented; elsewhere `../docs`).
    public static func docsLink(from out: String) -> String {
        let root = URL(fileURLWithPath: FileManager.default.currentDirectoryPath).standardizedFileURL.path
        let target = URL(fileURLWithPath: out, relativeTo: URL(fileURLWithPath: root + "/")).standardizedFileURL.path
        guard target.hasPrefix(root + "/") else { return "../docs" }
        let depth = target.dropFirst(root.count + 1).split(separator: "/").count
        return String(repeating: "../", count: depth) + "docs"
    }

    /// Renders the published files for `records`, sorted by path; `docs` is the
    /// docs folder as the pages link to it.
    public static func render(_ records: [ResultRecord], docs: String = "../docs", benchmarks: [String: TrainBenchmark] = [:], floors: [String: ErrorFloor] = [:]) throws -> [File] {
        let sorted = records.sorted { $0.cell < $1.cell }
        let byWorkload = Dictionary(grouping: sorted, by: \.cell.workload)
        var files = [File(path: "cells.csv", contents: Data(CSVExport.render(sorted).utf8))]
        var pages: [WorkloadPage] = []
        for workload in byWorkload.keys.sorted() {
            let longer = longerWorkload(of: workload, among: byWorkload.keys).map { ($0, byWorkload[$0]!) }
            var page = WorkloadPage(workload: workload, records: byWorkload[workload]!, docs: docs, longer: longer)
            page.benchmark = benchmarks[workload]
            page.errorFloor = floors[workload]
            page.publishedWorkloads = Set(byWorkload.keys)
            pages.append(page)
            files.append(File(path: "\(workload).md", contents: Data(page.markdown().utf8)))
            if let paper = page.paperPage() { files.append(File(path: "\(workload)-paper.md", contents: Data(paper.utf8))) }
            for (name, svg) in page.charts() { files.append(File(path: name, contents: Data(svg.utf8))) }
        }
        files.append(File(path: "README.md", contents: Data(index(pages, records: sorted, docs: docs).utf8)))
        return files.sorted { $0.path < $1.path }
    }

    /// The workload `<name>-long`, or else `<name>-<k>x` (k an integer, the
    /// smallest if several): the same cells trained longer, joined on `name`'s
    /// page as the convergence control.
    static func longerWorkload(of name: String, among names: Dictionary<String, [ResultRecord]>.Keys) -> String? {
        if names.contains(name + "-long") { return name + "-long" }
        return names.compactMap { other -> (Int, String)? in
            guard other.hasPrefix(name + "-"), other.hasSuffix("x") else { return nil }
            let k = other.dropFirst(name.count + 1).dropLast()
            return Int(k).flatMap { $0 > 1 ? ($0, other) : nil }
        }.min { $0 < $1 }?.1
    }

    private static func index(_ pages: [WorkloadPage], records: [ResultRecord], docs: String) -> String {
        var md = "# normbench results\n\n"
        md += "Rendered by `normbench publish` from \(records.count) result records. The JSON records are the source of truth; "
        md += "these tables, [cells.csv](cells.csv) and the charts are rendered from them and regenerate byte for byte. "
        md += "Batch = clips per worker (the GN paper's \"batch size per GPU\"). Format: [docs/results-format.md](\(docs)/results-format.md).\n\n"
        var table = MarkdownTable(header: ["workload", "task", "methods", "batches", "seeds", "cells", "completed"], textColumns: 4)
        for page in pages {
            let g = page.grid
            table.rows.append([
                "[\(page.name)](\(page.name).md)",
                Set(g.records.map(\.task)).sorted().joined(separator: ", "),
                g.methods.map { g.label($0) }.joined(separator: ", "),
                g.batches.map(String.init).joined(separator: ", "),
                String(Set(g.records.map(\.cell.seed)).count),
                String(g.records.count),
                String(g.records.filter { $0.status == .completed }.count),
            ].map(Format.cell))
        }
        md += table.render() + "\n"
        md += Provenance.line(records) + "\n\n"
        if let main = pages.first(where: { $0.name == "video-cls" }) ?? pages.first(where: { p in p.grid.records.contains { $0.accuracy?[WorkloadPage.top1] != nil } }) {
            md += "## Main chart: \(main.name), error vs batch per worker\n\n"
            md += "The GN paper's Figure 1 question on video: does BatchNorm's error rise as the per-worker batch shrinks, while GroupNorm's stays flat?\n\n"
            md += "![\(main.name) top-1 error vs batch](\(main.name)-error.svg)\n"
        }
        return md
    }
}
