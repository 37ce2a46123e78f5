import Foundation
import Testing
import NormBenchHarness

private func fingerprint(_ isa: String, caches: String = "L1d 32K L2 1024K L3 32768K") -> NumericsFingerprint {
    NumericsFingerprint(
        oneDNNISA: isa, convolutions: ["jit:\(isa)"], convolutionDigest: "d-\(isa)", caches: caches,
        build: "release avx2 fma", threads: 2, libraries: "oneDNN 2.6.3")
}

/// The smoke sweep (bn, gn × batch 2, 8) for `seed` on `isa`: top-1 error around
/// 0.48 with a spread of about 0.02 over seeds, loss around 1.0.
private func sweep(seed: Int, isa: String, caches: String = "L1d 32K L2 1024K L3 32768K", shift: Double = 0) -> [ResultRecord] {
    [("bn", 2), ("bn", 8), ("gn", 2), ("gn", 8)].map { norm, batch in
        var r = sampleRecord(norm: norm, batch: batch, seed: seed)
        // A deterministic, seed- and ISA-dependent wobble standing in for the float trajectory.
        let wobble = Double((seed * 7 + isa.count * 3 + batch) % 5 - 2) / 100
        r.accuracy = Accuracy(top1Error: 0.48 + wobble + shift, evalLoss: 1.0 + wobble + shift)
        r.fingerprint = fingerprint(isa, caches: caches)
        return r
    }
}

/// A baseline of seed 0 on two ISAs, with spreads over seeds 0-9 on both.
private func twoISABaseline() throws -> Baseline {
    try Baseline(
        runs: [("native", sweep(seed: 0, isa: "avx512_core")), ("avx2", sweep(seed: 0, isa: "avx2"))],
        spreadRuns: (0..<10).flatMap { seed in [("n\(seed)", sweep(seed: seed, isa: "avx512_core")), ("a\(seed)", sweep(seed: seed, isa: "avx2"))] })
}

@Suite struct FingerprintCheckTests {
    @Test func baselineKeepsEachFingerprintAndTheSpreads() throws {
        let b = try twoISABaseline()
        #expect(b.fingerprints.count == 2)
        #expect(b.cells.count == 4)
        #expect(b.cells.allSatisfy { $0.entries.count == 2 })
        #expect(b.spreads.count == 4)
        #expect(b.spreads.allSatisfy { $0.sources.count == 20 && $0.samples["top1Error"]?.count == 20 })
    }

    @Test func aKnownFingerprintIsComparedExactly() throws {
        let b = try twoISABaseline()
        let same = try RegressionCheck.compare(baseline: b, records: sweep(seed: 0, isa: "avx2"), run: "run", baselinePath: "base.json")
        #expect(same.passed)
        #expect(same.rows.allSatisfy { $0.verdict == .unchanged }, "\(same.render())")
        #expect(same.header.count == 1 && same.header[0].contains("is in the baseline: 4 cells compared exactly"), "\(same.header)")
        // The other ISA's numbers on this fingerprint are a regression: not what it reproduces.
        var swapped = sweep(seed: 0, isa: "avx512_core")
        for k in swapped.indices { swapped[k].fingerprint = fingerprint("avx2") }
        let report = try RegressionCheck.compare(baseline: b, records: swapped, run: "run", baselinePath: "base.json")
        #expect(!report.passed)
    }

    @Test func anHonestRunOnAnotherFingerprintPassesStatistically() throws {
        let b = try twoISABaseline()
        // Another CPU: AVX2 with other caches (a Zen 3 next to an AVX-512 machine capped to AVX2).
        var records = sweep(seed: 0, isa: "avx2", caches: "L1d 32K L2 512K L3 32768K", shift: 0.01)
        for k in records.indices {
            records[k].throughput!.trainClipsPerSecond *= 1.85
            records[k].throughput!.stepSecondsMedian /= 1.85
        }
        let report = try RegressionCheck.compare(baseline: b, records: records, run: "run", baselinePath: "base.json")
        #expect(report.passed, "\(report.render())")
        #expect(report.header.count == 1)
        #expect(report.header[0].contains("is not in the baseline (closest,"), "\(report.header)")
        #expect(report.header[0].contains("differs in caches L1d 32K L2 1024K L3 32768K → L1d 32K L2 512K L3 32768K"), "\(report.header)")
        let statistical = report.rows.filter { $0.cell.contains("seeds×fingerprints") }
        #expect(statistical.count == 8)  // 4 groups × (top1Error, evalLoss)
        #expect(statistical.allSatisfy { $0.verdict == .withinTolerance })
        // Speed moved: shown, not gated.
        #expect(report.rows.contains { $0.metric == "trainClipsPerSecond/cal" && $0.verdict == .reported })
        #expect(!report.rows.contains { $0.cell.contains("geomean") })
        #expect(report.render().contains("moved but not gated"))
    }

    @Test func aBrokenRunOnAnotherFingerprintFails() throws {
        let b = try twoISABaseline()
        // Error 25 points and loss 25 % worse (a network that stopped learning part of the
        // task): beyond the loss spread's 5 % floor by t ≈ 4.9, past the Bonferroni
        // threshold for 8 metrics (one-sided α = 0.01 / 8, 19 df: t ≈ 3.5).
        let worse = try RegressionCheck.compare(
            baseline: b, records: sweep(seed: 0, isa: "sse41", shift: 0.25), run: "run", baselinePath: "base.json")
        #expect(!worse.passed)
        #expect(Set(worse.regressions.map(\.metric)) == ["top1Error", "evalLoss"], "\(worse.render())")
        // What no CPU changes stays exact: the counts; and the ledger when a baseline
        // entry ran the same convolution kernels (here: avx2's, on other caches).
        var bigger = sweep(seed: 0, isa: "avx2", caches: "L1d 32K L2 512K L3 32768K")
        bigger[0].memory.ledgerAtPeakBytes["activations"]! += 1
        bigger[1].training!.steps += 1
        bigger[2].memory.ledgerAtPeakBytes["parameters"]! += 4096
        let exact = try RegressionCheck.compare(baseline: b, records: bigger, run: "run", baselinePath: "base.json")
        #expect(exact.regressions.map(\.metric) == ["ledgerAtPeak.activations", "training.steps", "ledgerAtPeak.parameters"], "\(exact.render())")
        // Other kernels (sse41's) size their scratch memory otherwise: the ledger is reported, the counts stay exact.
        var otherKernels = sweep(seed: 0, isa: "sse41")
        otherKernels[0].memory.ledgerAtPeakBytes["workspace", default: 0] += 1 << 20
        otherKernels[0].memory.ledgerPeakBytes += 1 << 20
        otherKernels[1].training!.steps += 1
        let reported = try RegressionCheck.compare(baseline: b, records: otherKernels, run: "run", baselinePath: "base.json")
        #expect(reported.regressions.map(\.metric) == ["training.steps"], "\(reported.render())")
        #expect(reported.rows.contains { $0.metric == "ledgerPeakBytes" && $0.verdict == .reported })
    }

    @Test func noSpreadMeansNoJudgementOnAnotherFingerprint() throws {
        let b = try Baseline(runs: [("native", sweep(seed: 0, isa: "avx512_core"))])
        #expect(throws: HarnessError.self) {
            try RegressionCheck.compare(baseline: b, records: sweep(seed: 0, isa: "avx2"), run: "run", baselinePath: "base.json")
        }
    }

    @Test func studentTQuantilesMatchTables() {
        // Two-sided 95 % and one-sided 99 % / 99.9 % points from standard tables.
        let table: [(p: Double, nu: Double, t: Double)] = [
            (0.975, 1, 12.7062), (0.975, 9, 2.2622), (0.975, 19, 2.0930), (0.99, 19, 2.5395),
            (0.999, 19, 3.5794), (0.9995, 4, 8.6103), (0.975, 1000, 1.9623),
        ]
        for row in table {
            let t = StudentT.quantile(row.p, degreesOfFreedom: row.nu)
            #expect(abs(t - row.t) < 5e-4, "t(\(row.p), \(row.nu)) = \(t), table \(row.t)")
            #expect(abs(StudentT.cdf(t, degreesOfFreedom: row.nu) - row.p) < 1e-9)
        }
        #expect(abs(StudentT.cdf(0, degreesOfFreedom: 3) - 0.5) < 1e-12)
        let s = SampleSummary([2, 4, 4, 4, 5, 5, 7, 9])
        #expect(s.mean == 5 && abs(s.sd - 2.138089935) < 1e-8)
    }
}
