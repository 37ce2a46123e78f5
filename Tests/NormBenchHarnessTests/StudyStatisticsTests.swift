import Foundation
import Testing
@testable import NormBenchHarness

/// Reference values computed with SciPy (`scipy.stats.t`) and by hand.
@Suite struct StudyStatisticsTests {
    @Test func tQuantilesMatchTables() {
        #expect(abs(StudentT.quantile(0.975, degreesOfFreedom: 4) - 2.776445) < 1e-5)
        #expect(abs(StudentT.quantile(0.975, degreesOfFreedom: 2) - 4.302653) < 1e-5)
        #expect(abs(StudentT.quantile(0.95, degreesOfFreedom: 10) - 1.812461) < 1e-5)
        // Non-integer degrees of freedom, as Welch–Satterthwaite gives.
        #expect(abs(StudentT.quantile(0.975, degreesOfFreedom: 3.234718826405868) - 3.055712710) < 1e-6)
    }

    @Test func meanIntervalIsStudentT() throws {
        // 0.20, 0.22, 0.24, 0.26, 0.28: mean 0.24, s = 0.0316228, t(0.975, 4) · s / √5 = 0.0392644.
        let m = try #require(MeanInterval([0.20, 0.22, 0.24, 0.26, 0.28]))
        #expect(m.count == 5)
        #expect(abs(m.mean - 0.24) < 1e-12)
        #expect(abs(m.halfWidth! - 2.776445 * 0.0316228 / 5.0.squareRoot()) < 1e-6)
        let one = try #require(MeanInterval([0.3]))
        #expect(one.halfWidth == nil && one.lower == nil)
        #expect(MeanInterval([]) == nil)
    }

    @Test func welchIntervalMatchesHandComputation() throws {
        // a: mean 2.5, s² = 5/3, n 4 → s²/n = 0.416667; b: mean 4, s² = 4, n 3 → 1.333333.
        // se = √1.75 = 1.3228757; ν = 1.75² / (0.416667²/3 + 1.333333²/2) = 3.2347188.
        let d = try #require(Difference.welch([1, 2, 3, 4], [2, 4, 6]))
        #expect(d.estimate == -1.5)
        #expect(abs(d.standardError - 1.3228756555) < 1e-9)
        #expect(abs(d.degreesOfFreedom! - 3.2347188264) < 1e-9)
        let ci = try #require(d.interval())
        #expect(abs(ci.lower - -5.5423279549) < 1e-6)
        #expect(abs(ci.upper - 2.5423279549) < 1e-6)
        // One seed on a side: an estimate, no interval.
        let single = try #require(Difference.welch([1], [2, 3]))
        #expect(single.estimate == -1.5 && single.interval() == nil)
    }

    @Test func differenceInDifferencesCombinesFourCells() throws {
        // (a − b) − (c − d): se = √Σ sᵢ²/nᵢ over four cells, Welch–Satterthwaite over four.
        let ab = try #require(Difference.welch([1, 2, 3, 4], [2, 4, 6]))
        let cd = try #require(Difference.welch([10, 10.5, 11], [9, 12]))
        let did = ab.minus(cd)
        #expect(abs(did.estimate - -1.5) < 1e-12)
        #expect(abs(did.standardError - 2.0207259422) < 1e-9)
        #expect(abs(did.degreesOfFreedom! - 2.7730510106) < 1e-9)
        let ci = try #require(did.interval())
        #expect(abs(ci.lower - -8.2390945922) < 1e-6)
        #expect(abs(ci.upper - 5.2390945922) < 1e-6)
    }

    @Test func equivalenceVerdictsOnBothSides() throws {
        let margin = 0.02
        // Tight and equal: equivalent within ±2 points (p ≈ 2e-8).
        let tight = EquivalenceTest(try #require(Difference.welch([0.250, 0.252, 0.248, 0.251, 0.249], [0.251, 0.249, 0.250, 0.252, 0.248])), margin: margin)
        #expect(tight.isEquivalent)
        #expect(tight.pValue! < 1e-6)
        // Equal means but noisy: not shown to be equivalent (SciPy: p = 0.26467).
        let wide = EquivalenceTest(try #require(Difference.welch([0.25, 0.29, 0.21], [0.25, 0.22, 0.28])), margin: margin)
        #expect(!wide.isEquivalent)
        #expect(abs(wide.pValue! - 0.26467128) < 1e-6)
        // Tight but 5 points apart: a real difference, not equivalent.
        let apart = EquivalenceTest(try #require(Difference.welch([0.300, 0.301, 0.299], [0.250, 0.251, 0.249])), margin: margin)
        #expect(!apart.isEquivalent)
        // One seed: no test, no verdict of equivalence.
        let single = EquivalenceTest(try #require(Difference.welch([0.25], [0.25, 0.25])), margin: margin)
        #expect(!single.isEquivalent && single.pValue == nil)
    }

    @Test func sentencesSayOnlyWhatTheIntervalSupports() throws {
        let worse = try #require(Difference.welch([0.40, 0.41, 0.42], [0.30, 0.31, 0.32]))
        #expect(StudyFormat.sentence(worse, "BN at batch 2", "at batch 16") == "BN at batch 2 is worse than at batch 16 by 10.0 points [7.7, 12.3]")
        let better = try #require(Difference.welch([0.30, 0.31, 0.32], [0.40, 0.41, 0.42]))
        #expect(StudyFormat.sentence(better, "GN", "BN") == "GN is better than BN by 10.0 points [7.7, 12.3]")
        let none = try #require(Difference.welch([0.30, 0.35, 0.25], [0.30, 0.31, 0.29]))
        #expect(StudyFormat.sentence(none, "GN", "BN").hasPrefix("GN vs BN: no difference resolved: +0.0 [−"))
        // mAP: higher is better, so the higher side is the better one; the numbers stay mAP points.
        #expect(StudyFormat.sentence(worse, "GN", "BN", higherIsBetter: true) == "GN is better than BN by 10.0 points [7.7, 12.3]")
        #expect(StudyFormat.sentence(better, "GN", "BN", higherIsBetter: true) == "GN is worse than BN by 10.0 points [7.7, 12.3]")
        #expect(StudyFormat.sentence(none, "GN", "BN", higherIsBetter: true).hasPrefix("GN vs BN: no difference resolved: +0.0 [−"))
    }
}

@Suite struct PairedComparisonTests {
    @Test func mcNemarOnDiscordantClips() {
        // 100 clips: A alone right on 15, B alone right on 5, χ² = (10 − 1)² / 20 = 4.05, p = 0.04417.
        var p = PairedComparison(pairs: 0, onlyA: 0, onlyB: 0)
        let labels = Array(repeating: 0, count: 100)
        let a = (0..<100).map { $0 < 15 || $0 >= 20 && $0 < 60 ? 0 : 1 }   // right on 0-14 and 20-59
        let b = (0..<100).map { $0 >= 15 && $0 < 60 ? 0 : 1 }              // right on 15-59
        p.add(labels: labels, a: a, b: b)
        #expect(p.pairs == 100 && p.onlyA == 15 && p.onlyB == 5)
        #expect(abs(p.errorDifference - -0.10) < 1e-12)
        #expect(abs(p.pValue - 0.044171) < 1e-5)
        // Wald: se = √(20 − 100/100) / 100 = 0.0435890.
        #expect(abs(p.interval.upper - (-0.10 + 1.959964 * 0.0435890)) < 1e-6)
    }
}
