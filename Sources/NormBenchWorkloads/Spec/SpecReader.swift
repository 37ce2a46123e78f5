import Yams

/// Reads one YAML mapping of a workload file, key by key, and remembers which
/// keys it read so that `finish()` can report unknown ones.
struct SpecReader {
    let file: String
    let path: String
    private let pairs: [(key: String, value: Node)]
    private let line: Int?
    private var used: Set<String> = []

    init(file: String, path: String, node: Node) throws {
        self.file = file
        self.path = path
        self.line = node.mark?.line
        guard case .mapping(let mapping) = node else {
            throw WorkloadError.invalid(
                file: file, line: node.mark?.line, key: path.isEmpty ? "(top level)" : path,
                problem: "must be a mapping of keys to values", example: path.isEmpty ? "name: smoke" : "\(path): {...}")
        }
        var pairs: [(String, Node)] = []
        for (k, v) in mapping {
            guard case .scalar(let s) = k else {
                throw WorkloadError.invalid(file: file, line: k.mark?.line, key: path, problem: "has a non-text key", example: "key: value")
            }
            pairs.append((s.string, v))
        }
        self.pairs = pairs
    }

    func key(_ k: String) -> String { path.isEmpty ? k : "\(path).\(k)" }

    private mutating func node(_ k: String) -> Node? {
        used.insert(k)
        return pairs.first { $0.key == k }?.value
    }

    private func fail(_ k: String, _ node: Node?, _ problem: String, _ example: String) -> WorkloadError {
        .invalid(file: file, line: node?.mark?.line ?? line, key: key(k), problem: problem, example: example)
    }

    /// A nested mapping, or nil when the key is absent.
    mutating func section(_ k: String) throws -> SpecReader? {
        guard let n = node(k) else { return nil }
        return try SpecReader(file: file, path: key(k), node: n)
    }

    mutating func string(_ k: String, _ value: inout String, example: String) throws {
        guard let n = node(k) else { return }
        guard case .scalar(let s) = n, !s.string.isEmpty else { throw fail(k, n, "must be text", example) }
        value = s.string
    }

    /// One value of a closed set (`E`'s raw values). `removed` maps a value that
    /// no longer exists to the fix the message suggests.
    mutating func choice<E: RawRepresentable & CaseIterable>(
        _ k: String, _ value: inout E, example: String, removed: [String: String] = [:]
    ) throws where E.RawValue == String {
        guard let n = node(k) else { return }
        guard case .scalar(let s) = n, !s.string.isEmpty else { throw fail(k, n, "must be text", example) }
        guard let v = E(rawValue: s.string) else {
            let allowed = E.allCases.map(\.rawValue).joined(separator: ", ")
            let why = removed[s.string].map { "; \($0)" } ?? ""
            throw fail(k, n, "is \"\(SafeName.escaped(s.string))\"; must be one of \(allowed)\(why)", example)
        }
        value = v
    }

    /// The mapping's keys, in file order.
    var keys: [String] { pairs.map(\.key) }

    /// Whether the mapping has key `k` (without reading it).
    func has(_ k: String) -> Bool { pairs.contains { $0.key == k } }

    /// Whether key `k` holds a nested mapping (without reading it).
    func isMapping(_ k: String) -> Bool {
        if case .mapping? = pairs.first(where: { $0.key == k })?.value { return true }
        return false
    }

    mutating func optionalString(_ k: String, _ value: inout String?, example: String) throws {
        guard node(k) != nil else { return }
        used.remove(k)
        var s = ""
        try string(k, &s, example: example)
        value = s
    }

    /// An integer in `range` (docs/workloads.md lists every key's range, `Limits` holds them).
    mutating func int(_ k: String, _ value: inout Int, _ range: ClosedRange<Int>, example: String) throws {
        guard let n = node(k) else { return }
        guard case .scalar(let s) = n, let v = Int(s.string) else {
            throw fail(k, n, "must be an integer in \(range.lowerBound)...\(range.upperBound)\(Self.hint(n))", example)
        }
        if let problem = Limits.problem(v, range) { throw fail(k, n, problem, example) }
        value = v
    }

    mutating func optionalInt(_ k: String, _ value: inout Int?, _ range: ClosedRange<Int>, example: String) throws {
        guard node(k) != nil else { return }
        used.remove(k)
        var v = 0
        try int(k, &v, range, example: example)
        value = v
    }

    mutating func double(_ k: String, _ value: inout Double, range: ClosedRange<Double>, example: String) throws {
        guard let n = node(k) else { return }
        guard case .scalar(let s) = n, let v = Double(s.string), v.isFinite else { throw fail(k, n, "must be a number", example) }
        guard range.contains(v) else { throw fail(k, n, "is \(v); must be in \(range.lowerBound)...\(range.upperBound)", example) }
        value = v
    }

    mutating func bool(_ k: String, _ value: inout Bool, example: String) throws {
        guard let n = node(k) else { return }
        guard case .scalar(let s) = n, let v = Bool(s.string.lowercased()) else { throw fail(k, n, "must be true or false", example) }
        value = v
    }

    /// A non-empty list of scalars, each converted by `convert` (nil = invalid).
    mutating func list<T>(
        _ k: String, _ value: inout [T], count: Int? = nil, example: String, problem: String,
        _ convert: (String) -> T?
    ) throws {
        guard let n = node(k) else { return }
        let items: [Node]
        switch n {
        case .sequence(let seq): items = Array(seq)
        case .scalar: items = [n]  // `batches: 8` means `[8]`
        default: throw fail(k, n, "must be a list", example)
        }
        guard !items.isEmpty else { throw fail(k, n, "must not be empty", example) }
        guard items.count <= Limits.listLength else { throw fail(k, n, "has \(items.count) entries; at most \(Limits.listLength)", example) }
        var out: [T] = []
        for item in items {
            guard case .scalar(let s) = item, let v = convert(s.string) else {
                throw fail(k, item, "must be \(problem); got \(Self.show(item))", example)
            }
            out.append(v)
        }
        if let count, out.count != count { throw fail(k, n, "must have \(count) entries, got \(out.count)", example) }
        value = out
    }

    /// Throws for the first key that was never asked for (every key read is a known key).
    func finish() throws {
        let known = used.sorted()
        for (k, v) in pairs where !used.contains(k) {
            throw WorkloadError.invalid(
                file: file, line: v.mark?.line, key: key(k),
                problem: "is not a known key (known here: \(known.joined(separator: ", ")))",
                example: "\(known.first ?? "name"): ...")
        }
    }

    /// ", got \"1e9\"" for a scalar that is not an integer (too large, a float, text).
    private static func hint(_ n: Node) -> String {
        if case .scalar(let s) = n { return ", got \"\(SafeName.escaped(s.string))\"" }
        return ""
    }

    private static func show(_ n: Node) -> String {
        if case .scalar(let s) = n { return "\"\(SafeName.escaped(s.string))\"" }
        return "a nested value"
    }
}
