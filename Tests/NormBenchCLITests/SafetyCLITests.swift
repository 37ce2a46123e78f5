import Foundation
import Testing
import NormBenchTestSupport

/// What must never happen to results on disk: two writers in one run folder,
/// a publish that loses committed pages, a record that names a file outside
/// the output folder.
@Suite struct SafetyCLITests {
    /// The repository root (this file is Tests/NormBenchCLITests/SafetyCLITests.swift).
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    /// A second `run` on a folder that a first one is writing is refused at once,
    /// with one line naming the first one's pid; the first one's files are untouched.
    @Test func secondWriterOfARunFolderIsRefused() throws {
        let folder = scratchDirectory("lock")
        let workload = "\(folder)/tinyrun.yaml"
        try RunCLITests.tinyWorkload(cache: "\(folder)/cache").write(toFile: workload, atomically: true, encoding: .utf8)
        let out = "\(folder)/run"
        let first = try BuiltBinary.launch(["run", workload, "--out", out])
        defer { if first.isRunning { kill(first.processIdentifier, SIGKILL); first.waitUntilExit() } }
        let deadline = Date().addingTimeInterval(120)
        while !FileManager.default.fileExists(atPath: "\(out)/run.json") && first.isRunning && Date() < deadline { usleep(2000) }
        try #require(first.isRunning, "the first run ended before the second could start")
        let manifest = try Data(contentsOf: URL(fileURLWithPath: "\(out)/run.json"))

        // Another sweep on the same folder: without the lock it would rewrite run.json.
        let second = try BuiltBinary.run(["run", workload, "--out", out, "--seeds", "1"], timeout: 60)
        #expect(second.status == 1, "stderr: \(second.stderr)")
        #expect(second.stderrLines.count == 1, "\(second.stderr)")
        #expect(second.stderr.contains("another normbench run is writing this folder (pid \(first.processIdentifier) on "), "\(second.stderr)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: "\(out)/run.json")) == manifest)
        // The lock file is no record: it is not under cells/, and git ignores it.
        let gitignore = try String(contentsOfFile: "\(Self.repository)/.gitignore", encoding: .utf8)
        #expect(gitignore.split(separator: "\n").contains(".normbench-run.lock"))
    }

    /// `publish` of one new run, in a copy of the committed Results: without --out
    /// the pages go into the run's folder and nothing else changes; with --out
    /// Results every other workload's page stays byte for byte, the index and
    /// cells.csv gain the new rows and lose none; a cell in two runs is refused
    /// naming both files, with nothing written.
    @Test func publishingARunKeepsEveryPublishedPage() throws {
        let root = scratchDirectory("publish-keep")
        try FileManager.default.copyItem(atPath: "\(Self.repository)/Results", toPath: "\(root)/Results")
        let committed = Scratch.snapshot("\(root)/Results")
        // Plain publish regenerates the committed files byte for byte.
        let plain = try BuiltBinary.run(["publish"], directory: root)
        #expect(plain.status == 0, "\(plain.stderr)")
        #expect(Scratch.snapshot("\(root)/Results") == committed, "plain publish changed the committed Results")
        let run = "Results/smoke/20260101T000000"
        try PublishCheckCLITests.writeRun("\(root)/\(run)")
        let withRun = Scratch.snapshot("\(root)/Results")

        let own = try BuiltBinary.run(["publish", run], directory: root)
        #expect(own.status == 0, "\(own.stderr)")
        let afterOwn = Scratch.snapshot("\(root)/Results")
        for (path, data) in withRun { #expect(afterOwn[path] == data, "\(path) changed by publishing into the run's folder") }
        let added = Set(afterOwn.keys).subtracting(withRun.keys)
        #expect(!added.isEmpty && added.allSatisfy { $0.hasPrefix("smoke/20260101T000000/") }, "\(added.sorted())")
        #expect(afterOwn["smoke/20260101T000000/smoke.md"] != nil)

        let merged = try BuiltBinary.run(["publish", run, "--out", "Results"], directory: root)
        #expect(merged.status == 0, "\(merged.stderr)")
        let afterMerge = Scratch.snapshot("\(root)/Results")
        for (path, data) in committed where path != "README.md" && path != "cells.csv" {
            #expect(afterMerge[path] == data, "\(path) changed or lost by publishing one run into Results")
        }
        let index = String(decoding: afterMerge["README.md"] ?? Data(), as: UTF8.self)
        // Every workload the committed index links (read from it, so the test follows what Results holds), and the new one.
        let committedIndex = String(decoding: committed["README.md"] ?? Data(), as: UTF8.self)
        let linked = committedIndex.split(separator: "\n").compactMap { row -> String? in
            guard row.hasPrefix("| ["), let end = row.firstIndex(of: "]") else { return nil }
            return String(row[row.index(row.startIndex, offsetBy: 3)..<end])
        }
        #expect(linked.contains("video-cls") && linked.contains("groups"), "\(committedIndex)")
        for workload in linked + ["smoke"] { #expect(index.contains("[\(workload)](\(workload).md)"), "index lost \(workload)") }
        let rows = { (d: Data?) in String(decoding: d ?? Data(), as: UTF8.self).split(separator: "\n") }
        #expect(rows(afterMerge["cells.csv"]).count == rows(committed["cells.csv"]).count + 4)
        #expect(Set(rows(committed["cells.csv"])).isSubset(of: Set(rows(afterMerge["cells.csv"]))))

        // The same cells in a second run: refused, both files named, nothing written.
        try PublishCheckCLITests.writeRun("\(root)/Results/smoke/copy")
        let before = Scratch.snapshot("\(root)/Results")
        let conflict = try BuiltBinary.run(["publish", "Results/smoke/copy", "--out", "Results"], directory: root)
        #expect(conflict.status == 2)
        #expect(conflict.stderrLines.count == 1, "\(conflict.stderr)")
        #expect(conflict.stderr.contains("Results/smoke/copy/cells/") && conflict.stderr.contains("\(run)/cells/"), "\(conflict.stderr)")
        #expect(Scratch.snapshot("\(root)/Results") == before)
    }

    /// A record is data: a `workload` or `norm` that would climb out of the output
    /// folder is refused when read, and no file outside --out is created or changed.
    @Test(arguments: [("workload", "../victim/README"), ("workload", "/abs/x"), ("workload", ""), ("norm", "../../x"), ("workload", "a\nb")])
    func recordFieldsAreNeverPaths(_ field: String, _ value: String) throws {
        let root = scratchDirectory("record-path")
        try FileManager.default.createDirectory(atPath: "\(root)/pub/victim", withIntermediateDirectories: true)
        try Data("keep\n".utf8).write(to: URL(fileURLWithPath: "\(root)/pub/victim/README.md"))
        try PublishCheckCLITests.writeRun("\(root)/run", cells: [("bn", 2)])
        let file = "\(root)/run/cells/bn_b2_w1_g-_s0_t2.json"
        var json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: file))) as! [String: Any]
        var cell = json["cell"] as! [String: Any]
        cell[field] = value
        json["cell"] = cell
        try JSONSerialization.data(withJSONObject: json).write(to: URL(fileURLWithPath: file))
        let before = Scratch.snapshot(root)
        for args in [["publish", "run", "--out", "pub/out"], ["publish", "run"], ["check", "--baseline", "\(Self.repository)/Results/baseline/smoke.json", "run"]] {
            let r = try BuiltBinary.run(args, directory: root)
            #expect(r.status == 2, "\(args): exit \(r.status), \(r.stderr)")
            #expect(r.stderrLines.count == 1, "\(args): \(r.stderr)")
            #expect(r.stderr.contains("`cell"), "\(args): \(r.stderr)")
            #expect(Scratch.snapshot(root) == before, "\(args) changed files")
        }
    }
}
