import NormBenchEngine
import NormBenchWorkloads
import Foundation

extension Baseline {
    /// Reads and validates a baseline file.
    /// - Throws: `HarnessError.mismatch` naming the file, the problem and the fix.
    public static func read(path: String) throws -> Baseline {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw HarnessError.mismatch("\(path): cannot read baseline (\(FileManager.default.fileExists(atPath: path) ? "unreadable" : "no such file")); make one with `normbench check --update-baseline --baseline \(path) RUN_DIR`")
        }
        struct Schema: Decodable { var schema: Int }
        if let old = try? JSONDecoder().decode(Schema.self, from: data), old.schema != currentSchema {
            throw HarnessError.mismatch("\(path): baseline schema \(old.schema), this normbench reads \(currentSchema); regenerate it with `normbench check --update-baseline`")
        }
        let baseline: Baseline
        do { baseline = try JSONDecoder().decode(Baseline.self, from: data) } catch {
            throw HarnessError.mismatch("\(path): not a normbench baseline (\(error.localizedDescription)); regenerate it with `normbench check --update-baseline`")
        }
        if let problem = baseline.problem {
            throw HarnessError.mismatch("\(path): \(problem); regenerate it with `normbench check --update-baseline`, or fix it by hand")
        }
        return baseline
    }

    /// Writes the baseline atomically (sorted keys: same runs, same bytes).
    public func write(path: String) throws {
        try AtomicFile.write(RecordStore.encode(self), to: path)
    }

    /// The first thing that makes this baseline unusable, or nil.
    var problem: String? {
        let t = tolerances
        let nonNegative = [("errorClips", t.errorClips), ("mAPAbsolute", t.mAPAbsolute), ("evalLossRelative", t.evalLossRelative),
                           ("ledgerBytes", Double(t.ledgerBytes)), ("throughputRelative", t.throughputRelative),
                           ("throughputCellRelative", t.throughputCellRelative), ("lossSpreadFloorRelative", t.lossSpreadFloorRelative)]
        if let (name, value) = nonNegative.first(where: { !($0.1 >= 0 && $0.1.isFinite) }) {
            return "tolerance `\(name)` is \(value); tolerances are finite and ≥ 0"
        }
        guard t.falseAlarmRate > 0 && t.falseAlarmRate < 0.5 else {
            return "tolerance `falseAlarmRate` is \(t.falseAlarmRate); it is a probability in (0, 0.5), e.g. 0.01"
        }
        if cells.isEmpty { return "no cells" }
        for cell in cells {
            let label = "cell \(cell.cell.workload)/\(cell.cell.id)"
            if cell.entries.isEmpty { return "\(label) has no entries" }
            for entry in cell.entries {
                if entry.metrics.isEmpty { return "\(label) has no metrics for fingerprint \(entry.fingerprint)" }
                if entry.fingerprint != "unknown" && fingerprints[entry.fingerprint] == nil {
                    return "\(label) names fingerprint \(entry.fingerprint), which `fingerprints` does not describe"
                }
                if let bad = entry.metrics.first(where: { !Self.plausible($0.key, $0.value) }) {
                    return "\(label) has \(bad.key) = \(bad.value), which no run can measure"
                }
            }
        }
        for spread in spreads {
            for (name, values) in spread.samples where values.count != spread.sources.count || !values.allSatisfy({ Self.plausible(name, $0) }) {
                return "spread \(spread.group) has \(values.count) values of \(name) for \(spread.sources.count) sources, or an impossible one"
            }
        }
        return nil
    }

    /// Whether `value` is a possible value of metric `name` (finite; fractions in 0...1; counts ≥ 0).
    static func plausible(_ name: String, _ value: Double) -> Bool {
        guard value.isFinite else { return false }
        return Metric.named(name)?.isFraction == true ? (0...1).contains(value) : value >= 0
    }
}
