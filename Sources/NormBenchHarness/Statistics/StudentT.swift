import Foundation

/// Student's t distribution: the distribution of a standardized mean (or of a
/// new observation's distance from a sample mean) when the spread itself is
/// estimated from few samples.
public enum StudentT {
    /// P(T ≤ t) for `degreesOfFreedom` ν > 0.
    public static func cdf(_ t: Double, degreesOfFreedom nu: Double) -> Double {
        precondition(nu > 0, "StudentT.cdf: degrees of freedom must be positive, got \(nu)")
        if t.isNaN { return .nan }
        if t.isInfinite { return t > 0 ? 1 : 0 }
        // P(|T| > |t|) = I_x(ν/2, 1/2) with x = ν / (ν + t²).
        let tail = regularizedIncompleteBeta(nu / (nu + t * t), a: nu / 2, b: 0.5) / 2
        return t > 0 ? 1 - tail : tail
    }

    /// The t with P(T ≤ t) = `p`, for 0 < p < 1 (bisection on `cdf`: exact to ~1e-12).
    public static func quantile(_ p: Double, degreesOfFreedom nu: Double) -> Double {
        precondition(p > 0 && p < 1, "StudentT.quantile: p must be in (0, 1), got \(p)")
        var lo = -1.0, hi = 1.0
        while cdf(lo, degreesOfFreedom: nu) > p { lo *= 2 }
        while cdf(hi, degreesOfFreedom: nu) < p { hi *= 2 }
        for _ in 0..<200 where hi - lo > 1e-12 * max(1, abs(lo)) {
            let mid = (lo + hi) / 2
            if cdf(mid, degreesOfFreedom: nu) < p { lo = mid } else { hi = mid }
        }
        return (lo + hi) / 2
    }

    /// I_x(a, b), the regularized incomplete beta function, by its continued
    /// fraction (modified Lentz), using the symmetry I_x(a, b) = 1 − I_{1−x}(b, a)
    /// where the fraction converges slowly.
    static func regularizedIncompleteBeta(_ x: Double, a: Double, b: Double) -> Double {
        if x <= 0 { return 0 }
        if x >= 1 { return 1 }
        let logGammas: Double = lgamma(a + b) - lgamma(a) - lgamma(b)
        let logPowers: Double = a * log(x) + b * log(1 - x)
        let front = exp(logGammas + logPowers)
        if x > (a + 1) / (a + b + 2) { return 1 - regularizedIncompleteBeta(1 - x, a: b, b: a) }
        let tiny = 1e-300
        var c = 1.0, d = 1 - (a + b) * x / (a + 1)
        if abs(d) < tiny { d = tiny }
        d = 1 / d
        var f = d
        for m in 1...300 {
            let m = Double(m)
            // Even step, then odd step of the fraction.
            let even = m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m))
            d = 1 + even * d; if abs(d) < tiny { d = tiny }
            c = 1 + even / c; if abs(c) < tiny { c = tiny }
            d = 1 / d
            f *= d * c
            let odd = -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))
            d = 1 + odd * d; if abs(d) < tiny { d = tiny }
            c = 1 + odd / c; if abs(c) < tiny { c = tiny }
            d = 1 / d
            let delta = d * c
            f *= delta
            if abs(delta - 1) < 1e-15 { break }
        }
        return front * f / a
    }
}

/// Mean and sample standard deviation of a list of values.
public struct SampleSummary: Sendable, Equatable {
    public var count: Int
    public var mean: Double
    /// Sample standard deviation (n − 1 in the denominator); 0 for one value.
    public var sd: Double

    public init(_ values: [Double]) {
        count = values.count
        mean = values.isEmpty ? .nan : values.reduce(0, +) / Double(values.count)
        let m = mean
        sd = values.count < 2 ? 0 : (values.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(values.count - 1)).squareRoot()
    }
}
