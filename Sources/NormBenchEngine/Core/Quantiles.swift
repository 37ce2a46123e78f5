/// Order statistics of measured values (step times, collective times, probes).
/// The one implementation: every median and percentile in normbench uses these.
public enum Quantiles {
    /// Nearest rank: the sorted values' element at `min(n − 1, ⌊n · p⌋)`, 0 when
    /// there are none. `percentile(xs, 0.5)` is the upper median of an even count.
    public static func percentile(_ values: [Double], _ p: Double) -> Double {
        guard !values.isEmpty else { return 0 }
        let s = values.sorted()
        return s[min(s.count - 1, Int(Double(s.count) * p))]
    }

    /// The middle value; for an even count the mean of the two middle ones; 0 when empty.
    public static func median(_ values: [Double]) -> Double {
        guard !values.isEmpty else { return 0 }
        let s = values.sorted()
        return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
    }
}
