import Foundation

/// A mean over independent samples (seeds) with its Student-t confidence
/// interval: mean ± t(1 − α/2, n − 1) · s / √n. One sample has no interval.
public struct MeanInterval: Sendable, Equatable {
    public var count: Int
    public var mean: Double
    /// Sample standard deviation (n − 1); 0 for one sample.
    public var sd: Double
    /// Half the interval's width; nil for one sample (no spread to estimate).
    public var halfWidth: Double?
    public var confidence: Double

    public init?(_ values: [Double], confidence: Double = 0.95) {
        guard !values.isEmpty else { return nil }
        let s = SampleSummary(values)
        count = s.count
        mean = s.mean
        sd = s.sd
        self.confidence = confidence
        if s.count > 1 {
            let t = StudentT.quantile(1 - (1 - confidence) / 2, degreesOfFreedom: Double(s.count - 1))
            halfWidth = t * s.sd / Double(s.count).squareRoot()
        } else {
            halfWidth = nil
        }
    }

    public var lower: Double? { halfWidth.map { mean - $0 } }
    public var upper: Double? { halfWidth.map { mean + $0 } }
}

/// A difference of means of independent groups with its Welch interval: the
/// standard error combines each group's s²/n, and the degrees of freedom are
/// Welch–Satterthwaite's, (Σ vᵢ)² / Σ vᵢ² / (nᵢ − 1) with vᵢ = sᵢ²/nᵢ.
///
/// A difference is a signed sum of group means (A − B, or (A − B) − (C − D)),
/// so the same formulas cover a difference-in-differences: its components are
/// the four groups.
public struct Difference: Sendable, Equatable {
    /// One group's contribution: its variance of the mean sᵢ²/nᵢ and its nᵢ − 1.
    public struct Component: Sendable, Equatable {
        public var varianceOfMean: Double
        public var degreesOfFreedom: Double
    }

    public var estimate: Double
    public var components: [Component]
    /// False when a group has one sample: no interval can be given.
    public var hasInterval: Bool

    /// Mean of `a` minus mean of `b`; nil when either is empty.
    public static func welch(_ a: [Double], _ b: [Double]) -> Difference? {
        guard !a.isEmpty, !b.isEmpty else { return nil }
        let sa = SampleSummary(a), sb = SampleSummary(b)
        func component(_ s: SampleSummary) -> Component {
            Component(varianceOfMean: s.sd * s.sd / Double(s.count), degreesOfFreedom: Double(s.count - 1))
        }
        return Difference(estimate: sa.mean - sb.mean, components: [component(sa), component(sb)], hasInterval: sa.count > 1 && sb.count > 1)
    }

    /// `self − other` (a difference-in-differences when both are differences).
    public func minus(_ other: Difference) -> Difference {
        Difference(estimate: estimate - other.estimate, components: components + other.components, hasInterval: hasInterval && other.hasInterval)
    }

    /// √(Σ sᵢ²/nᵢ).
    public var standardError: Double { components.map(\.varianceOfMean).reduce(0, +).squareRoot() }

    /// Welch–Satterthwaite degrees of freedom; nil without an interval. When
    /// every group has no spread at all (s = 0), the smallest n − 1 sum is used
    /// (the interval then has zero width anyway).
    public var degreesOfFreedom: Double? {
        guard hasInterval else { return nil }
        let total = components.map(\.varianceOfMean).reduce(0, +)
        let denominator = components.map { $0.varianceOfMean * $0.varianceOfMean / $0.degreesOfFreedom }.reduce(0, +)
        guard denominator > 0 else { return components.map(\.degreesOfFreedom).reduce(0, +) }
        return total * total / denominator
    }

    /// The two-sided interval at `confidence`; nil without an interval.
    public func interval(confidence: Double = 0.95) -> (lower: Double, upper: Double)? {
        guard let nu = degreesOfFreedom else { return nil }
        let t = StudentT.quantile(1 - (1 - confidence) / 2, degreesOfFreedom: nu)
        let h = t * standardError
        return (estimate - h, estimate + h)
    }
}

/// Two one-sided tests (TOST) for equivalence of a difference to zero within
/// ±margin: equivalent at level α when both H₀: d ≤ −margin and H₀: d ≥ +margin
/// are rejected by one-sided Welch t tests, which is the same as the
/// (1 − 2α) interval lying inside (−margin, +margin).
public struct EquivalenceTest: Sendable, Equatable {
    public var difference: Difference
    public var margin: Double
    public var alpha: Double
    /// The larger of the two one-sided p-values; nil without an interval.
    public var pValue: Double?
    /// The (1 − 2α) interval the verdict is read from.
    public var interval: (lower: Double, upper: Double)?

    public static func == (a: EquivalenceTest, b: EquivalenceTest) -> Bool {
        a.difference == b.difference && a.margin == b.margin && a.alpha == b.alpha && a.pValue == b.pValue
    }

    public init(_ difference: Difference, margin: Double, alpha: Double = 0.05) {
        self.difference = difference
        self.margin = margin
        self.alpha = alpha
        interval = difference.interval(confidence: 1 - 2 * alpha)
        if let nu = difference.degreesOfFreedom {
            let se = difference.standardError
            if se > 0 {
                let pLower = 1 - StudentT.cdf((difference.estimate + margin) / se, degreesOfFreedom: nu)
                let pUpper = StudentT.cdf((difference.estimate - margin) / se, degreesOfFreedom: nu)
                pValue = max(pLower, pUpper)
            } else {
                pValue = abs(difference.estimate) < margin ? 0 : 1
            }
        } else {
            pValue = nil
        }
    }

    /// Both one-sided tests rejected at α.
    public var isEquivalent: Bool { (pValue ?? 1) < alpha }
}

/// A paired comparison of two classifiers on the same evaluation clips
/// (McNemar): only the clips one gets right and the other wrong carry
/// information. Pools every (seed, clip) pair given.
public struct PairedComparison: Sendable, Equatable {
    /// Pairs scored (clips × seeds).
    public var pairs: Int
    /// A right, B wrong.
    public var onlyA: Int
    /// A wrong, B right.
    public var onlyB: Int

    public init(pairs: Int, onlyA: Int, onlyB: Int) {
        self.pairs = pairs
        self.onlyA = onlyA
        self.onlyB = onlyB
    }

    /// Adds the clips of one seed: labels and each classifier's predictions, in one clip order.
    public mutating func add(labels: [Int], a: [Int], b: [Int]) {
        guard labels.count == a.count, labels.count == b.count else { return }
        for i in labels.indices {
            pairs += 1
            let ra = a[i] == labels[i], rb = b[i] == labels[i]
            if ra && !rb { onlyA += 1 }
            if rb && !ra { onlyB += 1 }
        }
    }

    /// Error of A minus error of B, as a fraction of the pairs.
    public var errorDifference: Double { pairs == 0 ? 0 : Double(onlyB - onlyA) / Double(pairs) }

    /// The Wald interval of the paired difference at 95 %: ± 1.96 · √(n₁₀ + n₀₁ − (n₁₀ − n₀₁)²/N) / N.
    public var interval: (lower: Double, upper: Double) {
        let n = Double(max(pairs, 1)), d = Double(onlyB - onlyA), discordant = Double(onlyA + onlyB)
        let se = max(discordant - d * d / n, 0).squareRoot() / n
        return (errorDifference - 1.959963984540054 * se, errorDifference + 1.959963984540054 * se)
    }

    /// McNemar's test with continuity correction: χ² = (|n₁₀ − n₀₁| − 1)² / (n₁₀ + n₀₁), one degree of freedom.
    public var pValue: Double {
        let discordant = Double(onlyA + onlyB)
        guard discordant > 0 else { return 1 }
        let chi2 = pow(max(abs(Double(onlyA - onlyB)) - 1, 0), 2) / discordant
        return erfc((chi2 / 2).squareRoot())
    }
}
