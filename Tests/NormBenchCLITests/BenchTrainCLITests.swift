import Foundation
import Testing
import NormBenchTestSupport

/// `normbench bench train` as a built binary, on tiny workloads (16×16 clips,
/// 1-2 steps): one JSON entry per sweep cell in the sweep's order, exit codes,
/// one-line errors and no file after misuse.
@Suite(.serialized) struct BenchTrainCLITests {
    /// BN and GN at 2 and 4, LN at 2 only (`sweep.batchesByNorm`), two seeds (one cell each), one thread.
    static func workload(cache: String) -> String {
        """
        name: tinybench
        description: bench train test
        data:
          cache: \(cache)
          synthetic: {trainClips: 8, evalClips: 4, classes: 3, frames: 6, width: 16, height: 16}
        clip: {frames: 2, stride: 2, size: 16}
        model: {widths: [4, 8, 8]}
        training: {steps: 6, warmupSteps: 0, baseLR: 0.05, referenceBatch: 2}
        sweep: {norms: [bn, gn, ln], batches: [2, 4], batchesByNorm: {ln: [2]}, groups: [2], seeds: [3, 4], threads: [1]}
        """
    }

    /// The ghost-batch layout: one step of 4 clips as W = 4 / batch workers, SyncBN as one micro-batch.
    static let ghost = """
        name: tinyghost
        description: bench train test, workers
        data:
          synthetic: {trainClips: 8, evalClips: 4, classes: 3, frames: 6, width: 16, height: 16}
        clip: {frames: 2, stride: 2, size: 16}
        model: {widths: [4, 8, 8]}
        training: {steps: 6, warmupSteps: 0, baseLR: 0.05, referenceBatch: 4}
        sweep: {norms: [bn, syncbn], batches: [1, 2], stepClips: 4, seeds: [0], threads: [1]}
        """

    let folder: String
    init() throws {
        folder = scratchDirectory("benchtrain")
        try Self.workload(cache: "\(folder)/cache").write(toFile: "\(folder)/tinybench.yaml", atomically: true, encoding: .utf8)
        try Self.ghost.write(toFile: "\(folder)/tinyghost.yaml", atomically: true, encoding: .utf8)
    }

    func json(_ path: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any])
    }

    func cells(_ doc: [String: Any]) -> [[String: Any]] { doc["cells"] as? [[String: Any]] ?? [] }

    @Test func writesOneEntryPerSweepCellInOrder() throws {
        let out = "\(folder)/out/bench.json"
        let r = try BuiltBinary.run(["bench", "train", "\(folder)/tinybench.yaml", "--steps", "2", "--warmup", "1", "--repeats", "2", "--out", out], timeout: 300)
        #expect(r.status == 0, "stderr: \(r.stderr)")
        let doc = try json(out)
        #expect(doc["schema"] as? Int == 1)
        #expect(doc["kind"] as? String == "bench-train")
        #expect(doc["workload"] as? String == "tinybench")
        #expect((doc["command"] as? String)?.hasPrefix("normbench bench train \(folder)/tinybench.yaml --steps 2") == true, "\(doc["command"] ?? "")")
        let entries = cells(doc)
        let keys = entries.map { e -> String in
            let c = e["cell"] as? [String: Any] ?? [:]
            return "\(c["norm"] ?? "?") b\(c["batch"] ?? "?") W\(c["workers"] ?? "?") G\(c["groups"] ?? "?") T\(c["threads"] ?? "?")"
        }
        // The sweep's order (norm, batch, groups, threads); the seed is not a cell of the benchmark.
        #expect(keys == ["bn b2 W1 G- T1", "bn b4 W1 G- T1", "gn b2 W1 G2 T1", "gn b4 W1 G2 T1", "ln b2 W1 G- T1"], "\(keys)")
        for (key, e) in zip(keys, entries) {
            let rounds = e["rounds"] as? [[String: Any]] ?? []
            #expect(rounds.count == 2, "\(key)")
            #expect(rounds.allSatisfy { ($0["stepSeconds"] as? [Double])?.count == 2 }, "\(key)")
            let clips = e["clipsPerSecond"] as? [String: Double] ?? [:]
            #expect((clips["median"] ?? 0) > 0 && clips["min"]! <= clips["median"]! && clips["median"]! <= clips["max"]!, "\(key) \(clips)")
            let batch = (e["cell"] as? [String: Any])?["batch"] as? Int ?? 0
            #expect(e["samplesPerStep"] as? Int == batch)
            #expect(e["inputShape"] as? [Int] == [batch, 2, 16, 16, 3], "\(key)")
            #expect(((e["stepSeconds"] as? [String: Double])?["median"] ?? 0) > 0)
        }
        let settings = doc["settings"] as? [String: Any] ?? [:]
        #expect(settings["seed"] as? Int == 3 && settings["repeats"] as? Int == 2 && settings["timedSteps"] as? Int == 2 && settings["warmupSteps"] as? Int == 1)
        // One probe before the rounds and one after each, for the one thread count.
        #expect((doc["calibration"] as? [[String: Any]])?.map { $0["after"] as? Int ?? -1 } == [0, 1, 2])
        let machine = doc["machine"] as? [String: Any] ?? [:]
        #expect(!(machine["oneDNNISA"] as? String ?? "").isEmpty)
        let environment = doc["environment"] as? [String: Any] ?? [:]
        let cpuModel = environment["cpuModel"] as? String ?? ""
        #expect(!cpuModel.isEmpty)
        // The table on stdout, one row per cell, and where the file went.
        #expect(r.stdout.contains("| norm | groups | batch | W | threads | clips/s median | min-max |"), "\(r.stdout)")
        #expect(r.stdout.split(separator: "\n").filter { $0.hasPrefix("| ln | - | 2 | 1 | 1 |") }.count == 1, "\(r.stdout)")
        #expect(r.stdout.contains("wrote \(out)"))
        // Written atomically: no temporary file beside it.
        #expect(try FileManager.default.contentsOfDirectory(atPath: "\(folder)/out") == ["bench.json"])
    }

    /// The real file, end to end: a trained run and the benchmark in one results folder, published.
    @Test func publishTakesTheThroughputFromTheBenchmark() throws {
        let results = "\(folder)/Results"
        let run = try BuiltBinary.run(["run", "\(folder)/tinybench.yaml", "--norms", "bn", "--seeds", "3", "--out", "\(results)/tinybench/run1"], timeout: 600)
        #expect(run.status == 0, "stderr: \(run.stderr)")
        let publishArgs = ["publish", "--out", results]
        #expect(try BuiltBinary.run(publishArgs).status == 0)
        let before = try String(contentsOfFile: "\(results)/tinybench.md", encoding: .utf8)
        #expect(before.contains("Measured during training (shared machine)") && !before.contains("dedicated benchmark run"))
        let bench = try BuiltBinary.run(["bench", "train", "\(folder)/tinybench.yaml", "--norms", "bn", "--steps", "1", "--warmup", "1", "--repeats", "2",
                                         "--out", "\(results)/tinybench/bench.json"], timeout: 300)
        #expect(bench.status == 0, "stderr: \(bench.stderr)")
        let published = try BuiltBinary.run(publishArgs)
        #expect(published.status == 0, "stderr: \(published.stderr)")
        let page = try String(contentsOfFile: "\(results)/tinybench.md", encoding: .utf8)
        #expect(page.contains("## Throughput: training clips/s by batch per worker, dedicated benchmark run\n\n| method | batch 2 | batch 4 |"), "\(page)")
        #expect(page.contains("From a dedicated benchmark run: `normbench bench train \(folder)/tinybench.yaml --norms bn --steps 1"), "\(page)")
        #expect(page.contains("### Measured during training, under varying load"))
        // The benchmark file is not a record: the page counts the run's two cells.
        #expect(page.contains("from 2 result records"), "\(page)")
    }

    @Test func workersFollowTheSweep() throws {
        let r = try BuiltBinary.run(["bench", "train", "\(folder)/tinyghost.yaml", "--steps", "1", "--warmup", "1", "--repeats", "1", "--json"], timeout: 300)
        #expect(r.status == 0, "stderr: \(r.stderr)")
        let doc = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        let got = cells(doc).map { e -> [Int] in
            let c = e["cell"] as? [String: Any] ?? [:]
            return [c["batch"] as? Int ?? 0, c["workers"] as? Int ?? 0, e["samplesPerStep"] as? Int ?? 0, e["microBatches"] as? Int ?? 0]
        }
        // bn: W = 4 / batch workers, one micro-batch each; syncbn: one micro-batch of all 4 clips.
        #expect(got == [[1, 4, 4, 4], [2, 2, 4, 2], [1, 4, 4, 1], [2, 2, 4, 1]], "\(got)")
        #expect(cells(doc).map { ($0["cell"] as? [String: Any])?["norm"] as? String ?? "" } == ["bn", "bn", "syncbn", "syncbn"])
    }

    /// `--workers 1,2`: every selected method at each listed W, as `run --workers` would train it;
    /// `--norms` in place of the sweep's, as in `run` (syncbn is not in tinybench's sweep).
    @Test func workersListTimesEachMethodAtEachCount() throws {
        let r = try BuiltBinary.run(["bench", "train", "\(folder)/tinybench.yaml", "--norms", "bn,syncbn", "--batches", "2", "--workers", "1,2",
                                     "--steps", "1", "--warmup", "0", "--repeats", "1", "--json"], timeout: 300)
        #expect(r.status == 0, "stderr: \(r.stderr)")
        let doc = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        let got = cells(doc).map { e -> [Int] in
            let c = e["cell"] as? [String: Any] ?? [:]
            return [c["workers"] as? Int ?? 0, e["samplesPerStep"] as? Int ?? 0, e["microBatches"] as? Int ?? 0]
        }
        // BN: one micro-batch per worker; SyncBN: one micro-batch of all W × batch clips.
        #expect(got == [[1, 2, 1], [1, 2, 1], [2, 4, 2], [2, 4, 1]], "\(got)")
        #expect(cells(doc).map { ($0["cell"] as? [String: Any])?["norm"] as? String ?? "" } == ["bn", "syncbn", "bn", "syncbn"])
    }

    @Test func misuseIsOneLineExitTwoAndNoFile() throws {
        let out = "\(folder)/bad/bench.json"
        try FileManager.default.createDirectory(atPath: "\(folder)/adir", withIntermediateDirectories: true)
        let cases: [([String], String)] = [
            (["nosuchworkload"], "nosuchworkload"),
            (["\(folder)/tinybench.yaml", "--batches", "0"], "--batches: \"0\" is not valid"),
            (["\(folder)/tinybench.yaml", "--batches", "8"], "--batches: 8 is not a batch of the sweep of tinybench (2, 4)"),
            (["\(folder)/tinybench.yaml", "--norms", "foo"], "--norms: \"foo\" is not valid; expected one of bn,"),
            (["\(folder)/tinybench.yaml", "--norms", "ln", "--batches", "4"], "select no cell of tinybench"),
            (["\(folder)/tinybench.yaml", "--steps", "0"], "--steps"),
            (["\(folder)/tinybench.yaml", "--repeats", "0"], "--repeats"),
            (["\(folder)/tinybench.yaml", "--threads", "0"], "--threads"),
            (["\(folder)/tinybench.yaml", "--workers", "0"], "--workers"),
            (["\(folder)/tinyghost.yaml", "--workers", "2"], "leave out --workers"),
        ]
        for (args, mention) in cases {
            let r = try BuiltBinary.run(["bench", "train"] + args + ["--out", out, "--workloads", folder])
            #expect(r.status == 2, "\(args): \(r.status) \(r.stderr)")
            #expect(r.stderrLines.count == 1, "\(args): \(r.stderr)")
            #expect(r.stderr.hasPrefix("normbench bench train: ") && r.stderr.contains(mention), "\(args): \(r.stderr)")
            #expect(!FileManager.default.fileExists(atPath: out), "\(args)")
            #expect(!FileManager.default.fileExists(atPath: "\(folder)/bad"), "\(args)")
        }
        let dir = try BuiltBinary.run(["bench", "train", "\(folder)/tinybench.yaml", "--out", "\(folder)/adir"])
        #expect(dir.status == 2 && dir.stderrLines.count == 1 && dir.stderr.contains("is a folder"), "\(dir.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: "\(folder)/adir").isEmpty)
    }
}
