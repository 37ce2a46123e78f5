#if NORMBENCH_MPI
import Foundation
import Testing
import NormBenchTestSupport

/// The MPI build under `mpirun -np 2` (exists only in the NORMBENCH_MPI=1 build; run by
/// scripts/test-mpi.sh): data-parallel training gives the single-process
/// simulation's numbers, a distributed sweep gives the serial sweep's records,
/// and failures stop the job with one line and leave whole records.
///
/// Equality tolerance of data-parallel vs simulation: every final parameter and
/// running statistic within 1e-5 + 1e-4·|value|, every step's loss within 1e-6
/// relative, evaluation loss within 1e-6 relative, top-1 error equal. The two
/// sum the same numbers in different orders (the gradient all-reduce adds the
/// ranks' gradients where the simulation accumulates micro-batch after
/// micro-batch into one buffer; SyncBN's simulation is one micro-batch of W·b),
/// so they differ by float rounding, which training carries forward; observed
/// here after 8 steps: ≤ 6e-8 absolute.
@Suite(.serialized) struct MPICLITests {
    static func workload(name: String, cache: String, steps: Int, norms: String, seeds: String = "[0]", precise: Int = 0) -> String {
        """
        name: \(name)
        description: two MPI ranks, seconds
        data:
          cache: \(cache)
          synthetic: {trainClips: 16, evalClips: 8, classes: 2, frames: 6, width: 16, height: 16}
        clip: {frames: 2, stride: 2, size: 16, flip: true}
        model: {widths: [4, 8, 8]}
        training: {steps: \(steps), warmupSteps: 2, baseLR: 0.05, referenceBatch: 2, preciseBNBatches: \(precise)}
        sweep: {norms: \(norms), batches: [2], groups: [2], seeds: \(seeds), threads: [1]}
        """
    }

    let folder: String

    init() throws {
        folder = scratchDirectory("mpi")
    }

    func write(_ text: String, _ name: String) throws -> String {
        let path = "\(folder)/\(name)"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// `mpirun -np 2 normbench <args>` (MPMD when `second` is given: rank 1 runs it instead).
    func mpirun(_ args: [String], second: [String]? = nil, timeout: Double = 300) throws -> BuiltBinary.Output {
        let binary = try BuiltBinary.locate()
        var line = ["mpirun", "-q", "--oversubscribe"] + (getuid() == 0 ? ["--allow-run-as-root"] : [])
        if let second {
            line += ["-np", "1", binary] + args + [":", "-np", "1"] + second
        } else {
            line += ["-np", "2", binary] + args
        }
        return try BuiltBinary.runProcess("/usr/bin/env", line, timeout: timeout)
    }

    func records(_ run: String) throws -> [String: [String: Any]] {
        var out: [String: [String: Any]] = [:]
        for f in try FileManager.default.contentsOfDirectory(atPath: "\(run)/cells") where !f.hasPrefix(".") {
            let data = try Data(contentsOf: URL(fileURLWithPath: "\(run)/cells/\(f)"))
            out[f] = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any], "\(f) is not a JSON object")
        }
        return out
    }

    func floats(_ path: String) throws -> [Float] {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        return data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
    }

    func losses(_ r: [String: Any]) -> [Double] {
        ((r["training"] as? [String: Any])?["lossCurve"] as? [[String: Any]] ?? []).compactMap { $0["loss"] as? Double }
    }

    /// The record's deterministic part: what a serial and a distributed sweep must agree on.
    func deterministic(_ r: [String: Any]) -> NSDictionary {
        let memory = r["memory"] as? [String: Any] ?? [:]
        return [
            "status": r["status"] ?? "", "accuracy": r["accuracy"] ?? [:], "training": r["training"] ?? [:],
            "ledgerPeakBytes": memory["ledgerPeakBytes"] ?? 0, "ledgerAtPeakBytes": memory["ledgerAtPeakBytes"] ?? [:],
            "data": r["data"] ?? [:],
        ] as NSDictionary
    }

    /// BN (per worker, running statistics replayed), SyncBN and GN on 2 ranks
    /// against `--workers 2` in one process; then the same sweep spread over the
    /// ranks cell by cell equals the serial sweep record for record, and resumes.
    @Test func dataParallelAndDistributedCellsEqualTheSimulation() throws {
        let yaml = try write(Self.workload(name: "mpitiny", cache: "\(folder)/cache", steps: 8, norms: "[bn, syncbn, gn]"), "mpitiny.yaml")
        let sim = try BuiltBinary.run(["run", yaml, "--workers", "2", "--out", "\(folder)/sim", "--final-state", "\(folder)/sim-state"], timeout: 300)
        #expect(sim.status == 0, "simulation: \(sim.stderr)")
        let dp = try mpirun(["run", yaml, "--distributed", "--out", "\(folder)/dp", "--final-state", "\(folder)/dp-state"])
        #expect(dp.status == 0, "data-parallel: \(dp.stderr)")
        let simRecords = try records("\(folder)/sim"), dpRecords = try records("\(folder)/dp")
        #expect(simRecords.keys.sorted() == ["bn_b2_w2_g-_s0_t1.json", "gn_b2_w2_g2_s0_t1.json", "syncbn_b2_w2_g-_s0_t1.json"])
        #expect(dpRecords.keys.sorted() == simRecords.keys.sorted())
        for (name, s) in simRecords {
            let d = try #require(dpRecords[name])
            let cell = String(name.dropLast(5))
            let sa = s["accuracy"] as? [String: Double] ?? [:], da = d["accuracy"] as? [String: Double] ?? [:]
            #expect(sa["top1Error"] != nil && da["top1Error"] == sa["top1Error"], "\(cell): top-1 error \(String(describing: da["top1Error"])) vs \(String(describing: sa["top1Error"]))")
            let se = sa["evalLoss"] ?? 0, de = da["evalLoss"] ?? -1
            #expect(abs(de - se) <= 1e-6 * abs(se), "\(cell): eval loss \(de) vs \(se)")
            let sl = losses(s), dl = losses(d)
            #expect(sl.count == 8 && dl.count == 8)
            let worstLoss = zip(sl, dl).map { abs($0 - $1) / abs($0) }.max() ?? 1
            #expect(worstLoss <= 1e-6, "\(cell): step loss differs by \(worstLoss) relative")
            let ss = try floats("\(folder)/sim-state/\(cell).f32"), ds = try floats("\(folder)/dp-state/\(cell).f32")
            #expect(ss.count == ds.count && !ss.isEmpty)
            var worst = 0.0, worstIndex = 0
            for i in ss.indices where i < ds.count {
                let excess = Double(abs(ss[i] - ds[i])) - (1e-5 + 1e-4 * Double(abs(ss[i])))
                if excess > worst { worst = excess; worstIndex = i }
            }
            #expect(worst == 0, "\(cell): final state element \(worstIndex) differs: \(ds[worstIndex]) vs simulation \(ss[worstIndex]) (tolerance 1e-5 + 1e-4·|value|)")
            let dist = try #require(d["distributed"] as? [String: Any], "\(cell): no distributed info")
            #expect(dist["mode"] as? String == "data-parallel" && dist["ranks"] as? Int == 2)
            #expect((dist["mpiLibrary"] as? String ?? "").contains("MPI"))
            let c = try #require(dist["collective"] as? [String: Any])
            #expect(c["replicasIdentical"] as? Bool == true, "\(cell): ranks ended with different parameters")
            #expect((c["gradientBytesPerStep"] as? Int ?? 0) > 0)
            #expect(((c["syncBNBytesPerStep"] as? Int ?? 0) > 0) == cell.hasPrefix("syncbn"))
            #expect(s["distributed"] == nil)
            if !cell.hasPrefix("syncbn") {
                // One worker's memory, as the simulation's (SyncBN's simulation holds W·b samples).
                let sm = s["memory"] as? [String: Any], dm = d["memory"] as? [String: Any]
                #expect(dm?["ledgerPeakBytes"] as? Int == sm?["ledgerPeakBytes"] as? Int, "\(cell): ledger peak")
            }
        }

        // The same sweep, cells spread over the ranks: records equal the serial ones.
        let cells = try mpirun(["run", yaml, "--distribute-cells", "--workers", "2", "--out", "\(folder)/cells"])
        #expect(cells.status == 0, "distribute-cells: \(cells.stderr)")
        let cellRecords = try records("\(folder)/cells")
        #expect(cellRecords.keys.sorted() == simRecords.keys.sorted())
        for (name, s) in simRecords {
            let d = try #require(cellRecords[name])
            #expect(deterministic(d) == deterministic(s), "\(name): distributed cell differs from the serial sweep")
            let dist = d["distributed"] as? [String: Any]
            #expect(dist?["mode"] as? String == "cells" && dist?["collective"] == nil)
        }
        #expect(Set(cellRecords.values.compactMap { ($0["distributed"] as? [String: Any])?["rank"] as? Int }) == [0, 1])

        // Resume: rank 0 keeps a finished record byte for byte and reruns the missing one.
        let kept = "\(folder)/cells/cells/bn_b2_w2_g-_s0_t1.json", removed = "\(folder)/cells/cells/gn_b2_w2_g2_s0_t1.json"
        let keptBytes = try Data(contentsOf: URL(fileURLWithPath: kept))
        try FileManager.default.removeItem(atPath: removed)
        let resumed = try mpirun(["run", yaml, "--distribute-cells", "--workers", "2", "--out", "\(folder)/cells", "--resume"])
        #expect(resumed.status == 0, "resume: \(resumed.stderr)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: kept)) == keptBytes)
        #expect(resumed.stdout.contains("done earlier, kept"))
        let again = try records("\(folder)/cells")
        #expect(again["gn_b2_w2_g2_s0_t1.json"].map(deterministic) == simRecords["gn_b2_w2_g2_s0_t1.json"].map(deterministic))
    }

    /// PreciseBN after data-parallel training runs locally on every rank, as in the simulation.
    @Test func preciseBNAfterDataParallelTraining() throws {
        let yaml = try write(Self.workload(name: "mpiprecise", cache: "\(folder)/cache", steps: 6, norms: "[bn, syncbn]", precise: 2), "mpiprecise.yaml")
        let sim = try BuiltBinary.run(["run", yaml, "--workers", "2", "--out", "\(folder)/psim", "--final-state", "\(folder)/psim-state"], timeout: 300)
        #expect(sim.status == 0, "simulation: \(sim.stderr)")
        let dp = try mpirun(["run", yaml, "--distributed", "--out", "\(folder)/pdp", "--final-state", "\(folder)/pdp-state"])
        #expect(dp.status == 0, "data-parallel: \(dp.stderr)")
        for cell in ["bn_b2_w2_g-_s0_t1", "syncbn_b2_w2_g-_s0_t1"] {
            let ss = try floats("\(folder)/psim-state/\(cell).f32"), ds = try floats("\(folder)/pdp-state/\(cell).f32")
            #expect(ss.count == ds.count)
            let bad = ss.indices.filter { i in i < ds.count && Double(abs(ss[i] - ds[i])) > 1e-5 + 1e-4 * Double(abs(ss[i])) }
            #expect(bad.isEmpty, "\(cell): \(bad.count) state elements beyond tolerance, first \(bad.first ?? -1)")
        }
    }

    /// Detection cells (`DetectionTask`, no linear layer) through the same data-parallel loop.
    @Test func detectionDataParallelEqualsTheSimulation() throws {
        let yaml = try write("""
            name: mpidet
            description: detection on two MPI ranks
            task: detection
            data:
              cache: \(folder)/cache
              synthetic: {trainClips: 16, evalClips: 8, classes: 2, objects: 2, frames: 6, width: 32, height: 32}
            clip: {frames: 2, stride: 1, size: 32, sampling: dense}
            model: {architecture: resnet3d-tiny-dense, widths: [8, 8, 8]}
            training: {steps: 8, warmupSteps: 2, baseLR: 0.02, referenceBatch: 2}
            sweep: {norms: [bn, syncbn], batches: [2], seeds: [0], threads: [1]}
            """, "mpidet.yaml")
        let sim = try BuiltBinary.run(["run", yaml, "--workers", "2", "--out", "\(folder)/dsim", "--final-state", "\(folder)/dsim-state"], timeout: 300)
        #expect(sim.status == 0, "simulation: \(sim.stderr)")
        let dp = try mpirun(["run", yaml, "--distributed", "--out", "\(folder)/ddp", "--final-state", "\(folder)/ddp-state"])
        #expect(dp.status == 0, "data-parallel: \(dp.stderr)")
        let simRecords = try records("\(folder)/dsim"), dpRecords = try records("\(folder)/ddp")
        for cell in ["bn_b2_w2_g-_s0_t1", "syncbn_b2_w2_g-_s0_t1"] {
            let sa = simRecords["\(cell).json"]?["accuracy"] as? [String: Double], da = dpRecords["\(cell).json"]?["accuracy"] as? [String: Double]
            #expect(sa?["mAP50"] != nil && sa?["mAP50"] == da?["mAP50"] && sa?["mAP"] == da?["mAP"], "\(cell): mAP")
            let ss = try floats("\(folder)/dsim-state/\(cell).f32"), ds = try floats("\(folder)/ddp-state/\(cell).f32")
            #expect(ss.count == ds.count)
            let bad = ss.indices.filter { i in i < ds.count && Double(abs(ss[i] - ds[i])) > 1e-5 + 1e-4 * Double(abs(ss[i])) }
            #expect(bad.isEmpty, "\(cell): \(bad.count) state elements beyond tolerance")
        }
    }

    /// Ranks started with different seeds: exit 2, one line from rank 0, no run folder.
    @Test func mismatchedRanksStopBeforeAnyWork() throws {
        let yaml = try write(Self.workload(name: "mpimismatch", cache: "\(folder)/cache", steps: 4, norms: "[gn]"), "mpimismatch.yaml")
        let run = "\(folder)/mismatch"
        let args = ["run", yaml, "--distributed", "--out", run]
        let r = try mpirun(args + ["--seeds", "0"], second: [try BuiltBinary.locate()] + args + ["--seeds", "1"])
        #expect(r.status == 2, "status \(r.status), stderr: \(r.stderr)")
        let lines = r.stderrLines.filter { $0.hasPrefix("normbench") }
        #expect(lines.count == 1 && lines[0].hasPrefix("normbench run: rank 1 resolved a different sweep than rank 0"), "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: run))
    }

    /// Rank 1 killed (SIGKILL) in the middle of a data-parallel sweep, after the
    /// first record: mpirun stops the job, rank 0 prints one line, the records
    /// on disk are whole.
    @Test func aRankThatDiesStopsTheJobAndLeavesWholeRecords() throws {
        let yaml = try write(Self.workload(name: "mpikill", cache: "\(folder)/cache", steps: 3000, norms: "[gn]", seeds: "[0, 1, 2]"), "mpikill.yaml")
        let run = "\(folder)/killed"
        let killer = try write("""
            # rank 1: run normbench in the background, SIGKILL it once rank 0 has written a record
            folder=$1; shift
            "$@" &
            pid=$!
            while kill -0 $pid 2>/dev/null && [ -z "$(ls "$folder/cells" 2>/dev/null)" ]; do sleep 0.02; done
            kill -9 $pid
            wait $pid
            """, "killer.sh")
        let args = ["run", yaml, "--distributed", "--out", run]
        let r = try mpirun(args, second: ["sh", killer, run, try BuiltBinary.locate()] + args, timeout: 600)
        #expect(r.status != 0, "the job should fail; stdout: \(r.stdout.suffix(300))")
        let lines = r.stderrLines.filter { $0.hasPrefix("normbench") }
        #expect(lines.count == 1 && lines.first?.hasPrefix("normbench run: stopped: another MPI rank failed or exited") == true, "\(r.stderr)")
        let recs = try records(run)
        #expect((1...2).contains(recs.count), "records: \(recs.keys.sorted())")
        for (name, rec) in recs { #expect(rec["status"] as? String == "completed", "\(name)") }
    }
}
#endif
