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
