import Foundation
import Testing
import NormBenchTestSupport

/// `normbench publish` and `normbench check` run as the built binary (found by
/// `BuiltBinary`): exit codes, output, and what lands on disk. Records are written as JSON text, the
/// same format `normbench run` writes (docs/results-format.md).
@Suite struct PublishCheckCLITests {
    static func normbench(_ arguments: [String]) throws -> BuiltBinary.Output {
        try BuiltBinary.run(arguments)
    }

    static func folder() -> String {
        scratchDirectory("cli")
    }

    /// Writes a smoke-like run (bn, gn × batch 2, 8) as record files.
    static func writeRun(_ run: String, error: Double = 0.25, clipsPerSecond: Double = 20, ledger: Int = 1_048_576, cells: [(String, Int)] = [("bn", 2), ("bn", 8), ("gn", 2), ("gn", 8)]) throws {
        try FileManager.default.createDirectory(atPath: "\(run)/cells", withIntermediateDirectories: true)
        for (norm, batch) in cells {
            let groups = norm == "gn" ? "4" : "-"
            let json = """
                {"schema": 1, "status": "completed", "task": "classification",
                 "cell": {"workload": "smoke", "norm": "\(norm)", "batch": \(batch), "workers": 1, "groups": "\(groups)", "seed": 0, "threads": 2},
                 "accuracy": {"top1Error": \(error), "evalLoss": 1.2},
                 "training": {"steps": 10, "epochs": 2, "samplesPerStep": \(batch), "learningRate": 0.01, "lossCurve": [{"step": 1, "loss": 1.4}]},
                 "throughput": {"trainClipsPerSecond": \(clipsPerSecond), "stepSecondsMedian": \(Double(batch) / clipsPerSecond), "stepSecondsP90": 0.12, "evalClipsPerSecond": 60},
                 "timeShare": {"convolution": 0.6, "normalization": 0.2, "other": 0.2},
                 "memory": {"ledgerPeakBytes": \(ledger), "ledgerAtPeakBytes": {"activations": \(ledger / 2), "parameters": \(ledger / 2)}},
                 "calibration": {"convGFLOPS": 100, "bandwidthGBps": 15},
                 "data": {"description": "synthetic", "trainClips": 48, "evalClips": 32, "digest": "abc"},
                 "environment": {"cpuModel": "test", "cpuFeatures": [], "buildTargetFeatures": [], "logicalCPUs": 2, "normbenchVersion": "0",
                   "swiftVersion": "6", "ffmpegVersion": "5.1", "oneDNNVersion": "2.6", "gitCommit": "0", "date": "2026-01-01T00:00:00Z"}}
                """
            try Data(json.utf8).write(to: URL(fileURLWithPath: "\(run)/cells/\(norm)_b\(batch)_w1_g\(groups)_s0_t2.json"))
        }
    }

    @Test func publishIsByteStableAndRejectsBadRecords() throws {
        let run = Self.folder(), out1 = Self.folder() + "/a", out2 = Self.folder() + "/b"
        try Self.writeRun(run)
        let first = try Self.normbench(["publish", run, "--out", out1])
        #expect(first.status == 0, "\(first.stderr)")
        #expect(try Self.normbench(["publish", run, "--out", out2]).status == 0)
        let files = try FileManager.default.contentsOfDirectory(atPath: out1).sorted()
        #expect(files.contains("README.md") && files.contains("smoke.md") && files.contains("cells.csv") && files.contains("smoke-error.svg"))
        for f in files {
            #expect(try Data(contentsOf: URL(fileURLWithPath: "\(out1)/\(f)")) == Data(contentsOf: URL(fileURLWithPath: "\(out2)/\(f)")), "\(f)")
        }
        try Data("not json".utf8).write(to: URL(fileURLWithPath: "\(run)/cells/zz.json"))
        let out3 = Self.folder() + "/c"
        let bad = try Self.normbench(["publish", run, "--out", out3])
        #expect(bad.status == 2)
        #expect(bad.stderr.contains("\(run)/cells/zz.json: cannot read result record (not a normbench result record: invalid JSON)"), "\(bad.stderr)")
        #expect(bad.stderr.split(separator: "\n").count == 1)
        #expect(!FileManager.default.fileExists(atPath: out3))
    }

    @Test func checkExitCodes() throws {
        let base = Self.folder(), baseline = Self.folder() + "/baseline/smoke.json"
        try Self.writeRun(base)
        let update = try Self.normbench(["check", "--update-baseline", "--baseline", baseline, base])
        #expect(update.status == 0, "\(update.stderr)")
        #expect(update.stdout.contains("wrote baseline \(baseline): 4 cells of smoke"))

        let same = try Self.normbench(["check", "--baseline", baseline, base])
        #expect(same.status == 0, "\(same.stdout)\(same.stderr)")
        #expect(same.stdout.hasSuffix("PASS\n"))

        let faster = Self.folder()
        try Self.writeRun(faster, clipsPerSecond: 30)
        let fast = try Self.normbench(["check", "--baseline", baseline, faster])
        #expect(fast.status == 0, "\(fast.stdout)")
        #expect(fast.stdout.contains("improved"))

        // A deliberate regression: a slowed kernel (half the clips/s on the same machine).
        let slowed = Self.folder()
        try Self.writeRun(slowed, clipsPerSecond: 10)
        let slow = try Self.normbench(["check", "--baseline", baseline, slowed])
        #expect(slow.status == 1, "\(slow.stdout)")
        #expect(slow.stdout.contains("trainClipsPerSecond/cal") && slow.stdout.contains("-50.00%") && slow.stdout.contains("REGRESSION"))
        #expect(slow.stdout.contains("smoke (geomean of 4 cells)"))
        #expect(slow.stdout.hasSuffix("FAIL: 1 regression\n"), "\(slow.stdout)")

        // A wrong kernel: worse accuracy; a leak: more ledger memory.
        let wrong = Self.folder()
        try Self.writeRun(wrong, error: 0.5)
        #expect(try Self.normbench(["check", "--baseline", baseline, wrong]).status == 1)
        let leaky = Self.folder()
        try Self.writeRun(leaky, ledger: 2_097_152)
        #expect(try Self.normbench(["check", "--baseline", baseline, leaky]).status == 1)

        // Missing cells, a missing baseline, a broken record: errors.
        let partial = Self.folder()
        try Self.writeRun(partial, cells: [("bn", 2)])
        let missing = try Self.normbench(["check", "--baseline", baseline, partial])
        #expect(missing.status == 2)
        #expect(missing.stderr.contains("is missing (4 cells expected, 1 found)"), "\(missing.stderr)")
        #expect(try Self.normbench(["check", "--baseline", baseline + ".nope", base]).status == 2)
        try Data("{".utf8).write(to: URL(fileURLWithPath: "\(partial)/cells/bn_b2_w1_g-_s0_t2.json"))
        #expect(try Self.normbench(["check", "--baseline", baseline, partial]).status == 2)
    }
}
