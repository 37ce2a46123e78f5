import Foundation
import Testing
@testable import NormBenchHarness
import NormBenchTestSupport
import NormBenchWorkloads

/// A BN/GN batch study built in memory: BN rises from batch 16 to batch 2 by
/// 10 points; GN is flat (tight, or noisy with `noisyGN`).
private func study(noisyGN: Bool = false, commits: [String] = ["abc123"]) -> [ResultRecord] {
    let errors: [String: [Int: [Double]]] = [
        "bn": [2: [0.40, 0.41, 0.42], 16: [0.30, 0.31, 0.32]],
        "gn": noisyGN ? [2: [0.30, 0.36, 0.24], 16: [0.30, 0.25, 0.35]] : [2: [0.300, 0.301, 0.299], 16: [0.300, 0.302, 0.298]],
    ]
    var out: [ResultRecord] = []
    for (norm, byBatch) in errors {
        for (batch, seeds) in byBatch {
            for (seed, e) in seeds.enumerated() {
                var r = sampleRecord(norm: norm, batch: batch, seed: seed, top1Error: e)
                r.cell.workload = "study"
                r.data = DataSummary(description: "synthetic seed 1: 4 classes", trainClips: 48, evalClips: 200, digest: "abc")
                r.environment.gitCommit = commits[(out.count) % commits.count]
                out.append(r)
            }
        }
    }
    return out
}

private func page(_ records: [ResultRecord], _ path: String = "study.md") throws -> String {
    let files = try Publisher.render(records)
    return String(decoding: try #require(files.first { $0.path == path }).contents, as: UTF8.self)
}

@Suite struct StudyPageTests {
    @Test func flatGNIsEquivalentAndBNsRiseIsResolved() throws {
        let md = try page(study())
        #expect(md.contains("| BN | 41.0 ± 2.5 (n=3) | 31.0 ± 2.5 (n=3) |"), "\(md)")
        #expect(md.contains("- BN at batch 2 is worse than at batch 16 by 10.0 points [7.7, 12.3]."))
        #expect(md.contains("equivalent within ±2 points (TOST, α = 0.05"))
        #expect(!md.contains("not shown to be equivalent"))
        #expect(md.contains("BN degrades more than GN (G=4) as the batch shrinks, by 10.0 points"))
        #expect(md.contains("- At batch 2, GN (G=4) is better than BN by 11.0 points"))
        #expect(!md.contains(", BN vs GN") && !md.contains("BN is worse than GN"))  // BN against GN is said once, GN first
        #expect(md.contains("Chance level: 75.0 % top-1 error (4 classes, 1 − 1/4)."))
        #expect(md.contains("200 evaluation clips per cell (one clip = 0.50 points of error)"))
        #expect(md.contains("Records from commit `abc123` (12 records)."))
        #expect(!md.contains("Warning"))
        #expect(!md.contains("Ghost-batch"))
        #expect(!md.contains("paper (ImageNet"))  // paper columns live on study-paper.md
        // The figure: 95 % CI bars, chance line, log₂ axis, n in the legend.
        let svg = try page(study(), "study-error.svg")
        #expect(svg.contains("batch per worker (log₂ scale)"))
        #expect(svg.contains("chance (4 classes)"))
        #expect(svg.contains("BN (n=3)"))
        #expect(svg.contains("bars 95 % CI"))
        let paper = try page(study(), "study-paper.md")
        #expect(paper.contains("paper (ImageNet, reference), batch 32"))
    }

    /// Detection: mAP is higher-is-better, so BN's fall at batch 2 is its degradation;
    /// SyncBN is set against BN with the same two workers; lines pair by seed.
    @Test func detectionHeadlineReadsMAPAsHigherIsBetter() throws {
        let maps: [(String, Int, Int, [Double])] = [
            ("bn", 1, 2, [0.80, 0.81, 0.82]), ("bn", 1, 8, [0.90, 0.91, 0.92]),
            ("gn", 1, 2, [0.900, 0.901, 0.899]), ("gn", 1, 8, [0.900, 0.902, 0.898]),
            ("bn", 2, 2, [0.78, 0.80, 0.79]), ("syncbn", 2, 2, [0.88, 0.91, 0.90]),
        ]
        var records: [ResultRecord] = []
        for (norm, workers, batch, seeds) in maps {
            for (seed, ap) in seeds.enumerated() {
                var r = sampleRecord(norm: norm, batch: batch, seed: seed)
                r.cell.workload = "det"
                r.cell.workers = workers
                r.task = "detection"
                r.accuracy = Accuracy(mAP50: ap, mAP: ap / 2)
                // GN at 8, seed 2 still rising at the end: +2.1 points over its last three evaluations.
                let rise = norm == "gn" && batch == 8 && seed == 2 ? 0.021 : 0.005
                r.evaluation = EvaluationSection(
                    protocol: "median of last 1 of 3 evaluations",
                    runs: [ap - rise, ap - 0.001, ap].enumerated().map { .init(step: $0.offset, epoch: Double(10 + $0.offset), metrics: ["mAP50": $0.element]) })
                records.append(r)
            }
        }
        let md = try page(records, "det.md")
        #expect(md.contains("## Headline differences (mAP@0.5, points, 95 % CI)"), "\(md)")
        #expect(md.contains("- BN W=1 at batch 2 is worse than at batch 8 by 10.0 points [7.7, 12.3]."))
        #expect(md.contains("BN W=1 degrades more than GN (G=4) W=1 as the batch shrinks, by 10.0 points"))
        #expect(md.contains("- At batch 2, GN (G=4) W=1 is better than BN W=1 by 9.0 points [6.5, 11.5]; paired by seed +9.0 [6.4, 11.6] (n=3)."))
        #expect(md.contains("- At batch 2, SyncBN W=2 is better than BN W=2 by 10.7 points"))
        #expect(md.contains("equivalent within ±2 points (TOST"))
        // The same list in mAP@0.5:0.95 (here half of mAP@0.5, so every difference halves).
        #expect(md.contains("## Headline differences (mAP@0.5:0.95, points, 95 % CI)"), "\(md)")
        #expect(md.contains("- BN W=1 at batch 2 is worse than at batch 8 by 5.0 points"), "\(md)")
        #expect(!md.contains("Paired over the same evaluation clips"))  // classification only
        #expect(md.contains("| method | batch | seed | mAP@0.5 (headline) | the evaluations (epochs 10, 11, 12) |"))
        #expect(md.contains("mAP@0.5 higher at the last evaluation than two evaluations before by more than 2 points in 1 of 18 cells: GN (G=4) W=1 at 8, seed 2: 87.7 → 89.7 → 89.8."), "\(md)")
    }

    @Test func noisyGNIsNotShownEquivalent() throws {
        let md = try page(study(noisyGN: true))
        #expect(md.contains("not shown to be equivalent within ±2 points (TOST, α = 0.05"), "\(md)")
        #expect(md.contains("- GN (G=4) at batch 2 vs at batch 16: no difference resolved: +0.0 ["))
    }

    @Test func oneSeedCellsHaveNoIntervalAndAreMarked() throws {
        var records = study()
        var ln = sampleRecord(norm: "ln", batch: 2, seed: 0, top1Error: 0.5)
        ln.cell.workload = "study"
        ln.environment.gitCommit = "abc123"
        records.append(ln)
        let md = try page(records)
        #expect(md.contains("| LN | 50.0 (n=1) † | – |"), "\(md)")
        #expect(md.contains("- At batch 2, LN vs GN (G=4): +20.0 points, no interval (a side has one seed)."))
        #expect(md.contains("† one seed: no interval"))
    }

    @Test func mixedAndDirtyCommitsAreWarnedAtTheTop() throws {
        let md = try page(study(commits: ["aaa", "bbb+dirty"]))
        let warning = try #require(md.range(of: "> **Warning: these records come from 2 different commits and include builds with uncommitted changes (`+dirty`).**"))
        #expect(warning.lowerBound < md.range(of: "## Top-1 error")!.lowerBound)
        #expect(md.contains("Records per commit: `aaa` 6, `bbb+dirty` 6."))
        // One commit, dirty: still warned.
        #expect(try page(study(commits: ["ccc+dirty"])).contains("include builds with uncommitted changes"))
    }

    @Test func failedCellsAreListedAndExcluded() throws {
        var records = study()
        var bad = sampleRecord(norm: "bn", batch: 2, seed: 3, top1Error: 0.99)
        bad.cell.workload = "study"
        bad.status = .diverged
        bad.note = "loss not finite at step 12"
        bad.environment.gitCommit = "abc123"
        records.append(bad)
        let md = try page(records)
        #expect(md.contains("| BN | 41.0 ± 2.5 (n=3) | 31.0 ± 2.5 (n=3) |"), "\(md)")  // unchanged
        #expect(md.contains("## Failed, diverged and not-run cells (excluded from means and figures)"))
        #expect(md.contains("| BN | 2 | 3 | diverged | loss not finite at step 12 |"))
        #expect(!(try page(records, "study-error.svg")).contains("n=4"))
    }

    @Test func ghostTableOnlyWithConstantStepCells() throws {
        var records = study()
        #expect(!(try page(records)).contains("Ghost-batch"))
        #expect(!(try page(records)).contains("one micro-batch"))
        // BN with 2 workers of 8 clips: the same 16-clip step as BN batch 16 on one worker.
        for (seed, e) in [0.33, 0.35, 0.34].enumerated() {
            var r = sampleRecord(norm: "bn", batch: 8, seed: seed, top1Error: e)
            r.cell.workload = "study"
            r.cell.workers = 2
            r.environment.gitCommit = "abc123"
            records.append(r)
        }
        let md = try page(records)
        #expect(md.contains("BN, same step of 16 clips, statistics over b:"), "\(md)")
        #expect(md.contains("| statistics over b | workers W | top-1 error (%) | minus b = 16, paired by seed (points, 95 % CI) |"))
        #expect(md.contains("| 16 | 1 | 31.0 ± 2.5 (n=3) | – |"))
        // Seed by seed 3, 4 and 2 points worse: mean 3.0, t(2) interval ± 4.303 · 1/√3.
        #expect(md.contains("| 8 | 2 | 34.0 ± 2.5 (n=3) | +3.0 [0.5, 5.5] (n=3) |"), "\(md)")
        #expect(!md.contains("one micro-batch"))  // BN with 2 workers runs one micro-batch per worker
        // SyncBN's memory in the simulation is explained under the memory table.
        var sync = sampleRecord(norm: "syncbn", batch: 8, seed: 0, top1Error: 0.3)
        sync.cell.workload = "study"
        sync.cell.workers = 2
        sync.environment.gitCommit = "abc123"
        #expect(try page(records + [sync]).contains("SyncBN W=2: this single-process simulation runs the step's 2 × batch clips as one micro-batch"))
    }

    @Test func evaluationSectionGivesProtocolPreciseBNAndChance() throws {
        var records = study()
        for i in records.indices where records[i].cell.norm == "bn" {
            let e = records[i].accuracy!.top1Error!
            records[i].evaluation = EvaluationSection(
                protocol: "median of last 5 of 5 evaluations",
                runs: [.init(step: 10, epoch: 2, metrics: ["top1Error": e], precise: ["top1Error": e - 0.05])],
                precise: ["top1Error": e - 0.05], confusion: [[1, 0, 0], [0, 1, 0], [0, 0, 1]])
        }
        let md = try page(records)
        #expect(md.contains("Evaluation protocol: \"median of last 5 of 5 evaluations\" (6 older records without an evaluation section: once, after the last step)."), "\(md)")
        #expect(md.contains("### PreciseBN statistics beside the running averages"))
        #expect(md.contains("| BN | EMA (headline) | 41.0 ± 2.5 (n=3) | 31.0 ± 2.5 (n=3) |"))
        #expect(md.contains("| BN | PreciseBN | 36.0 ± 2.5 (n=3) | 26.0 ± 2.5 (n=3) |"))
        // The confusion matrix (3 classes) disagrees with the description (4): no chance level is claimed.
        #expect(md.contains("Chance level: not stated"))
        let csv = String(decoding: try Publisher.render(records).first { $0.path == "cells.csv" }!.contents, as: UTF8.self)
        let header = csv.split(separator: "\n")[0]
        #expect(header.hasSuffix(",git_commit,date,eval_clips,eval_views,evaluations,evaluation_protocol,precise_top1_error,precise_top5_error,precise_map50,precise_map,precise_eval_loss"), "\(header)")
        #expect(csv.contains(",200,1,1,median of last 5 of 5 evaluations,0.3"))
        #expect(csv.contains(",200,1,,,,"))  // GN rows: no evaluation section
    }

    /// Every cell's evaluations are listed seed by seed, and a cell whose error
    /// fell by more than 2 points over its last three evaluations is named; 2.0
    /// points as the page shows them (GN seed 0: 32.0 → 30.0) is not "more than".
    @Test func everyCellListsItsEvaluationsAndNamesTheOnesStillFalling() throws {
        var records = study()
        for i in records.indices {
            let e = records[i].accuracy!.top1Error!
            let drop = records[i].cell.norm == "bn" && records[i].cell.batch == 2 && records[i].cell.seed == 1 ? 0.021
                : records[i].cell.norm == "gn" && records[i].cell.seed == 0 ? 0.02 : 0.001
            let errors = [e + 0.1, e + drop, e + 0.005, e]
            records[i].evaluation = EvaluationSection(
                protocol: "median of last 1 of 4 evaluations",
                runs: errors.enumerated().map { .init(step: $0.offset, epoch: 1.5 + Double($0.offset), metrics: ["top1Error": $0.element]) })
        }
        let md = try page(records)
        #expect(md.contains("| method | batch | seed | top-1 error (headline) | the evaluations (epochs 1.5, 2.5, 3.5, 4.5) |"), "\(md)")
        #expect(md.contains("| BN | 2 | 1 | 41.0 | 51.0, 43.1, 41.5, 41.0 |"), "\(md)")
        #expect(md.contains("by more than 2 points in 1 of 12 cells: BN at 2, seed 1: 43.1 → 41.5 → 41.0."), "\(md)")
        for i in records.indices { records[i].evaluation!.runs = [records[i].evaluation!.runs.last!] }
        #expect(try !page(records).contains("## Every cell"))
    }

    /// The data set's error floor comes from the run folders' run.json: stated when
    /// every run of the workload gives the same, left out when they disagree.
    @Test func errorFloorFromTheRunsDataIsStatedNextToChance() throws {
        func publish(_ stationary: [Double]) throws -> String {
            let root = scratchDirectory("floor"), out = scratchDirectory("floor-out")
            var records = study()
            for i in records.indices { records[i].data.description = "synthetic seed 1: 12 classes" }
            for (k, p) in stationary.enumerated() {
                let run = root + "/seed-\(k)"
                try FileManager.default.createDirectory(atPath: run, withIntermediateDirectories: true)
                let spec = #"{"workload": {"data": {"source": "synthetic", "synthetic": {"stationary": \#(p)}}}}"#
                try Data(spec.utf8).write(to: URL(fileURLWithPath: run + "/run.json"))
                for r in records where r.cell.seed % stationary.count == k { try RecordStore.write(r, in: run) }
            }
            try Publisher.publish(runs: [root], out: out)
            return try String(contentsOfFile: out + "/study.md", encoding: .utf8)
        }
        let md = try publish([0.2, 0.2])
        #expect(md.contains("Chance level: 91.7 % top-1 error (12 classes, 1 − 1/12). Error floor: 10.0 % top-1 error expected of any model: 20 % of the clips show a target that stands still"), "\(md)")
        #expect(!(try publish([0.2, 0.3])).contains("Error floor"))
        #expect(!(try publish([0])).contains("Error floor"))
    }

    /// With the whole data description in run.json (as `normbench run` writes it), the
    /// page also states the floor realized on the evaluation clips the records were
    /// evaluated on; records evaluated on fewer clips get the expectation only.
    @Test func realizedErrorFloorCountsTheEvaluationClips() throws {
        var spec = WorkloadSpec(name: "study")
        spec.data.synthetic.evalClips = 300
        spec.data.synthetic.classes = 12
        spec.data.synthetic.width = 16
        spec.data.synthetic.height = 16
        spec.data.synthetic.frames = 4
        spec.data.synthetic.distractors = 0
        spec.data.synthetic.stationary = 0.2
        spec.data.synthetic.seed = 5
        let s = spec.data.synthetic
        func renderer(_ p: Double) -> SyntheticRenderer {
            SyntheticRenderer(width: s.width, height: s.height, frames: s.frames, classes: s.classes, distractors: s.distractors,
                              noise: s.noise, stationary: p, objects: s.objects, seed: UInt64(s.seed))
        }
        // The stationary evaluation clips, counted by the query and by the pixels: a clip
        // whose target stands still renders differently from the same clip with none still.
        let still = (0..<300).filter { renderer(0.2).isStationary($0, split: .eval) }.count
        let rendered = (0..<300).filter { renderer(0.2).classificationClip($0, split: .eval).rgb != renderer(0).classificationClip($0, split: .eval).rgb }.count
        #expect(still == rendered)

        func publish(evalClips: Int) throws -> String {
            let run = scratchDirectory("realized-floor"), out = scratchDirectory("realized-floor-out")
            var records = study()
            for i in records.indices { records[i].data = DataSummary(description: "synthetic seed 5: 12 classes", trainClips: 256, evalClips: evalClips, digest: "abc") }
            try RecordStore.encode(RunManifest(workload: spec, cells: records.map(\.cell), created: "2026-01-01T00:00:00Z"))
                .write(to: URL(fileURLWithPath: run + "/run.json"))
            for r in records { try RecordStore.write(r, in: run) }
            try Publisher.publish(runs: [run], out: out)
            return try String(contentsOfFile: out + "/study.md", encoding: .utf8)
        }
        let share = Format.fixed(Double(still) / 300 * 100, 1), floor = Format.fixed(Double(still) / 600 * 100, 1)
        let md = try publish(evalClips: 300)
        #expect(md.contains("Error floor: 10.0 % top-1 error expected of any model: 20 % of the clips show a target that stands still, so its direction (half of its class) cannot be seen (`data.synthetic.stationary` in run.json); on these 300 evaluation clips \(still) (\(share) %) stand still: floor \(floor) %."), "\(md)")
        let fewer = try publish(evalClips: 299)
        #expect(fewer.contains("cannot be seen (`data.synthetic.stationary` in run.json)."), "\(fewer)")
        #expect(!fewer.contains("evaluation clips \(still)"))
    }

    @Test func recordsWithAndWithoutEvaluationReadBack() throws {
        var r = sampleRecord()
        let plain = try JSONEncoder().encode(r)
        #expect(!String(decoding: plain, as: UTF8.self).contains("evaluation\""))
        #expect(try JSONDecoder().decode(ResultRecord.self, from: plain) == r)
        r.evaluation = EvaluationSection(protocol: "last", runs: [.init(step: 1, epoch: 1, metrics: ["top1Error": 0.5])], labels: [0, 1], predictions: [0, 0])
        #expect(try JSONDecoder().decode(ResultRecord.self, from: try JSONEncoder().encode(r)) == r)
    }

    @Test(arguments: ["study-2x", "study-long"])
    func convergenceControlJoinsTheLongerWorkload(longerName: String) throws {
        var records = study()
        for r in study() {
            var longer = r
            longer.cell.workload = longerName
            longer.training?.epochs = 4
            // BN: 5 points better, 5.2 for seed 1: paired by seed the change is tight, across seeds it is not.
            longer.accuracy?.top1Error = r.accuracy!.top1Error! - (r.cell.norm == "bn" ? (r.cell.seed == 1 ? 0.052 : 0.05) : 0)
            records.append(longer)
        }
        let md = try page(records)
        #expect(md.contains("## Convergence control: the same cells trained longer ([\(longerName)](\(longerName).md))"), "\(md)")
        #expect(md.contains("| BN | 2 | 2.0 | 41.0 ± 2.5 (n=3) | 4.0 | 35.9 ± 2.5 (n=3) | −5.1 [−7.3, −2.8] | −5.1 [−5.4, −4.8] (n=3) |"), "\(md)")
        #expect(!(try page(records, "\(longerName).md")).contains("Convergence control"))
    }

    @Test func pairedComparisonOnlyWithPredictionsOnTheSameLabels() throws {
        var records = study()
        #expect(!(try page(records)).contains("Paired over the same evaluation clips"))
        let labels = Array(0..<100).map { $0 % 4 }
        for i in records.indices where records[i].cell.batch == 2 {
            // BN wrong on clips 0-39, GN on clips 30-59: 30 clips only GN right, 20 only BN right, per seed.
            let wrong = records[i].cell.norm == "bn" ? 0..<40 : 30..<60
            let predictions = labels.enumerated().map { wrong.contains($0.offset) ? ($0.element + 1) % 4 : $0.element }
            records[i].evaluation = EvaluationSection(protocol: "last", labels: labels, predictions: predictions)
        }
        let md = try page(records)
        #expect(md.contains("- Paired over the same evaluation clips at batch 2 (300 clip evaluations, 3 seeds): GN (G=4) − BN error −10.0 ["), "\(md)")
        #expect(md.contains("90 clips only GN (G=4) got right, 60 only BN; McNemar p = "))
        #expect(!md.contains("at batch 16 (")) // no predictions there
        // Different labels in one seed: that seed is left out.
        for i in records.indices where records[i].cell.batch == 2 && records[i].cell.norm == "gn" && records[i].cell.seed == 0 {
            records[i].evaluation?.labels = labels.map { ($0 + 1) % 4 }
        }
        #expect(try page(records).contains("(200 clip evaluations, 2 seeds)"))
    }
}
