/// Whether a cell's training learned, judged from its training-loss curve.
///
/// A cell **failed** when the mean training loss over its last 5 % of steps is
/// above 90 % of the mean over its first 5 % (each window ⌈0.05 · steps⌉ steps):
/// the loss fell by less than a tenth from where it started. Curves shorter than
/// `minimumSteps` are not judged (their 5 % windows are one or two noisy steps).
///
/// Why these numbers: a curve that does not move gives a ratio of 1 within a few
/// percent (the standard error of a 5 % window's mean was 1-3 % of it in the
/// committed records), so it lands above 0.9. Every cell of the committed studies
/// that learned had a ratio of 0.89 or less (video-cls: 0.39-0.89, the highest
/// LN and IN at batch 16, which ended 6-10 points below chance; video-det:
/// 0.09-0.20, its focal loss falls steeply in the first steps).
/// The loss curve does not see a detector whose loss fell to the level of
/// "background everywhere" and stayed there (loss 23.5 → 2.74, ratio 0.12, in
/// video-det with two workers of batch 8): a detection cell also failed when its
/// headline mAP@0.5 is below `minimumMAP50` (that cell's was 7·10⁻⁸; the weakest
/// detector that learned anything, SyncBN in the same run, had 0.15).
public enum LearningCriterion {
    /// The share of steps in each window.
    public static let window = 0.05
    /// The largest last/first ratio that counts as learning.
    public static let maximumRatio = 0.9
    /// Curves with fewer steps are not judged.
    public static let minimumSteps = 40
    /// The smallest detection mAP@0.5 that counts as having found objects.
    public static let minimumMAP50 = 0.01

    /// The mean losses of the first and last windows and their ratio; nil when the
    /// curve is shorter than `minimumSteps` or its first window's mean is not positive.
    public static func ratio(_ losses: [Double]) -> (first: Double, last: Double, ratio: Double)? {
        guard losses.count >= minimumSteps else { return nil }
        let k = max(1, Int((Double(losses.count) * window).rounded(.up)))
        let first = losses.prefix(k).reduce(0, +) / Double(k)
        let last = losses.suffix(k).reduce(0, +) / Double(k)
        guard first > 0, first.isFinite, last.isFinite else { return nil }
        return (first, last, last / first)
    }

    /// Why the curve shows no learning, in words for the record's `note`; nil when
    /// it learned or is too short to judge.
    public static func failure(_ losses: [Double]) -> String? {
        guard let r = ratio(losses), r.ratio > maximumRatio else { return nil }
        let k = max(1, Int((Double(losses.count) * window).rounded(.up)))
        return "did not learn: mean training loss over the last \(k) of \(losses.count) steps is \(format(r.last)), "
            + "\(format((r.ratio * 1000).rounded() / 10))% of the first \(k) steps' \(format(r.first)) (failed above \(format(maximumRatio * 100))%)"
    }

    /// Why a detector found no objects, for the record's `note`; nil when its
    /// mAP@0.5 reaches `minimumMAP50` (or the cell has no mAP@0.5).
    public static func detectionFailure(mAP50: Double?) -> String? {
        guard let m = mAP50, m < minimumMAP50 || !m.isFinite else { return nil }
        return "found no objects: mAP@0.5 is \(format(m * 100))% (failed below \(format(minimumMAP50 * 100))%), a detector that predicts background everywhere"
    }

    static func format(_ v: Double) -> String {
        let scaled = (v * 1000).rounded() / 1000
        var s = "\(scaled)"
        if s.hasSuffix(".0") { s.removeLast(2) }
        return s
    }
}
