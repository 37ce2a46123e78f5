import Foundation
import Testing
import NormBenchTestSupport

/// The command-line grammar every command shares (docs/cli.md): misuse exits 2
/// with one stderr line, `--json` prints one JSON object, old spellings still
/// work with a notice, and a refused run leaves nothing behind.
@Suite struct GrammarCLITests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    static var workloads: String { repository + "/Workloads" }

    /// One or more misuses per command: bad values, impossible combinations,
    /// unknown options, missing arguments, both spellings of a renamed option.
    static let misuse: [[String]] = [
        ["run", "smoke", "--batches", "0"],
        ["run", "smoke", "--threads", "1,x"],
        ["run", "smoke", "--batch", "2", "--batches", "2"],
        ["run", "smoke", "--distributed", "--distribute-cells"],
        ["run", "smoke", "--no-such-flag"],
        ["run"],
        ["plan", "smoke", "--memory-budget", "lots"],
        ["plan", "no-such-workload"],
        ["decode", "--jobs", "0", "clip.mp4"],
        ["decode", "--workers", "1", "--jobs", "1", "clip.mp4"],
        ["decode", "--decoder-threads", "-1", "clip.mp4"],
        ["decode", "--sampling", "sideways", "clip.mp4"],
        ["decode"],
        ["publish", "a", "b"],
        ["check", "--baseline", "b.json", "run1", "run2"],
        ["check", "--baseline", "b.json", "--spread", "s", "run1"],
        ["check", "run1"],
        ["list", "--workloads", "no-such-folder"],
        ["show", "no-such-workload"],
        ["show", "smoke", "--no-such-flag"],
        ["info", "--no-such-flag"],
        ["bench", "no-such-benchmark"],
        ["bench", "kernels", "--conv-only", "--train-only"],
        ["bench", "kernels", "--threads", "0"],
        ["bench", "norms", "--norms", "xyz"],
        ["bench", "norms", "--methods", "gn", "--norms", "bn"],
        ["bench", "norms", "--shapes", "1,2"],
        ["bench", "decode", "--runs", "0"],
        ["bench", "calibrate", "--threads", "1,x"],
        ["bench", "calibrate", "--repeats", "0"],
        ["bench", "train", "no-such-workload"],
        ["bench", "train", "smoke", "--warmup", "-1"],
    ]

    @Test(arguments: misuse)
    func misuseExits2WithOneLine(_ arguments: [String]) throws {
        let scratch = scratchDirectory("grammar")
        let args = arguments.count > 1 && ["run", "plan", "show"].contains(arguments[0]) && !arguments.contains("--no-such-flag")
            ? arguments + ["--workloads", Self.workloads] : arguments
        let r = try BuiltBinary.run(args, timeout: 60, directory: scratch)
        let label = arguments.joined(separator: " ")
        #expect(r.status == 2, "\(label): exit \(r.status): \(r.stderr)")
        #expect(r.stderrLines.count == 1, "\(label): \(r.stderr)")
        let command = "normbench " + arguments.prefix(arguments.first == "bench" && arguments.count > 1 && !arguments[1].hasPrefix("no-") ? 2 : 1).joined(separator: " ")
        #expect(r.stderr.hasPrefix(command + ": "), "\(label): \(r.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: scratch).isEmpty, "\(label) wrote into the working directory")
    }

    /// `--json` output of a command: exactly one JSON object on stdout.
    static func object(_ arguments: [String], directory: String? = nil, timeout: Double = 120) throws -> [String: Any] {
        let r = try BuiltBinary.run(arguments + ["--json"], timeout: timeout, directory: directory)
        #expect(r.status == 0, "\(arguments): exit \(r.status): \(r.stderr)")
        let value = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8))
        return try #require(value as? [String: Any], "\(arguments): not a JSON object: \(r.stdout.prefix(300))")
    }

    @Test func jsonOfInfoListShowPlan() throws {
        let info = try Self.object(["info"])
        let environment = try #require(info["environment"] as? [String: Any])
        for key in ["ffmpegVersion", "oneDNNVersion", "swiftVersion", "gitCommit", "cpuFeatures", "buildTargetFeatures"] {
            #expect(environment[key] != nil, "info --json lacks environment.\(key)")
        }
        #expect(info["oneDNNISA"] is String)
        let list = try Self.object(["list", "--workloads", Self.workloads])
        #expect((list["workloads"] as? [[String: Any]])?.contains { $0["name"] as? String == "smoke" } == true)
        #expect(list["workloadsFolder"] as? String == Self.workloads)
        let show = try Self.object(["show", "smoke", "--workloads", Self.workloads])
        #expect(show["name"] as? String == "smoke")
        let folder = scratchDirectory("grammar-plan")
        let workload = "\(folder)/tinyrun.yaml"
        try RunCLITests.tinyWorkload(cache: "\(folder)/cache").write(toFile: workload, atomically: true, encoding: .utf8)
        let plan = try Self.object(["plan", workload, "--memory-budget", "1GiB"])
        #expect((plan["methods"] as? [[String: Any]])?.count == 2)
        // The bank is in a file by default (outside the process); in memory it is 12 clips × 6 frames × 16² × 3 bytes.
        #expect(plan["dataBank"] as? String == "file" && plan["dataBankBytes"] as? Int == 0, "\(plan)")
        let inMemory = try Self.object(["plan", workload, "--memory-budget", "1GiB", "--data-bank", "memory"])
        #expect(inMemory["dataBank"] as? String == "memory" && inMemory["dataBankBytes"] as? Int == 12 * 6 * 16 * 16 * 3, "\(inMemory)")
    }

    /// Run in a scratch folder outside any git checkout, so the summary says why the commit is unknown.
    @Test func jsonOfRunAndCheck() throws {
        let folder = scratchDirectory("grammar-run")
        let workload = "\(folder)/tinyrun.yaml"
        try RunCLITests.tinyWorkload(cache: "cache").write(toFile: workload, atomically: true, encoding: .utf8)
        let run = try Self.object(["run", workload, "--out", "out"], directory: folder, timeout: 300)
        #expect(run["run"] as? String == "\(folder)/out")
        #expect(run["dataCache"] as? String == "\(folder)/cache")
        #expect((run["cells"] as? [Any])?.count == 2)
        if !FileManager.default.fileExists(atPath: NSTemporaryDirectory() + "/.git") {
            #expect((run["commitNote"] as? String)?.contains("not inside a git checkout") == true, "\(run)")
        }
        let baseline = "\(folder)/baseline.json"
        let update = try Self.object(["check", "--update-baseline", "--baseline", baseline, "\(folder)/out"])
        #expect((update["cells"] as? Int ?? 0) >= 1, "\(update)")
        let check = try Self.object(["check", "--baseline", baseline, "\(folder)/out"])
        #expect(check["passed"] as? Bool == true)
        #expect((check["rows"] as? [Any])?.isEmpty == false)
    }

    @Test func jsonOfBenchmarks() throws {
        let calibrate = try Self.object(["bench", "calibrate", "--threads", "1", "--repeats", "1"])
        #expect((calibrate["series"] as? [Any])?.count == 1)
        let norms = try Self.object(["bench", "norms", "--norms", "gn", "--shapes", "1,8,2,4,4", "--threads", "1", "--repeats", "1"])
        #expect((norms["tables"] as? [[String: Any]])?.first?["rows"] as? [Any] != nil)
        let kernels = try Self.object(["bench", "kernels", "--threads", "1", "--conv-batches", "1", "--train-batches", "1", "--norms", "gn", "--repeats", "1", "--steps", "1"])
        #expect((kernels["tables"] as? [Any])?.count == 2)
        let clips = scratchDirectory("grammar-bench-decode")
        let decode = try Self.object(["bench", "decode", "--runs", "1", "--dir", clips], timeout: 300)
        #expect((decode["lines"] as? [String])?.isEmpty == false)
    }

    /// A renamed option's old spelling works and says once, on stderr, what replaces it.
    @Test func oldSpellingsStillWork() throws {
        let norms = try BuiltBinary.run(["bench", "norms", "--methods", "gn", "--shapes", "1,8,2,4,4", "--threads", "1", "--repeats", "1", "--json"])
        #expect(norms.status == 0)
        #expect(norms.stderrLines == ["normbench bench norms: note: --methods is deprecated; use --norms"], "\(norms.stderr)")
        #expect((try JSONSerialization.jsonObject(with: Data(norms.stdout.utf8))) is [String: Any])
    }

    /// A run refused after reading its workload (here: a group count that divides
    /// no width) creates no run folder, neither the one named nor the default.
    @Test(arguments: [["--out", "mine"], []])
    func refusedRunLeavesNoFolder(_ out: [String]) throws {
        let folder = scratchDirectory("grammar-refused")
        try RunCLITests.tinyWorkload(cache: "cache").write(toFile: "\(folder)/tinyrun.yaml", atomically: true, encoding: .utf8)
        let r = try BuiltBinary.run(["run", "tinyrun.yaml", "--norms", "gn", "--groups", "3"] + out, timeout: 60, directory: folder)
        #expect(r.status == 2 && r.stderrLines.count == 1, "\(r.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder) == ["tinyrun.yaml"])
    }
}
