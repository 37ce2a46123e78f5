import Foundation

/// A method as a table row: a normalization with its groups, workers and threads.
/// Seeds and batch sizes are what tables aggregate and spread over.
public struct MethodKey: Hashable, Comparable, Sendable {
    public var norm: String
    public var groups: String
    public var workers: Int
    public var threads: Int
    /// From-scratch reference cells of a fine-tuning workload (`CellKey.scratch`): their own row.
    public var scratch: Bool

    public init(norm: String, groups: String, workers: Int, threads: Int, scratch: Bool = false) {
        self.norm = norm
        self.groups = groups
        self.workers = workers
        self.threads = threads
        self.scratch = scratch
    }

    init(_ cell: CellKey) {
        self.init(norm: cell.norm, groups: cell.groups, workers: cell.workers, threads: cell.threads, scratch: cell.isScratch)
    }

    /// The paper's order (BN family first, then GN, LN, IN), then names alphabetically.
    static let normOrder = ["bn", "syncbn", "frozenbn", "brn", "gn", "gn+ws", "ln", "in", "frn", "evonorm", "none"]

    public static func < (a: MethodKey, b: MethodKey) -> Bool {
        if a.scratch != b.scratch { return b.scratch }
        let ra = normOrder.firstIndex(of: a.norm) ?? normOrder.count
        let rb = normOrder.firstIndex(of: b.norm) ?? normOrder.count
        if ra != rb { return ra < rb }
        if a.norm != b.norm { return a.norm < b.norm }
        if a.groups != b.groups { return groupsLess(a.groups, b.groups) }
        return (a.workers, a.threads) < (b.workers, b.threads)
    }

    /// Groups in numeric order, "C" (one group per channel) after every number.
    static func groupsLess(_ a: String, _ b: String) -> Bool {
        switch (Int(a), Int(b)) {
        case let (x?, y?): return x < y
        case (.some, nil): return true
        case (nil, .some): return false
        default: return a < b
        }
    }
}

/// Mean and spread of one metric over the seeds of a cell.
public struct SeedStatistics: Equatable, Sendable {
    public var mean: Double
    /// Sample standard deviation (n − 1); 0 for one seed.
    public var std: Double
    public var count: Int

    public init?(_ values: [Double]) {
        guard !values.isEmpty else { return nil }
        count = values.count
        mean = values.reduce(0, +) / Double(count)
        if count > 1 {
            let m = mean
            std = (values.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(count - 1)).squareRoot()
        } else {
            std = 0
        }
    }
}

/// The records of one workload arranged for tables: rows (methods) × columns
/// (batch per worker), each entry the records of all seeds of that cell.
struct WorkloadGrid {
    let workload: String
    let records: [ResultRecord]
    let methods: [MethodKey]
    let batches: [Int]
    private let entries: [MethodKey: [Int: [ResultRecord]]]

    init(workload: String, records: [ResultRecord]) {
        self.workload = workload
        self.records = records
        var entries: [MethodKey: [Int: [ResultRecord]]] = [:]
        for r in records { entries[MethodKey(r.cell), default: [:]][r.cell.batch, default: []].append(r) }
        self.entries = entries
        methods = entries.keys.sorted()
        batches = Set(records.map(\.cell.batch)).sorted()
    }

    /// All seeds of (method, batch), sorted by seed; empty when the cell was not run.
    func records(_ method: MethodKey, batch: Int) -> [ResultRecord] {
        (entries[method]?[batch] ?? []).sorted { $0.cell < $1.cell }
    }

    /// Statistics of a metric over the completed seeds of (method, batch).
    func statistics(_ method: MethodKey, batch: Int, _ metric: (ResultRecord) -> Double?) -> SeedStatistics? {
        SeedStatistics(records(method, batch: batch).filter { $0.status == .completed }.compactMap(metric))
    }

    /// The median over the completed seeds of (method, batch) of a measurement
    /// (speeds: the seeds do the same work, and differ by what else ran).
    func median(_ method: MethodKey, batch: Int, _ metric: (ResultRecord) -> Double?) -> Double? {
        let v = records(method, batch: batch).filter { $0.status == .completed }.compactMap(metric).sorted()
        guard !v.isEmpty else { return nil }
        return v.count % 2 == 1 ? v[v.count / 2] : (v[v.count / 2 - 1] + v[v.count / 2]) / 2
    }

    /// Why (method, batch) has no measurement: "over budget", "diverged" or "failed" when
    /// every seed ended that way, else "–".
    func missing(_ method: MethodKey, batch: Int) -> String {
        let rs = records(method, batch: batch)
        if !rs.isEmpty && rs.allSatisfy({ $0.status == .overBudget }) { return "over budget" }
        if !rs.isEmpty && rs.allSatisfy({ $0.status == .diverged }) { return "diverged" }
        if !rs.isEmpty && rs.allSatisfy({ $0.status == .failed }) { return "failed" }
        return "–"
    }

    /// Row labels: "BN", "GN (G=32)", "BN* (frozen)" (the GN paper's name for frozen BN);
    /// workers and threads only when they vary.
    func label(_ method: MethodKey) -> String { Self.label(method, among: methods) }

    /// The label of `method` in a table whose rows are `methods`.
    static func label(_ method: MethodKey, among methods: [MethodKey]) -> String {
        var text = method.norm.uppercased().replacingOccurrences(of: "SYNCBN", with: "SyncBN")
            .replacingOccurrences(of: "FROZENBN", with: "BN* (frozen)").replacingOccurrences(of: "EVONORM", with: "EvoNorm")
        if method.groups != "-" { text += " (G=\(method.groups))" }
        if method.scratch { text += " from scratch" }
        if Set(methods.map(\.workers)).count > 1 { text += " W=\(method.workers)" }
        if Set(methods.map(\.threads)).count > 1 { text += " T=\(method.threads)" }
        return text
    }
}
