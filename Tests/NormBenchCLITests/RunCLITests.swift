import Foundation
import Testing

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
        folder = NSTemporaryDirectory() + "normbench-run-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
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
            let share = rec["timeShare"] as? [String: Double] ?? [:]
            #expect(abs(share.values.reduce(0, +) - 1) < 1e-6, "\(name) time share \(share)")
            #expect((rec["training"] as? [String: Any])?["steps"] as? Int == 6)
        }
        #expect(FileManager.default.fileExists(atPath: "\(folder)/run/run.json"))
    }

    /// kill -9 after the first cell: its record is whole, the second is absent, no
    /// temporary file is left; --resume keeps the first byte for byte and adds the
    /// second, with the same deterministic numbers as an uninterrupted run.
    @Test func resumeAfterKillKeepsFinishedCells() throws {
        let run = "\(folder)/interrupted"
        let p = Process()
        p.executableURL = URL(fileURLWithPath: try BuiltBinary.locate())
        p.arguments = ["run", workload, "--out", run]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        let first = "\(run)/cells/bn_b2_w1_g-_s0_t1.json"
        let deadline = Date().addingTimeInterval(600)
        while !FileManager.default.fileExists(atPath: first) && p.isRunning && Date() < deadline { usleep(5000) }
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        let firstBytes = try Data(contentsOf: URL(fileURLWithPath: first))
        #expect(try FileManager.default.contentsOfDirectory(atPath: "\(run)/cells") == ["bn_b2_w1_g-_s0_t1.json"])

        let resumed = try BuiltBinary.run(["run", workload, "--out", run, "--resume"], timeout: 600)
        #expect(resumed.status == 0, "stderr: \(resumed.stderr)")
        #expect(resumed.stdout.contains("done earlier, kept"))
        #expect(try Data(contentsOf: URL(fileURLWithPath: first)) == firstBytes)

        let full = try BuiltBinary.run(["run", workload, "--out", "\(folder)/full"], timeout: 600)
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
        }
    }

    @Test(arguments: [
        (["--batch", "0"], "--batch"),
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
}
