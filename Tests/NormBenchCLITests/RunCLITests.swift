import Foundation
import Testing
import NormBenchTestSupport

/// `normbench run` as a built binary: a two-cell sweep end to end, resume after
/// kill -9, and bad input. The workload is tiny (16×16 clips, 4 steps).
@Suite(.serialized) struct RunCLITests {
    static func tinyWorkload(cache: String) -> String {
        """
        name: tinyrun
        description: two cells, seconds
        data:
          cache: \(cache)
          synthetic: {trainClips: 8, evalClips: 4, classes: 2, frames: 6, width: 16, height: 16}
        clip: {frames: 2, stride: 2, size: 16}
        model: {widths: [4, 8, 8]}
        training: {steps: 6, warmupSteps: 0, baseLR: 0.05, referenceBatch: 2}
        sweep: {norms: [bn, gn], batches: [2], groups: [2], seeds: [0], threads: [1]}
        """
    }

    let folder: String
    let workload: String

    init() throws {
        folder = scratchDirectory("run")
        workload = "\(folder)/tinyrun.yaml"
        try Self.tinyWorkload(cache: "\(folder)/cache").write(toFile: workload, atomically: true, encoding: .utf8)
    }

    func records(_ run: String) throws -> [String: [String: Any]] {
        let files = try FileManager.default.contentsOfDirectory(atPath: "\(run)/cells")
        var out: [String: [String: Any]] = [:]
        for f in files {
            let data = try Data(contentsOf: URL(fileURLWithPath: "\(run)/cells/\(f)"))
            out[f] = try JSONSerialization.jsonObject(with: data) as? [String: Any]
        }
        return out
    }

    @Test func twoCellSweepWritesRecordsAndSummary() throws {
        let r = try BuiltBinary.run(["run", workload, "--out", "\(folder)/run"], timeout: 600)
        #expect(r.status == 0, "stderr: \(r.stderr)")
        #expect(r.stdout.contains("| batch 2"))
        #expect(r.stdout.contains("bn ") && r.stdout.contains("gn G=2"))
        let recs = try records("\(folder)/run")
        #expect(recs.keys.sorted() == ["bn_b2_w1_g-_s0_t1.json", "gn_b2_w1_g2_s0_t1.json"])
        for (name, rec) in recs {
            #expect(rec["status"] as? String == "completed", "\(name)")
            let acc = rec["accuracy"] as? [String: Any]
            let top1 = acc?["top1Error"] as? Double ?? -1
            #expect((0...1).contains(top1), "\(name) top1Error \(top1)")
            let mem = rec["memory"] as? [String: Any]
            #expect((mem?["ledgerPeakBytes"] as? Int ?? 0) > 0, "\(name)")
            // The process peak taken apart: the bank (12 clips × 6 frames × 16² × 3 bytes)
            // is in a file by default, outside the process; the parts add up to the
            // kernel's high-water mark, and little is unexplained (measured: 8.4 MiB in a
            // process's first cell, oneDNN's code for new shapes and new threads; 0-2.4
            // MiB in later cells).
            let bank = (rec["data"] as? [String: Any])?["bank"] as? [String: Any]
            #expect(bank?["storage"] as? String == "file" && bank?["bytes"] as? Int == 12 * 6 * 16 * 16 * 3, "\(name) \(String(describing: bank))")
            let process = mem?["process"] as? [String: Int] ?? [:]
            #expect(process["dataBankBytes"] == 0, "\(name) \(process)")
            #expect(process["ledgerBytes"] == mem?["ledgerPeakBytes"] as? Int)
            #expect(process.values.reduce(0, +) == mem?["processPeakBytes"] as? Int, "\(name) \(process)")
            #expect(abs(process["unattributedBytes"] ?? .max) < 16 << 20, "\(name) \(process)")
            let share = rec["timeShare"] as? [String: Double] ?? [:]
            #expect(abs(share.values.reduce(0, +) - 1) < 1e-6, "\(name) time share \(share)")
            #expect((rec["training"] as? [String: Any])?["steps"] as? Int == 6)
        }
        #expect(FileManager.default.fileExists(atPath: "\(folder)/run/run.json"))
    }

    /// kill -9 after the first cell: its record is whole, the second is absent, no
    /// temporary file is left (nor the decoded clips' file); --resume keeps the first
    /// byte for byte and adds the second, with the same deterministic numbers as an
    /// uninterrupted run that keeps its clips in memory.
    @Test func resumeAfterKillKeepsFinishedCells() throws {
        let run = "\(folder)/interrupted"
        let p = try BuiltBinary.launch(["run", workload, "--out", run])
        let first = "\(run)/cells/bn_b2_w1_g-_s0_t1.json"
        let deadline = Date().addingTimeInterval(600)
        while !FileManager.default.fileExists(atPath: first) && p.isRunning && Date() < deadline { usleep(5000) }
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        let firstBytes = try Data(contentsOf: URL(fileURLWithPath: first))
        #expect(try FileManager.default.contentsOfDirectory(atPath: "\(run)/cells") == ["bn_b2_w1_g-_s0_t1.json"])
        #expect(try FileManager.default.contentsOfDirectory(atPath: run).filter { $0.hasPrefix(".normbench-bank") }.isEmpty)

        let resumed = try BuiltBinary.run(["run", workload, "--out", run, "--resume"], timeout: 600)
        #expect(resumed.status == 0, "stderr: \(resumed.stderr)")
        #expect(resumed.stdout.contains("done earlier, kept"))
        #expect(try Data(contentsOf: URL(fileURLWithPath: first)) == firstBytes)

        let full = try BuiltBinary.run(["run", workload, "--out", "\(folder)/full", "--data-bank", "memory"], timeout: 600)
        #expect(full.status == 0)
        let a = try records(run), b = try records("\(folder)/full")
        #expect(a.keys.sorted() == b.keys.sorted())
        for key in a.keys {
            for field in ["accuracy", "training"] {
                let x = try JSONSerialization.data(withJSONObject: a[key]![field]!, options: .sortedKeys)
                let y = try JSONSerialization.data(withJSONObject: b[key]![field]!, options: .sortedKeys)
                #expect(x == y, "\(key).\(field) differs between the resumed and the uninterrupted run")
            }
            let ma = (a[key]!["memory"] as! [String: Any])["ledgerPeakBytes"] as! Int
            let mb = (b[key]!["memory"] as! [String: Any])["ledgerPeakBytes"] as! Int
            #expect(ma == mb, "\(key) ledger peak differs")
            let process = (b[key]!["memory"] as! [String: Any])["process"] as? [String: Int]
            #expect(process?["dataBankBytes"] == 12 * 6 * 16 * 16 * 3, "\(key) \(String(describing: process))")
        }
    }

    @Test(arguments: [
        (["--batches", "0"], "--batches"),
        (["--norms", "bn,xyz"], "xyz"),
        (["--groups", "3"], "does not divide the model width 4"),
        (["--out", "/proc/normbench-cannot-write"], "/proc/normbench-cannot-write"),
    ])
    func badSettingsFailWithOneLine(extra: [String], mention: String) throws {
        let r = try BuiltBinary.run(["run", workload] + extra, timeout: 120)
        #expect(r.status != 0)
        #expect(r.stderrLines.count == 1, "stderr: \(r.stderr)")
        #expect(r.stderr.contains(mention), "stderr: \(r.stderr)")
    }

    @Test func badYAMLNamesTheFileAndKey() throws {
        let bad = "\(folder)/bad.yaml"
        try "sweep:\n  batches: [2, 0]\n".write(toFile: bad, atomically: true, encoding: .utf8)
        let r = try BuiltBinary.run(["run", bad], timeout: 60)
        #expect(r.status == 2)
        #expect(r.stderrLines.count == 1)
        #expect(r.stderr.contains("\(bad):2: `sweep.batches`"), "stderr: \(r.stderr)")
    }

    /// A user's folder of clips (made with the ffmpeg CLI): a corrupt clip stops the
    /// run with one line naming it, or is skipped and reported with --skip-bad-clips.
    @Test func folderDataSourceWithACorruptClip() throws {
        let root = "\(folder)/mine"
        try FileManager.default.createDirectory(atPath: "\(root)/clips", withIntermediateDirectories: true)
        var csv = "path,label,split\n"
        for i in 0..<6 {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            p.arguments = ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=32x24:rate=10:duration=0.8",
                           "-vf", "hue=h=\(i * 60)", "-c:v", "libx264", "-pix_fmt", "yuv420p", "\(root)/clips/\(i).mp4"]
            try p.run()
            p.waitUntilExit()
            #expect(p.terminationStatus == 0)
            csv += "clips/\(i).mp4,\(i % 2),\(i < 4 ? "train" : "eval")\n"
        }
        try Data("not a video".utf8).write(to: URL(fileURLWithPath: "\(root)/clips/1.mp4"))
        try csv.write(toFile: "\(root)/clips.csv", atomically: true, encoding: .utf8)
        let yaml = "\(folder)/mine.yaml"
        try """
            name: mine
            data:
              source: folder
              folder: {root: \(root), manifest: clips.csv, classes: 2}
            clip: {frames: 2, stride: 2, size: 16}
            model: {widths: [4, 8, 8]}
            training: {steps: 2, warmupSteps: 0}
            sweep: {norms: [gn], batches: [2], groups: [2], seeds: [0], threads: [1]}
            """.write(toFile: yaml, atomically: true, encoding: .utf8)
        let strict = try BuiltBinary.run(["run", yaml, "--out", "\(folder)/mine-run"], timeout: 300)
        #expect(strict.status == 1)
        #expect(strict.stderrLines.count == 1 && strict.stderr.contains("clips/1.mp4"), "stderr: \(strict.stderr)")
        let lenient = try BuiltBinary.run(["run", yaml, "--out", "\(folder)/mine-run2", "--skip-bad-clips"], timeout: 300)
        #expect(lenient.status == 0, "stderr: \(lenient.stderr)")
        #expect(lenient.stdout.contains("skipped [\"clips/1.mp4\"]"), "stdout: \(lenient.stdout)")
    }

    /// A cell whose loss becomes non-finite is recorded as diverged; the sweep goes on.
    @Test func divergedCellIsRecordedAndTheSweepContinues() throws {
        let yaml = "\(folder)/diverge.yaml"
        try Self.tinyWorkload(cache: "\(folder)/cache")
            .replacingOccurrences(of: "training: {steps: 6, warmupSteps: 0, baseLR: 0.05, referenceBatch: 2}",
                                  with: "training: {steps: 20, warmupSteps: 0, baseLR: 10, referenceBatch: 1}")
            .replacingOccurrences(of: "norms: [bn, gn]", with: "norms: [none, bn]")
            .write(toFile: yaml, atomically: true, encoding: .utf8)
        let r = try BuiltBinary.run(["run", yaml, "--out", "\(folder)/diverge"], timeout: 300)
        #expect(r.status == 0, "stderr: \(r.stderr)")
        let recs = try records("\(folder)/diverge")
        let none = recs["none_b2_w1_g-_s0_t1.json"]
        #expect(none?["status"] as? String == "diverged")
        #expect((none?["note"] as? String)?.contains("training diverged at step") == true)
        #expect(recs["bn_b2_w1_g-_s0_t1.json"]?["status"] as? String == "completed")
        #expect(r.stdout.contains("diverged"))
    }
}
