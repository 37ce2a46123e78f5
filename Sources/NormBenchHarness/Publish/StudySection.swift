import Foundation
import NormBenchEngine
import NormBenchWorkloads

/// The settings of the normalization-vs-batch study's statements.
public enum StudySettings {
    /// Confidence of every interval on the pages.
    public static let confidence = 0.95
    /// Equivalence margin of "GN is flat across batch" (TOST), in points of top-1 error.
    public static let equivalenceMarginPoints = 2.0
    /// Level of each of the two one-sided tests.
    public static let equivalenceAlpha = 0.05
}

/// Number formatting of intervals and differences, in points (percent of a fraction).
enum StudyFormat {
    static func points(_ fraction: Double, _ decimals: Int = 1) -> String { Format.fixed(fraction * 100, decimals) }

    /// A signed number with a real minus sign: "+0.4", "−1.8".
    static func signed(_ fraction: Double) -> String {
        let v = (fraction * 100 * 10).rounded() / 10
        return v < 0 ? "−" + Format.fixed(-v, 1) : "+" + Format.fixed(v == 0 ? 0 : v, 1)
    }

    static func plain(_ fraction: Double) -> String {
        let v = (fraction * 100 * 10).rounded() / 10
        return v < 0 ? "−" + Format.fixed(-v, 1) : Format.fixed(v == 0 ? 0 : v, 1)
    }

    static func interval(_ lower: Double, _ upper: Double) -> String { "[\(plain(lower)), \(plain(upper))]" }

    /// "+2.5 [0.3, 4.7]" at the study's confidence, or "+2.5 (no interval)".
    static func difference(_ d: Difference) -> String {
        guard let ci = d.interval(confidence: StudySettings.confidence) else { return "\(signed(d.estimate)) (no interval)" }
        return "\(signed(d.estimate)) \(interval(ci.lower, ci.upper))"
    }

    /// "61.2 ± 3.9 (n=3)" (95 % CI half-width), or "71.1 (n=1) †" for one seed.
    static func cell(_ m: MeanInterval) -> String {
        if let h = m.halfWidth { return "\(points(m.mean)) ± \(points(h)) (n=\(m.count))" }
        return "\(points(m.mean)) (n=\(m.count)) †"
    }

    /// A difference A − B of a metric phrased by what its interval supports.
    /// `a` and `b` name the two sides as the sentence's subject and object,
    /// e.g. ("BN at batch 2", "at batch 16"). With `higherIsBetter` (mAP) a
    /// negative difference is the worse one; numbers stay in the metric's units.
    static func sentence(_ d: Difference, _ a: String, _ b: String, higherIsBetter: Bool = false) -> String {
        guard let ci = d.interval(confidence: StudySettings.confidence) else {
            return "\(a) vs \(b): \(signed(d.estimate)) points, no interval (a side has one seed)"
        }
        if let worse = verdict(ci, higherIsBetter: higherIsBetter) {
            return "\(a) is \(worse ? "worse" : "better") than \(b) by \(magnitude(d.estimate, ci))"
        }
        return "\(a) vs \(b): no difference resolved: \(difference(d))"
    }

    /// Whether an interval of A − B resolves A as worse (true) or better (false)
    /// than B; nil when it contains zero.
    static func verdict(_ ci: (lower: Double, upper: Double), higherIsBetter: Bool) -> Bool? {
        if ci.lower > 0 { return !higherIsBetter }
        if ci.upper < 0 { return higherIsBetter }
        return nil
    }

    /// "10.0 points [7.7, 12.3]": the size of a resolved difference and its interval, sign dropped.
    static func magnitude(_ estimate: Double, _ ci: (lower: Double, upper: Double)) -> String {
        "\(plain(abs(estimate))) points " + (estimate < 0 ? interval(-ci.upper, -ci.lower) : interval(ci.lower, ci.upper))
    }
}

/// A page's study of error against batch: intervals, headline differences,
/// equivalence, evaluation protocol, PreciseBN, the ghost-batch and the
/// convergence controls, failed cells.
extension WorkloadPage {
    static var top1Metric: (ResultRecord) -> Double? { { $0.accuracy?[top1] } }

    /// Completed values of a metric over the seeds of (method, batch).
    func values(_ method: MethodKey, batch: Int, _ metric: (ResultRecord) -> Double? = WorkloadPage.top1Metric) -> [Double] {
        grid.records(method, batch: batch).filter { $0.status == .completed }.compactMap(metric)
    }

    func interval(_ method: MethodKey, batch: Int, _ metric: (ResultRecord) -> Double? = WorkloadPage.top1Metric) -> MeanInterval? {
        MeanInterval(values(method, batch: batch, metric), confidence: StudySettings.confidence)
    }

    // MARK: Provenance

    /// A warning for the top of the page when the records come from more than
    /// one commit or from a working tree with uncommitted changes; empty otherwise.
    static func commitWarning(_ records: [ResultRecord]) -> String {
        let counts = Dictionary(grouping: records, by: \.environment.gitCommit).mapValues(\.count)
        let dirty = counts.keys.contains { $0.hasSuffix("+dirty") }
        guard counts.count > 1 || dirty else { return "" }
        var why: [String] = []
        if counts.count > 1 { why.append("come from \(counts.count) different commits") }
        if dirty { why.append("include builds with uncommitted changes (`+dirty`)") }
        var md = "> **Warning: these records \(why.joined(separator: " and ")).** Cells may differ by code, not only by method and batch. Records per commit: "
        md += counts.sorted { $0.key < $1.key }.map { "`\($0.key)` \($0.value)" }.joined(separator: ", ") + ".\n\n"
        return md
    }

    /// "Records from commit `abc` (12 records)." for one clean commit.
    static func commitLine(_ records: [ResultRecord]) -> String {
        let commits = Set(records.map(\.environment.gitCommit)).sorted()
        return commits.count == 1 ? "Records from commit `\(commits[0])` (\(records.count) records).\n\n" : ""
    }

    // MARK: Chance and evaluation

    /// The number of classes of the task: the evaluation's confusion matrix, or
    /// "N classes" in the data description; nil when no record says.
    static func classes(_ records: [ResultRecord]) -> Int? {
        var found = Set<Int>()
        for r in records {
            if let c = r.evaluation?.confusion, !c.isEmpty { found.insert(c.count); continue }
            if let n = classCount(in: r.data.description) { found.insert(n) }
        }
        return found.count == 1 ? found.first : nil
    }

    static func classCount(in description: String) -> Int? {
        let words = description.split(whereSeparator: { $0 == " " || $0 == "," || $0 == ":" || $0 == "(" || $0 == ")" })
        for (i, w) in words.enumerated() where i > 0 && (w == "classes" || w == "class") {
            if let n = Int(words[i - 1]) { return n }
        }
        return nil
    }

    private var completed: [ResultRecord] { grid.records.filter { $0.status == .completed } }

    /// The evaluation-clip counts and views of the completed cells, in words.
    private func evaluationClips() -> String {
        let clips = Set(completed.map(\.data.evalClips)).sorted()
        let views = Set(completed.map { $0.data.evalViews ?? 1 }).sorted()
        var s = "\(clips.map(String.init).joined(separator: ", ")) evaluation clips per cell"
        if clips.count == 1, let n = clips.first, n > 0 {
            s += " (one clip = \(Format.fixed(100 / Double(n), 2)) points of error)"
        }
        s += ", \(views.map(String.init).joined(separator: ", ")) window\(views == [1] ? "" : "s") scored per clip"
        return s
    }

    private func chanceSentence() -> String {
        if let k = Self.classes(completed), k > 1 {
            var s = "Chance level: \(Format.fixed((1 - 1 / Double(k)) * 100, 1)) % top-1 error (\(k) classes, 1 − 1/\(k))."
            if let floor = errorFloor {
                s += " Error floor: \(Format.fixed(floor.expected * 100, 1)) % top-1 error expected of any model: \(Format.fixed(floor.expected * 200, 0)) % of the clips show a target that "
                s += "stands still, so its direction (half of its class) cannot be seen (`data.synthetic.stationary` in run.json)"
                if let r = floor.realized, r.clips > 0 {
                    s += "; on these \(r.clips) evaluation clips \(r.stationary) (\(Format.fixed(Double(r.stationary) / Double(r.clips) * 100, 1)) %) stand still: "
                    s += "floor \(Format.fixed(r.floor * 100, 1)) %"
                }
                s += "."
            }
            return s
        }
        return "Chance level: not stated (the records do not say how many classes the task has)."
    }

    func protocolSentence() -> String {
        let protocols = Set(completed.compactMap { $0.evaluation?.protocol }).sorted()
        let without = completed.filter { $0.evaluation == nil }.count
        if protocols.isEmpty { return "Evaluation: once, after the last training step." }
        var s = "Evaluation protocol: " + protocols.map { "\"\($0)\"" }.joined(separator: "; ")
        if without > 0 { s += " (\(without) older records without an evaluation section: once, after the last step)" }
        return s + "."
    }

    // MARK: The accuracy table

    func studySection() -> String {
        var md = "## Top-1 error (%) by batch per worker: mean ± 95 % CI over seeds\n\n"
        md += metricTable(first: "method", lowerIsBetter: true, Self.top1Metric, format: { StudyFormat.cell($0) })
        md += "\nLower is better; **bold** = best mean in its column. ± is the half-width of the 95 % confidence interval of the mean "
        md += "over n seeds (Student t, n − 1 degrees of freedom); † one seed: no interval. "
        md += "\(evaluationClips()). \(chanceSentence()) \(protocolSentence()) "
        md += "Failed or diverged cells are excluded (listed below). " + Provenance.line(grid.records) + "\n\n"
        md += "![top-1 error vs batch](\(name)-error.svg)\n\n"
        md += preciseSection()
        md += headlineSection()
        md += ghostSection()
        return md
    }

    // MARK: PreciseBN

    private var hasPrecise: Bool { completed.contains { $0.evaluation?.precise?[Self.top1.name] != nil } }

    private func preciseSection() -> String {
        guard hasPrecise else { return "" }
        let methods = grid.methods.filter { m in grid.batches.contains { b in grid.records(m, batch: b).contains { $0.evaluation?.precise?[Self.top1.name] != nil } } }
        var md = "### PreciseBN statistics beside the running averages\n\n"
        var table = MarkdownTable(header: ["method", "statistics"] + grid.batches.map { "batch \($0)" })
        for m in methods {
            for (kind, metric) in [("EMA (headline)", Self.top1Metric), ("PreciseBN", { (r: ResultRecord) in r.evaluation?.precise?[Self.top1.name] })] {
                table.rows.append([grid.label(m), kind] + grid.batches.map { b in interval(m, batch: b, metric).map(StudyFormat.cell) ?? "–" })
            }
        }
        table.textColumns = 2
        md += table.render()
        md += "\nThe same trained weights evaluated twice: with BatchNorm's running averages (EMA, the headline) and with "
        md += "precise statistics recomputed over training batches (PreciseBN). Where the two differ, part of BN's error at that batch "
        md += "comes from noisy evaluation statistics, not from training. Mean ± 95 % CI over seeds.\n\n"
        return md
    }

    // MARK: Headline differences

    /// The row that stands for a norm in the headline: one worker (else the
    /// fewest), G = 32 when there, else the one with the most completed cells.
    func headlineMethod(_ norm: String, _ metric: (ResultRecord) -> Double? = WorkloadPage.top1Metric) -> MethodKey? {
        let candidates = grid.methods.filter { $0.norm == norm && !$0.scratch }
        guard let fewest = candidates.map(\.workers).min() else { return nil }
        let pool = candidates.filter { $0.workers == fewest }
        if let g32 = pool.first(where: { $0.groups == "32" }) { return g32 }
        return pool.max { a, b in
            let ca = measuredBatches(a, metric).count, cb = measuredBatches(b, metric).count
            return ca != cb ? ca < cb : b < a
        }
    }

    private func measuredBatches(_ m: MethodKey, _ metric: (ResultRecord) -> Double?) -> [Int] {
        grid.batches.filter { !values(m, batch: $0, metric).isEmpty }
    }

    private func name(_ m: MethodKey) -> String { grid.label(m) }

    /// The headline list: each of BN's and GN's change from the largest batch to
    /// the smallest, their difference-in-differences, GN's flatness (TOST), GN
    /// against BN and every other method against GN at each batch, SyncBN
    /// against BN with the same workers; for classification also GN − BN paired
    /// over the evaluation clips. `metric`: top-1 error, or mAP@0.5 for detection.
    func headlineSection(_ metric: Metric = WorkloadPage.top1) -> String {
        let value: (ResultRecord) -> Double? = { $0.accuracy?[metric] }
        let up = metric.higherIsBetter
        func difference(_ a: MethodKey, _ ba: Int, _ b: MethodKey, _ bb: Int) -> Difference? {
            Difference.welch(values(a, batch: ba, value), values(b, batch: bb, value))
        }
        /// "At batch b, A is better than B by …; paired by seed: …" for two rows at one batch.
        func atBatch(_ b: Int, _ a: MethodKey, _ other: MethodKey) -> String? {
            guard let d = difference(a, b, other, b) else { return nil }
            let paired = Self.pairedBySeed(grid.records(a, batch: b), minus: grid.records(other, batch: b), value)
            return StudyFormat.sentence(d, "At batch \(b), \(name(a))", name(other), higherIsBetter: up)
                + (paired.contains("[") ? "; paired by seed \(paired)" : "") + "."
        }
        let bn = headlineMethod("bn", value), gn = headlineMethod("gn", value)
        var lines: [String] = []
        var change: [String: Difference] = [:]
        for m in [bn, gn].compactMap({ $0 }) {
            let bs = measuredBatches(m, value)
            guard let lo = bs.first, let hi = bs.last, lo != hi, let d = difference(m, lo, m, hi) else { continue }
            change[m.norm] = d
            lines.append(StudyFormat.sentence(d, "\(name(m)) at batch \(lo)", "at batch \(hi)", higherIsBetter: up) + ".")
        }
        if let bn, let gn, let dbn = change["bn"], let dgn = change["gn"] {
            let (bnBatches, gnBatches) = (measuredBatches(bn, value), measuredBatches(gn, value))
            let same = bnBatches.first == gnBatches.first && bnBatches.last == gnBatches.last
            let did = dbn.minus(dgn)
            var s = "Difference-in-differences (\(name(bn))'s change minus \(name(gn))'s): "
            if let ci = did.interval(confidence: StudySettings.confidence) {
                // A change is smallest batch minus largest: a degradation is a rise in error, a fall in mAP.
                if let bnMore = StudyFormat.verdict(ci, higherIsBetter: up) {
                    let (first, second) = bnMore ? (bn, gn) : (gn, bn)
                    s += "\(name(first)) degrades more than \(name(second)) as the batch shrinks, by \(StudyFormat.magnitude(did.estimate, ci))"
                } else {
                    s += "no difference resolved: \(StudyFormat.difference(did))"
                }
                s += " (standard error combined over the four cells, Welch–Satterthwaite \(Format.fixed(did.degreesOfFreedom ?? 0, 1)) degrees of freedom)"
            } else {
                s += "\(StudyFormat.signed(did.estimate)) points, no interval (a cell has one seed)"
            }
            if !same { s += "; note: the two methods' smallest and largest batches differ" }
            lines.append(s + ".")
        }
        if let gn, let d = change["gn"] {
            let bs = measuredBatches(gn, value)
            let margin = StudySettings.equivalenceMarginPoints / 100
            let test = EquivalenceTest(d, margin: margin, alpha: StudySettings.equivalenceAlpha)
            let m = Format.fixed(StudySettings.equivalenceMarginPoints, 0)
            var s = "Is \(name(gn)) flat across batch? \(name(gn)) at batch \(bs.first!) − at batch \(bs.last!): "
            if let ci = test.interval, let p = test.pValue {
                s += "\(StudyFormat.signed(d.estimate)), 90 % CI \(StudyFormat.interval(ci.lower, ci.upper)); "
                s += test.isEquivalent
                    ? "equivalent within ±\(m) points (TOST, α = 0.05, p = \(Format.fixed(p, 3)))"
                    : "not shown to be equivalent within ±\(m) points (TOST, α = 0.05, p = \(Format.fixed(p, 3)))"
            } else {
                s += "\(StudyFormat.signed(d.estimate)); not shown to be equivalent within ±\(m) points (a cell has one seed: no test)"
            }
            lines.append(s + ".")
        }
        if let bn, let gn {
            lines += grid.batches.compactMap { atBatch($0, gn, bn) }
        }
        if let gn {
            // The paper's other comparison: each remaining method against GN where both ran.
            var seen: Set<String> = ["bn", "gn"]
            for norm in grid.methods.map(\.norm) where seen.insert(norm).inserted {
                guard let m = headlineMethod(norm, value) else { continue }
                lines += grid.batches.compactMap { atBatch($0, m, gn) }
            }
        }
        // Statistics shared across workers against each worker's own, at the same W.
        for sync in grid.methods where sync.workers > 1 && !sync.scratch
            && (try? NormalizationSpec(parsing: sync.norm))?.method.sharesStatisticsAcrossWorkers == true {
            guard let own = grid.methods.first(where: { $0.norm == "bn" && $0.workers == sync.workers && $0.threads == sync.threads && !$0.scratch }) else { continue }
            lines += grid.batches.compactMap { atBatch($0, sync, own) }
        }
        if !up, let bn, let gn { lines += pairedLines(gn: gn, bn: bn) }
        guard !lines.isEmpty else { return "" }
        var md = "## Headline differences (\(metric.title), points, 95 % CI)\n\n"
        md += lines.map { "- " + $0 }.joined(separator: "\n") + "\n\n"
        md += "Differences of means between independent seeds: Welch t intervals (each cell's s²/n, Welch–Satterthwaite degrees of freedom). "
        md += "A line says a method is worse or better only when the 95 % interval excludes zero; otherwise it says no difference was resolved. "
        md += "Paired by seed: the mean of the same seed's difference (\(metric.title), first named minus second; the same initial weights and data order) "
        md += "with its t interval over the seeds both cells have. "
        md += "Equivalence: two one-sided tests with a margin of ±\(Format.fixed(StudySettings.equivalenceMarginPoints, 0)) points "
        md += "(`StudySettings.equivalenceMarginPoints`), i.e. the 90 % interval inside the margin. The lines are not corrected for multiplicity.\n\n"
        return md
    }

    /// GN − BN at each batch paired over the evaluation clips, where both cells
    /// of a seed recorded predictions on the same labels.
    func pairedLines(gn: MethodKey, bn: MethodKey) -> [String] {
        var lines: [String] = []
        for b in grid.batches {
            var paired = PairedComparison(pairs: 0, onlyA: 0, onlyB: 0)
            var seeds = 0
            let bnBySeed = Dictionary(grid.records(bn, batch: b).filter { $0.status == .completed }.map { ($0.cell.seed, $0) }, uniquingKeysWith: { a, _ in a })
            for g in grid.records(gn, batch: b) where g.status == .completed {
                guard let n = bnBySeed[g.cell.seed], let labels = g.evaluation?.labels, labels == n.evaluation?.labels,
                      let pg = g.evaluation?.predictions, let pn = n.evaluation?.predictions,
                      pg.count == labels.count, pn.count == labels.count else { continue }
                paired.add(labels: labels, a: pg, b: pn)
                seeds += 1
            }
            guard seeds > 0, paired.pairs > 0 else { continue }
            let ci = paired.interval
            var s = "Paired over the same evaluation clips at batch \(b) (\(paired.pairs) clip evaluations, \(seeds) seed\(seeds == 1 ? "" : "s")): "
            s += "\(name(gn)) − \(name(bn)) error \(StudyFormat.signed(paired.errorDifference)) \(StudyFormat.interval(ci.lower, ci.upper)); "
            s += "\(paired.onlyA) clips only \(name(gn)) got right, \(paired.onlyB) only \(name(bn)); McNemar p = \(Format.fixed(paired.pValue, 3))"
            s += ci.lower > 0 || ci.upper < 0 ? "" : " (no difference resolved)"
            lines.append(s + ". Pooling seeds treats clips as independent: this interval covers evaluation noise, not seed-to-seed training noise.")
        }
        return lines
    }

    // MARK: Ghost-batch control

    /// Groups of completed cells with the same method (apart from workers),
    /// the same step of W × batch clips and at least two batch sizes.
    func ghostGroups() -> [(key: String, step: Int, cells: [MethodKey: [Int]])] {
        var groups: [String: [Int: Set<MethodKey>]] = [:]
        var labels: [String: MethodKey] = [:]
        for r in completed {
            if (try? NormalizationSpec(parsing: r.cell.norm))?.method.sharesStatisticsAcrossWorkers == true { continue }
            let key = "\(r.cell.norm)|\(r.cell.groups)|\(r.cell.threads)|\(r.cell.isScratch)"
            groups[key, default: [:]][r.cell.workers * r.cell.batch, default: []].insert(MethodKey(r.cell))
            labels[key] = labels[key].map { min($0, MethodKey(r.cell)) } ?? MethodKey(r.cell)
        }
        var out: [(key: String, step: Int, cells: [MethodKey: [Int]])] = []
        for (key, bySteps) in groups {
            for (step, methods) in bySteps {
                var cells: [MethodKey: [Int]] = [:]
                for m in methods { cells[m] = grid.batches.filter { $0 * m.workers == step && !values(m, batch: $0).isEmpty } }
                let batches = Set(cells.values.flatMap { $0 })
                if batches.count > 1 && methods.contains(where: { $0.workers > 1 }) { out.append((key, step, cells)) }
            }
        }
        return out.sorted { (labels[$0.key]!, $0.step) < (labels[$1.key]!, $1.step) }
    }

    private func ghostSection() -> String {
        let groups = ghostGroups()
        guard !groups.isEmpty else { return "" }
        var md = "## Ghost-batch control: same optimizer step, BN statistics over fewer clips\n\n"
        for g in groups {
            let any = g.cells.keys.sorted()[0]
            let title = grid.label(MethodKey(norm: any.norm, groups: any.groups, workers: 1, threads: any.threads, scratch: any.scratch))
                .replacingOccurrences(of: " W=1", with: "")
            md += "\(title), same step of \(g.step) clips, statistics over b:\n\n"
            let entries = g.cells.flatMap { m, bs in bs.map { (m, $0) } }.sorted { $0.1 > $1.1 }
            let (reference, referenceBatch) = entries[0]
            var table = MarkdownTable(header: ["statistics over b", "workers W", "top-1 error (%)",
                                               "minus b = \(referenceBatch), paired by seed (points, 95 % CI)"])
            for (m, b) in entries {
                table.rows.append([String(b), String(m.workers), interval(m, batch: b).map(StudyFormat.cell) ?? "–",
                                   b == referenceBatch ? "–" : Self.pairedBySeed(grid.records(m, batch: b), minus: grid.records(reference, batch: referenceBatch), Self.top1Metric)])
            }
            md += table.render() + "\n"
        }
        md += "Each row takes optimizer steps of the same W × b clips with the same learning rate; only the number of clips "
        md += "each normalization sees (b) changes. A change down the table isolates the statistics' batch from the step's size. "
        md += "Mean ± 95 % CI over seeds; † one seed. The last column subtracts, seed by seed, the error with statistics over "
        md += "the most clips and gives the mean difference with its t interval over the seeds both rows have.\n\n"
        return md
    }

    /// A metric of `records` minus that of `reference`, seed by seed over the
    /// seeds both completed, as a mean with its t interval: "+5.5 [3.0, 8.1] (n=3)".
    static func pairedBySeed(_ records: [ResultRecord], minus reference: [ResultRecord], _ metric: (ResultRecord) -> Double?) -> String {
        pairedText(pairedDifferences(bySeed(records, metric), minus: bySeed(reference, metric)))
    }

    /// A metric of the completed records, by seed.
    static func bySeed(_ records: [ResultRecord], _ metric: (ResultRecord) -> Double?) -> [Int: Double] {
        var out: [Int: Double] = [:]
        for r in records where r.status == .completed {
            if let e = metric(r) { out[r.cell.seed] = e }
        }
        return out
    }

    /// `a[seed] − b[seed]` for the seeds both have.
    static func pairedDifferences(_ a: [Int: Double], minus b: [Int: Double]) -> [Int: Double] {
        a.reduce(into: [:]) { out, e in if let v = b[e.key] { out[e.key] = e.value - v } }
    }

    /// The values in seed order, so that sums (and the numbers on a page) do not depend on hashing.
    static func inSeedOrder(_ bySeed: [Int: Double]) -> [Double] { bySeed.sorted { $0.key < $1.key }.map(\.value) }

    /// Per-seed differences as a mean with its t interval: "+5.5 [3.0, 8.1] (n=3)".
    static func pairedText(_ bySeed: [Int: Double]) -> String {
        guard let d = MeanInterval(inSeedOrder(bySeed), confidence: StudySettings.confidence) else { return "–" }
        guard let lower = d.lower, let upper = d.upper else { return "\(StudyFormat.signed(d.mean)) (n=1) †" }
        return "\(StudyFormat.signed(d.mean)) \(StudyFormat.interval(lower, upper)) (n=\(d.count))"
    }
}
