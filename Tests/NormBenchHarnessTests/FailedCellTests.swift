import Foundation
import Testing
@testable import NormBenchHarness
import NormBenchTestSupport

/// A detection record of one seed, with or without a bootstrap interval.
private func detectionRecord(norm: String, batch: Int, seed: Int, mAP50: Double, mAP: Double, bootstrap: Bool = true) -> ResultRecord {
    var r = sampleRecord(norm: norm, batch: batch, seed: seed)
    r.cell.workload = "det"
    r.task = "detection"
    r.accuracy = Accuracy(mAP50: mAP50, mAP: mAP, evalLoss: 1.5)
    r.evaluation = EvaluationSection(
        protocol: "median of last 1 of 1 evaluations", runs: [.init(step: 10, epoch: 2, metrics: ["mAP50": mAP50, "mAP": mAP, "evalLoss": 1.5])],
        bootstrap: bootstrap
            ? .init(resamples: 1000, confidence: 0.95, clips: 128, seed: 2953273069, intervals: ["mAP50": [mAP50 - 0.04, mAP50 + 0.03], "mAP": [mAP - 0.02, mAP + 0.02]])
            : nil)
    return r
}

private func page(_ records: [ResultRecord], _ path: String) throws -> String {
    let files = try Publisher.render(records)
    return String(decoding: try #require(files.first { $0.path == path }).contents, as: UTF8.self)
}

@Suite struct FailedCellTests {
    @Test func failedRecordRoundTripsWithItsNoteAndMeasurements() throws {
        var r = sampleRecord(norm: "bn", batch: 8)
        r.status = .failed
        r.note = "did not learn: mean training loss over the last 5 of 100 steps is 2.48, 99.6% of the first 5 steps' 2.49 (failed above 90%)"
        let run = scratchDirectory("harness")
        try RecordStore.write(r, in: run)
        let path = RecordStore.path(of: r.cell, in: run)
        let back = try RecordStore.read(path: path)
        #expect(back == r && back.accuracy?.top1Error == 0.25 && back.throughput != nil)
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as! [String: Any]
        #expect(json["status"] as? String == "failed")
    }

    /// A failed seed is left out of the mean (and the chart), and listed with its reason.
    @Test func failedSeedIsExcludedFromPageMeans() throws {
        var records = [0.40, 0.41, 0.42].enumerated().map { sampleRecord(norm: "bn", batch: 2, seed: $0, top1Error: $1) }
        var bad = sampleRecord(norm: "bn", batch: 2, seed: 3, top1Error: 0.75)
        bad.status = .failed
        bad.note = "did not learn: flat loss"
        records.append(bad)
        records = records.map { var r = $0; r.cell.workload = "study"; return r }
        let md = try page(records, "study.md")
        #expect(md.contains("| BN | 41.0 ± 2.5 (n=3) |"), "\(md)")
        #expect(md.contains("| BN | 2 | 3 | failed | did not learn: flat loss |"), "\(md)")
        // Every seed failed: the cell says so instead of a number.
        let allFailed = records.map { var r = $0; r.status = .failed; return r }
        #expect(try page(allFailed, "study.md").contains("| BN | failed |"))
        let summary = SummaryTable.render(records)
        #expect(summary.contains("41.0 ± 1.0") && summary.contains("1 FAILED") && summary.contains("bn_b2_w1_g-_s3_t2: did not learn: flat loss"), "\(summary)")
        #expect(SummaryTable.render(allFailed).contains("FAILED (did not learn)"))
    }

    /// One seed: the bootstrap over clips, labelled; two seeds: the t interval over seeds.
    /// A detection run whose every cell failed still heads its summary with mAP, not top-1 error.
    @Test func allFailedDetectionSummaryNamesMAP() {
        var r = detectionRecord(norm: "gn", batch: 8, seed: 0, mAP50: 0, mAP: 0)
        r.status = .failed
        let summary = SummaryTable.render([r])
        #expect(summary.hasPrefix("100 − mAP@0.5 (%), mean ± std over seeds"), "\(summary)")
    }

    @Test func detectionTableShowsBootstrapForOneSeedAndTForSeveral() throws {
        let one = [detectionRecord(norm: "bn", batch: 2, seed: 0, mAP50: 0.51, mAP: 0.22)]
        let md = try page(one, "det.md")
        #expect(md.contains("| BN | 51.0 [47.0, 54.0] (n=1) ‡ |"), "\(md)")
        #expect(md.contains("| BN | 22.0 [20.0, 24.0] (n=1) ‡ |"), "\(md)")
        #expect(md.contains("‡ bootstrap over evaluation clips, one seed"))
        let two = one + [detectionRecord(norm: "bn", batch: 2, seed: 1, mAP50: 0.55, mAP: 0.24)]
        let md2 = try page(two, "det.md")
        #expect(md2.contains("| BN | 53.0 ± 25.4 (n=2) |"), "\(md2)")
        #expect(!md2.contains("‡ bootstrap"))
        // An older record without the bootstrap: one seed, no interval.
        let old = try page([detectionRecord(norm: "bn", batch: 2, seed: 0, mAP50: 0.51, mAP: 0.22, bootstrap: false)], "det.md")
        #expect(old.contains("| BN | 51.0 (n=1) † |"), "\(old)")
    }

    /// The bootstrap is written in the documented shape; records without it (and
    /// the committed detection records, which have no evaluation section) read as before.
    @Test func bootstrapIsOptionalAndRoundTrips() throws {
        let r = detectionRecord(norm: "gn", batch: 8, seed: 0, mAP50: 0.8, mAP: 0.4)
        let run = scratchDirectory("harness")
        try RecordStore.write(r, in: run)
        let path = RecordStore.path(of: r.cell, in: run)
        #expect(try RecordStore.read(path: path) == r)
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as! [String: Any]
        let b = try #require((json["evaluation"] as? [String: Any])?["bootstrap"] as? [String: Any])
        #expect(Set(b.keys) == ["resamples", "confidence", "clips", "seed", "mAP50", "mAP"])
        #expect(b["resamples"] as? Int == 1000 && (b["mAP50"] as? [Double])?.count == 2)
        let text = String(decoding: try RecordStore.encode(r), as: UTF8.self)
        let without = text.replacingOccurrences(of: #""bootstrap" : \{[^}]*\},?"#, with: "", options: .regularExpression)
        #expect(without != text)
        let older = try JSONDecoder().decode(ResultRecord.self, from: Data(without.utf8))
        #expect(older.evaluation != nil && older.evaluation?.bootstrap == nil)
        let committed = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Tests/Fixtures/legacy-records/video-det/20261125T181747/cells/bn_b2_w1_g-_s0_t2.json").path
        let det = try RecordStore.read(path: committed)
        #expect(det.status == .completed && det.evaluation?.bootstrap == nil && det.accuracy?.mAP50 != nil)
    }

    /// A baseline cell that now fails is a regression that says why; the reverse is an improvement.
    @Test func checkReportsANewlyFailedCell() throws {
        let base = [("bn", 2, 0.40), ("gn", 2, 0.31)].map { sampleRecord(norm: $0, batch: $1, top1Error: $2) }
        let failed = base.map { r -> ResultRecord in
            var r = r
            if r.cell.norm == "gn" { r.status = .failed; r.note = "did not learn: flat loss" }
            return r
        }
        let report = try RegressionCheck.compare(baseline: Baseline(runs: [("base", base)]), records: failed, run: "run", baselinePath: "base.json")
        #expect(!report.passed)
        let row = try #require(report.regressions.first { $0.metric == "status" })
        #expect(row.baseline == "completed" && row.current == "failed" && row.change == "did not learn: flat loss")
        #expect(report.render().contains("status  completed  failed   did not learn: flat loss  exact    REGRESSION"), "\(report.render())")
        let back = try RegressionCheck.compare(baseline: Baseline(runs: [("base", failed)]), records: base, run: "run", baselinePath: "base.json")
        #expect(back.rows.first { $0.metric == "status" }?.verdict == .improved)
        // A failed cell is no sample of the spread a foreign fingerprint is judged by.
        #expect(try Baseline(runs: [("base", failed)]).spreads.allSatisfy { !$0.group.contains("gn") })
    }
}
