import Foundation
import Testing
import NormBenchTestSupport

/// Every workload key and every numeric or path option of run, plan, publish,
/// check, list, show and bench at the values a hostile or careless user gives:
/// 0, −1, huge, beyond `Int`, NaN and infinity, empty, path-like. Each must end
/// in exit 1 or 2 with exactly one line on stderr, never a signal, and change
/// nothing in its scratch folder (the binary runs inside it, so `../x` lands
/// there too). Valid values must not start work: `run` gets `--resume` with an
/// `--out` that holds no run, which fails after every check of the workload.
@Suite struct BoundaryCLITests {
    /// A two-cell workload as dotted keys; a case replaces or adds one key.
    static let base: [(String, String)] = [
        ("name", "fuzz"), ("data.cache", "cache"),
        ("data.synthetic.trainClips", "8"), ("data.synthetic.evalClips", "4"), ("data.synthetic.classes", "2"),
        ("data.synthetic.frames", "6"), ("data.synthetic.width", "16"), ("data.synthetic.height", "16"),
        ("clip.frames", "2"), ("clip.stride", "2"), ("clip.size", "16"), ("model.widths", "[4, 8, 8]"),
        ("training.steps", "6"), ("training.warmupSteps", "0"), ("training.baseLR", "0.05"), ("training.referenceBatch", "2"),
        ("sweep.norms", "[bn, gn]"), ("sweep.batches", "[2]"), ("sweep.groups", "[2]"), ("sweep.seeds", "[0]"), ("sweep.threads", "[1]"),
    ]

    enum Kind { case number, list, flag, choice, name, text }

    /// Every key a workload file may hold, and what kind of value it takes.
    static let keys: [(String, Kind)] = [
        ("name", .name), ("description", .text), ("task", .choice),
        ("data.source", .choice), ("data.cache", .text),
        ("data.synthetic.trainClips", .number), ("data.synthetic.evalClips", .number), ("data.synthetic.classes", .number),
        ("data.synthetic.frames", .number), ("data.synthetic.width", .number), ("data.synthetic.height", .number),
        ("data.synthetic.fps", .number), ("data.synthetic.codec", .choice), ("data.synthetic.distractors", .number),
        ("data.synthetic.noise", .number), ("data.synthetic.stationary", .number), ("data.synthetic.objects", .number), ("data.synthetic.seed", .number),
        ("clip.frames", .number), ("clip.stride", .number), ("clip.size", .number), ("clip.sampling", .choice),
        ("clip.mean", .list), ("clip.std", .list), ("clip.flip", .flag),
        ("model.architecture", .choice), ("model.widths", .list), ("model.blocks", .list), ("model.zeroInitLastGamma", .flag),
        ("model.init", .text),
        ("training.epochs", .number), ("training.steps", .number), ("training.baseLR", .number), ("training.referenceBatch", .number),
        ("training.schedule", .choice), ("training.milestones", .list), ("training.warmupSteps", .number), ("training.warmupEpochs", .number),
        ("training.momentum", .number),
        ("training.weightDecay", .number), ("training.weightDecayNorm", .flag), ("training.workers", .number),
        ("training.preciseBNBatches", .number), ("training.saveModel", .flag),
        ("sweep.norms", .list), ("sweep.batches", .list), ("sweep.batchesByNorm", .list), ("sweep.groups", .list), ("sweep.seeds", .list), ("sweep.threads", .list),
    ]

    /// The hostile values, as YAML text; `ABS` becomes an absolute path inside the scratch folder.
    static let values = ["0", "-1", "1000000000000", "9223372036854775807", "99999999999999999999", ".nan", ".inf", "''", "../x", "ABS/x"]

    /// Values no number, list, flag or choice key accepts: the message must name the key.
    static let neverValid: Set<String> = ["1000000000000", "9223372036854775807", "99999999999999999999", ".nan", ".inf", "''", "../x", "ABS/x"]

    static var cases: [(String, String)] { keys.flatMap { key in values.map { (key.0, $0) } } }

    @Test(arguments: cases)
    func workloadKey(_ key: String, _ value: String) throws {
        let scratch = try Scratch()
        let v = value.replacingOccurrences(of: "ABS", with: scratch.root + "/abs")
        var pairs = Self.base.filter { $0.0 != key }
        pairs.append((key, v))
        if key.hasPrefix("training.epochs") { pairs.removeAll { $0.0 == "training.steps" } }
        try scratch.write("w.yaml", Self.yaml(pairs))
        let r = try scratch.run(["run", "w.yaml", "--out", "out", "--resume", "--workloads", "."])
        let kind = Self.keys.first { $0.0 == key }!.1
        let mustName = (kind != .name && kind != .text && Self.neverValid.contains(value)) || (kind == .name && ["''", "../x", "ABS/x"].contains(value))
        try scratch.expectRefused(r, "\(key): \(value)", naming: mustName ? "`\(key)`" : nil)
    }

    /// A folder data source's own keys.
    @Test(arguments: ["data.folder.root", "data.folder.manifest", "data.folder.boxes", "data.folder.classes"], values)
    func folderKey(_ key: String, _ value: String) throws {
        let scratch = try Scratch()
        var pairs = Self.base.filter { !$0.0.hasPrefix("data.") } + [
            ("data.source", "folder"), ("data.folder.root", "clips"), ("data.folder.manifest", "clips.csv"), ("data.folder.classes", "2"),
        ]
        pairs.removeAll { $0.0 == key }
        pairs.append((key, value.replacingOccurrences(of: "ABS", with: scratch.root + "/abs")))
        try scratch.write("w.yaml", Self.yaml(pairs))
        let r = try scratch.run(["run", "w.yaml", "--out", "out", "--resume", "--workloads", "."])
        try scratch.expectRefused(r, "\(key): \(value)", naming: key.hasSuffix("classes") && Self.neverValid.contains(value) ? "`\(key)`" : nil)
    }

    /// Command-line values: numbers, lists, sizes and paths.
    static let optionValues = ["0", "-1", "1000000000000", "9223372036854775807", "99999999999999999999", "nan", "inf", "", "../x", "ABS/x", "1,1"]

    static let optionCases: [[String]] = {
        var out: [[String]] = []
        let run = ["run", "w.yaml", "--workloads", ".", "--resume"]
        for option in ["--norms", "--batches", "--batch", "--workers", "--groups", "--seeds", "--threads", "--epochs", "--steps", "--memory-budget", "--workloads"] {
            for v in optionValues { out.append(run + ["--out", "out", option, v]) }
        }
        for v in optionValues { out.append(["run", "w.yaml", "--workloads", ".", "--resume", "--out", v]) }
        for v in optionValues + ["infGiB", "nanGiB", "1e30GiB", "1e19B", "-1GiB", "0x10GiB"] where !["1000000000000", "9223372036854775807"].contains(v) {
            out.append(["plan", "w.yaml", "--workloads", ".", "--memory-budget", v])
        }
        for v in optionValues {
            out.append(["plan", v, "--workloads", "."])
            out.append(["publish", "missing-run", "--out", v])
            out.append(["publish", v])
            out.append(["check", "--baseline", v, "missing-run"])
            out.append(["check", "--baseline", "missing.json", v])
            out.append(["check", "--update-baseline", "--baseline", v, "missing-run"])
            out.append(["list", "--workloads", v == "" ? "" : "missing/\(v)"])
            out.append(["show", v, "--workloads", "."])
            out.append(["show", "w", "--workloads", v])
            guard v != "1,1" else { continue }  // a valid list to the benchmarks: it would start one
            for option in ["--threads", "--conv-batches", "--train-batches", "--repeats", "--steps"] { out.append(["bench", "kernels", option, v]) }
            for option in ["--threads", "--shapes", "--repeats", "--groups"] { out.append(["bench", "norms", option, v]) }
            for option in ["--threads", "--repeats"] { out.append(["bench", "calibrate", option, v]) }
            for option in ["--norms", "--batches", "--threads", "--steps", "--repeats", "--warmup"] where !(option == "--warmup" && v == "0") {
                out.append(["bench", "train", "w.yaml", "--workloads", ".", option, v])
            }
            out.append(["bench", "train", v, "--workloads", "."])
            out.append(["bench", "train", "w", "--workloads", v])
        }
        // Valid-looking values that must still be refused: the same value twice, a list option's empty item.
        out.append(["run", "w.yaml", "--workloads", ".", "--out", "out", "--seeds", "0,0,0"])
        out.append(["run", "w.yaml", "--workloads", ".", "--out", "out", "--batches", "2,2"])
        out.append(["run", "w.yaml", "--workloads", ".", "--out", "out", "--norms", "bn,bn"])
        out.append(["run", "w.yaml", "--workloads", ".", "--out", ""])
        out.append(["publish", "--out", ""])
        out.append(["bench", "kernels", "--norms", ""])
        out.append(["bench", "kernels", "--norms", "bn,,gn"])
        out.append(["bench", "decode", "--python", "/nonexistent/bin/python"])
        out.append(["bench", "decode", "--python", ""])
        out.append(["bench", "train", "w.yaml", "--out", ""])
        out.append(["bench", "train", "w.yaml", "--norms", "bn,bn"])
        return out
    }()

    @Test(arguments: optionCases)
    func option(_ arguments: [String]) throws {
        let scratch = try Scratch()
        try scratch.write("w.yaml", Self.yaml(Self.base))
        let r = try scratch.run(arguments.map { $0.replacingOccurrences(of: "ABS", with: scratch.root + "/abs") })
        try scratch.expectRefused(r, arguments.joined(separator: " "), naming: nil)
    }

    /// Block YAML from dotted keys, in order of first appearance.
    static func yaml(_ pairs: [(String, String)], indent: String = "") -> String {
        var order: [String] = []
        var groups: [String: [(String, String)]] = [:]
        for (key, value) in pairs {
            let parts = key.split(separator: ".", maxSplits: 1).map(String.init)
            if groups[parts[0]] == nil { order.append(parts[0]) }
            groups[parts[0], default: []].append((parts.count > 1 ? parts[1] : "", value))
        }
        return order.map { head in
            let items = groups[head]!
            if let leaf = items.first(where: { $0.0.isEmpty }) { return "\(indent)\(head): \(leaf.1)\n" }
            return "\(indent)\(head):\n" + yaml(items, indent: indent + "  ")
        }.joined()
    }
}

/// A scratch folder the binary runs in (`root/work`), and its contents before the run.
struct Scratch {
    let root: String
    let work: String

    init() throws {
        root = scratchDirectory("boundary")
        work = root + "/work"
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
    }

    func write(_ name: String, _ text: String) throws {
        try Data(text.utf8).write(to: URL(fileURLWithPath: "\(work)/\(name)"))
    }

    /// Runs the binary in `work` and compares the scratch folder before and after.
    func run(_ arguments: [String]) throws -> (output: BuiltBinary.Output, changed: [String]) {
        let before = Self.snapshot(root)
        let output = try BuiltBinary.run(arguments, timeout: 60, directory: work)
        let after = Self.snapshot(root)
        let changed = Set(before.keys).union(after.keys).filter { before[$0] != after[$0] }.sorted()
        return (output, changed)
    }

    func expectRefused(_ r: (output: BuiltBinary.Output, changed: [String]), _ label: String, naming: String?) throws {
        let o = r.output
        #expect(!o.signaled, "\(label): killed by signal \(o.status)")
        #expect(o.status == 1 || o.status == 2, "\(label): exit \(o.status), stderr: \(o.stderr)")
        #expect(o.stderrLines.count == 1, "\(label): \(o.stderrLines.count) stderr lines: \(o.stderr.prefix(600))")
        #expect(r.changed.isEmpty, "\(label): changed \(r.changed)")
        if let naming { #expect(o.stderr.contains(naming), "\(label): message does not name \(naming): \(o.stderr)") }
    }

    /// Every file and folder under `folder` with its bytes (folders as empty data).
    static func snapshot(_ folder: String) -> [String: Data] {
        var out: [String: Data] = [:]
        guard let walker = FileManager.default.enumerator(atPath: folder) else { return out }
        for case let rel as String in walker {
            out[rel] = FileManager.default.contents(atPath: "\(folder)/\(rel)") ?? Data()
        }
        return out
    }
}
