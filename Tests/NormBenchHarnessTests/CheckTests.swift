import Foundation
import Testing
import NormBenchHarness
import NormBenchTestSupport

/// The smoke sweep's shape: bn, gn × batch 2, 8; 32 evaluation clips.
private func run() -> [ResultRecord] {
    [("bn", 2, 0.40), ("bn", 8, 0.30), ("gn", 2, 0.31), ("gn", 8, 0.30)].map { sampleRecord(norm: $0, batch: $1, top1Error: $2) }
}

private func check(_ records: [ResultRecord], against base: [ResultRecord], tolerances: CheckTolerances = .standard) throws -> CheckReport {
    try RegressionCheck.compare(baseline: Baseline(runs: [("base", base)], tolerances: tolerances), records: records, run: "run", baselinePath: "base.json")
}

private func modify(_ records: [ResultRecord], _ change: (inout ResultRecord) -> Void) -> [ResultRecord] {
    records.map { var r = $0; change(&r); return r }
}

@Suite struct CheckTests {
    @Test func identicalRunPasses() throws {
        let report = try check(run(), against: run())
        #expect(report.passed)
        #expect(report.rows.allSatisfy { $0.verdict == .unchanged })
        #expect(report.render().hasSuffix("0 regressed\nPASS\n"), "\(report.render())")
    }

    @Test func onTheSameFingerprintAnyWorseningIsARegression() throws {
        // Training is bitwise reproducible on one fingerprint: one clip, or one ulp of loss, fails.
        let oneClip = try check(modify(run()) { if $0.cell.norm == "gn" { $0.accuracy!.top1Error! += 1.0 / 32 } }, against: run())
        #expect(!oneClip.passed)
        #expect(oneClip.regressions.map(\.metric) == ["top1Error", "top1Error"])
        #expect(oneClip.regressions.map(\.cell) == ["smoke/gn_b2_w1_g4_s0_t2", "smoke/gn_b8_w1_g4_s0_t2"])
        #expect(oneClip.render().contains("FAIL: 2 regressions"))
        let oneUlp = try check(modify(run()) { if $0.cell.batch == 8 { $0.accuracy!.evalLoss = $0.accuracy!.evalLoss!.nextUp } }, against: run())
        #expect(oneUlp.regressions.map(\.metric) == ["evalLoss", "evalLoss"], "\(oneUlp.render())")
        // Better accuracy is not a regression.
        let better = try check(modify(run()) { $0.accuracy!.top1Error! -= 0.1 }, against: run())
        #expect(better.passed)
        #expect(better.rows.filter { $0.verdict == .improved }.count == 4)
        // A baseline's own tolerances can allow a clip.
        #expect(try check(modify(run()) { $0.accuracy!.top1Error! += 1.0 / 32 }, against: run(), tolerances: CheckTolerances(errorClips: 1)).passed)
    }

    @Test func slowerRelativeThroughputIsARegression() throws {
        // 20 → 12 clips/s in every cell on an unchanged machine: 40 % slower. Each cell
        // is inside its own noise allowance (50 %), the workload's geometric mean is not (30 %).
        let slower = try check(modify(run()) { setTrainingSpeed(&$0, 12) }, against: run())
        #expect(!slower.passed)
        #expect(slower.regressions.map(\.metric) == ["trainClipsPerSecond/cal"])
        #expect(slower.regressions.first?.cell == "smoke (geomean of 4 cells)")
        #expect(slower.regressions.first?.change == "-40.00%")
        #expect(slower.rows.filter { $0.metric == "trainClipsPerSecond/cal" && $0.verdict == .withinTolerance }.count == 4)
        // One cell 2.5× slower: that cell fails, the geometric mean (0.4^¼ = 0.80) does not.
        let oneCell = try check(modify(run()) { if $0.cell.norm == "gn" && $0.cell.batch == 8 { setTrainingSpeed(&$0, 8) } }, against: run())
        #expect(oneCell.regressions.map(\.cell) == ["smoke/gn_b8_w1_g4_s0_t2"], "\(oneCell.render())")
        // The same clips/s on a machine whose probes measured 0.6× as fast: not the code's fault.
        let slowMachine = try check(modify(run()) {
            setTrainingSpeed(&$0, 12)
            $0.throughput!.evalClipsPerSecond *= 0.6
            $0.calibration = Calibration(convGFLOPS: 60, bandwidthGBps: 9)
        }, against: run())
        #expect(slowMachine.passed, "\(slowMachine.render())")
        // 20 % slower is inside the 30 % allowed for a noisy 2-core machine.
        #expect(try check(modify(run()) { setTrainingSpeed(&$0, 16) }, against: run()).passed)
        // Faster passes.
        let faster = try check(modify(run()) { setTrainingSpeed(&$0, 40) }, against: run())
        #expect(faster.passed)
        #expect(faster.rows.filter { $0.verdict == .improved }.count == 4 + 1)
    }

    @Test func calibrationAroundTheCellAndTheDecode() throws {
        // The index is the geometric mean of every probe: before and after the cell.
        let c = Calibration(convGFLOPS: 100, bandwidthGBps: 16, convGFLOPSAfter: 25, bandwidthGBpsAfter: 4)
        #expect(abs(c.index - 20) < 1e-12)
        #expect(Calibration(convGFLOPS: 100, bandwidthGBps: 16).index == 40)
        #expect(Calibration(convGFLOPS: 0, bandwidthGBps: 16).index == 0)
        // Half the clips/s while the machine measured half as fast after the cell
        // (probes 0.5^½ of before on average): the normalised speed fell by 0.5^½ only.
        let slowedDuring = try check(modify(run()) {
            setTrainingSpeed(&$0, 10)
            $0.calibration = $0.calibration!.followed(by: Calibration(convGFLOPS: 50, bandwidthGBps: 7.5))
        }, against: run())
        let row = slowedDuring.rows.first { $0.cell == "smoke (geomean of 4 cells)" && $0.metric == "trainClipsPerSecond/cal" }
        #expect(row?.current == "0.7071", "\(slowedDuring.render())")
        #expect(slowedDuring.render().contains("note: the machine's speed moved during 4 of 4 cells (calibration before vs after differs by up to 100%)"))
        let steady = try check(modify(run()) { $0.calibration = $0.calibration!.followed(by: Calibration(convGFLOPS: 90, bandwidthGBps: 15)) }, against: run())
        #expect(steady.notes.isEmpty)
        // Decode speed is divided by the probes taken right after the decode, not the cell's.
        let decoded = modify(run()) {
            $0.throughput!.decodeFramesPerSecond = 1000
            $0.throughput!.decodeCalibration = Calibration(convGFLOPS: 100, bandwidthGBps: 15)
        }
        let slowDecodeMachine = try check(modify(decoded) {
            $0.throughput!.decodeFramesPerSecond = 500
            $0.throughput!.decodeCalibration = Calibration(convGFLOPS: 50, bandwidthGBps: 7.5)
        }, against: decoded)
        #expect(slowDecodeMachine.passed, "\(slowDecodeMachine.render())")
        let slowDecode = try check(modify(decoded) { $0.throughput!.decodeFramesPerSecond = 500 }, against: decoded)
        #expect(slowDecode.regressions.map(\.metric) == ["decodeFramesPerSecond/cal"], "\(slowDecode.render())")
    }

    @Test func baselineFromSeveralRunsTakesTheMedianSpeed() throws {
        let speeds: [Double] = [20, 10, 40]
        let runs = speeds.enumerated().map { k, v in (folder: "run\(k)", records: modify(run()) { setTrainingSpeed(&$0, v) }) }
        let baseline = try Baseline(runs: runs)
        let median = try Baseline(runs: [("one", run())])
        #expect(baseline.cells.map(\.entries) == median.cells.map(\.entries))
        #expect(baseline.madeFrom.hasSuffix("(3 runs of the checked cells, 0 more for the spreads)"))
        // A deterministic metric that differs between the runs: not reproducible, no baseline.
        let differing = [(folder: "a", records: run()), (folder: "b", records: modify(run()) { $0.accuracy!.top1Error! += 0.01 })]
        #expect(throws: HarnessError.self) { try Baseline(runs: differing) }
        #expect(throws: HarnessError.self) { try Baseline(runs: [(folder: "a", records: run()), (folder: "b", records: Array(run().dropLast()))]) }
    }

    @Test func ledgerMemoryIsExact() throws {
        let more = try check(modify(run()) { $0.memory.ledgerPeakBytes += 1; $0.memory.ledgerAtPeakBytes["activations"]! += 1 }, against: run())
        #expect(!more.passed)
        #expect(more.regressions.count == 8)
        #expect(Set(more.regressions.map(\.metric)) == ["ledgerPeakBytes", "ledgerAtPeak.activations"])
        let less = try check(modify(run()) { $0.memory.ledgerPeakBytes -= 4096 }, against: run())
        #expect(less.passed)
    }

    @Test func countsStatusAndDataMustMatch() throws {
        #expect(try !check(modify(run()) { $0.training!.steps = 9 }, against: run()).passed)
        #expect(try !check(modify(run()) { $0.data.digest = "other" }, against: run()).passed)
        #expect(try !check(modify(run()) { $0.status = .overBudget }, against: run()).passed)
    }

    @Test func mismatchedCellsOrWorkloadsAreErrors() throws {
        #expect(throws: HarnessError.self) { try check(Array(run().dropLast()), against: run()) }
        #expect(throws: HarnessError.self) { try check(run() + [sampleRecord(norm: "ln", batch: 2)], against: run()) }
        #expect(throws: HarnessError.self) { try check(modify(run()) { $0.cell.workload = "video-cls" }, against: run()) }
        #expect(throws: HarnessError.self) { try check(modify(run()) { $0.cell.threads = 1 }, against: run()) }
        // A metric the baseline has but the run lacks (no calibration → no relative throughput).
        #expect(throws: HarnessError.self) { try check(modify(run()) { $0.calibration = nil }, against: run()) }
        // A cell twice (an older and a newer run under one folder): which counts is not guessed.
        #expect(throws: HarnessError.self) { try check(run() + [modify(run()) { $0.accuracy!.top1Error = 0.9 }[0]], against: run()) }
    }

    @Test func baselineRoundTripsByteStable() throws {
        let dir = scratchDirectory("harness")
        let path = "\(dir)/baseline/smoke.json"
        let baseline = try Baseline(runs: [("run", run())], tolerances: CheckTolerances(throughputRelative: 0.5))
        try baseline.write(path: path)
        let first = try Data(contentsOf: URL(fileURLWithPath: path))
        #expect(try Baseline.read(path: path) == baseline)
        try Baseline(runs: [("run", run().reversed())], tolerances: CheckTolerances(throughputRelative: 0.5)).write(path: path)
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == first)
        try Data("{}".utf8).write(to: URL(fileURLWithPath: path))
        #expect(throws: HarnessError.self) { try Baseline.read(path: path) }
        // Baselines no run could have produced are refused, not passed.
        func refused(_ change: (inout Baseline) -> Void) throws -> Bool {
            var b = baseline
            change(&b)
            try b.write(path: path)
            do { _ = try Baseline.read(path: path); return false } catch is HarnessError { return true }
        }
        #expect(try refused { $0.cells[0].entries[0].metrics = [:] })
        #expect(try refused { $0.cells = [] })
        #expect(try refused { $0.cells[0].entries[0].metrics["top1Error"] = -0.2 })
        #expect(try refused { $0.cells[0].entries[0].metrics["top5Error"] = 1.5 })
        #expect(try refused { $0.tolerances.errorClips = -1 })
        #expect(try refused { $0.tolerances.throughputRelative = -0.3 })
        #expect(try refused { $0.tolerances.falseAlarmRate = 0 })
        #expect(try refused { $0.cells[0].entries[0].fingerprint = "nowhere" })
        // Tolerances come from the file: 40 % slower passes with 50 % allowed.
        let loose = try check(modify(run()) { setTrainingSpeed(&$0, 12) }, against: run(), tolerances: CheckTolerances(throughputRelative: 0.5))
        #expect(loose.passed)
    }
}

/// Sets a record's training speed as a run would: clips/s and the median step time agree.
func setTrainingSpeed(_ r: inout ResultRecord, _ clipsPerSecond: Double) {
    r.throughput!.trainClipsPerSecond = clipsPerSecond
    r.throughput!.stepSecondsMedian = Double(r.training!.samplesPerStep) / clipsPerSecond
}
