import Foundation
import NormBenchEngine
import Yams

extension WorkloadSpec {
    /// Normalization method names the sweep accepts.
    public static var knownNorms: [String] { NormMethod.allCases.map(\.rawValue) }

    /// Reads and validates a workload file.
    /// - Throws: `WorkloadError` naming the file, the key, the problem and a valid example.
    public static func load(path: String) throws -> WorkloadSpec {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            let reason = FileManager.default.fileExists(atPath: path) ? "not readable UTF-8 text" : "no such file"
            throw WorkloadError.unreadable(file: path, reason: reason)
        }
        let name = URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
        return try parse(yaml: text, file: path, defaultName: name)
    }

    /// Parses and validates workload YAML; `file` is used in error messages.
    public static func parse(yaml: String, file: String, defaultName: String) throws -> WorkloadSpec {
        let root: Node
        do {
            guard let n = try Yams.compose(yaml: yaml) else {
                throw WorkloadError.invalid(file: file, line: nil, key: "(top level)", problem: "is empty", example: "name: smoke")
            }
            root = n
        } catch let e as WorkloadError {
            throw e
        } catch let e as YamlError {
            throw WorkloadError.syntax(file: file, line: Self.line(of: e), reason: Self.reason(of: e))
        }
        var r = try SpecReader(file: file, path: "", node: root)
        var spec = WorkloadSpec(name: defaultName)
        try r.string("name", &spec.name, example: "name: smoke")
        try r.string("description", &spec.description, example: "description: tiny sweep for CI")
        try r.choice("task", &spec.task, example: "task: classification")
        spec.model = ModelSpec(for: spec.task)
        if var s = try r.section("data") { try spec.data.read(&s) }
        if var s = try r.section("clip") { try spec.clip.read(&s) }
        if var s = try r.section("model") { try spec.model.read(&s) }
        if var s = try r.section("training") { try spec.training.read(&s) }
        if var s = try r.section("sweep") { try spec.sweep.read(&s) }
        try r.finish()
        try spec.validate(file: file)
        return spec
    }

    /// Checks combinations no single key can: groups that do not divide a width,
    /// a clip longer than the videos, a folder source without a folder.
    public func validate(file: String) throws {
        func fail(_ key: String, _ problem: String, _ example: String) -> WorkloadError {
            .invalid(file: file, line: nil, key: key, problem: problem, example: example)
        }
        if let problem = SafeName.problem(name) {
            throw fail("name", "\(problem); it names the results folder and pages, so it must be \(SafeName.rule)", "name: \(Self.suggestedName(name))")
        }
        if !Limits.stages.contains(model.widths.count) {
            throw fail("model.widths", "has \(model.widths.count) stages; must be in \(Limits.stages)", "widths: [32, 64, 128]")
        }
        let lengths = [("sweep.norms", sweep.norms.count), ("sweep.batches", sweep.batches.count), ("sweep.groups", sweep.groups.count),
                       ("sweep.seeds", sweep.seeds.count), ("sweep.threads", sweep.threads.count)]
        for (key, count) in lengths where count > Limits.listLength {
            throw fail(key, "has \(count) entries; at most \(Limits.listLength)", "\(key.dropFirst(6)): [...]")
        }
        let cells = lengths.map(\.1).reduce(1, *)
        if cells > Limits.cells {
            throw fail("sweep", "has \(cells) combinations (norms × batches × groups × seeds × threads); at most \(Limits.cells) cells per run", "seeds: [0, 1, 2]")
        }
        for (key, values) in [("sweep.norms", sweep.norms), ("sweep.batches", sweep.batches.map(String.init)),
                              ("sweep.groups", sweep.groups.map(\.description)), ("sweep.seeds", sweep.seeds.map(String.init)),
                              ("sweep.threads", sweep.threads.map(String.init)), ("sweep.scratch", sweep.scratch ?? [])] {
            var seen = Set<String>()
            let unique = values.filter { seen.insert($0).inserted }
            if unique.count < values.count {
                let twice = values.first { v in values.filter { $0 == v }.count > 1 }!
                throw fail(key, "lists \(twice) more than once (a cell would run twice and keep one record)", "\(key.dropFirst(6)): [\(unique.joined(separator: ", "))]")
            }
        }
        let shapes = SyntheticRenderer.shapes.count
        if data.source == .synthetic && task == .detection && data.synthetic.classes > shapes {
            throw fail("data.synthetic.classes", "is \(data.synthetic.classes); a detection class is a shape and the renderer draws \(shapes), so at most \(shapes)", "classes: 3")
        }
        if data.source == .folder && data.folder == nil {
            throw fail("data.folder", "is required when `data.source` is folder", "folder: {root: clips/, manifest: clips.csv, classes: 10}")
        }
        if data.source == .folder && task == .detection && data.folder?.boxes == nil {
            throw fail("data.folder.boxes", "is required for a detection workload", "boxes: boxes.json")
        }
        if !model.architecture.fits(task) {
            let fit = ModelSpec.Architecture.default(for: task)
            throw fail("model.architecture", "is \(model.architecture.rawValue), which has no \(task.rawValue) head; a \(task.rawValue) workload takes \(fit.rawValue)", "architecture: \(fit.rawValue)")
        }
        if model.widths.count < model.architecture.minimumStages {
            throw fail("model.widths", "has \(model.widths.count) stage; \(model.architecture.rawValue) needs at least \(model.architecture.minimumStages) (its second stage reaches stride 4)", "widths: [32, 64]")
        }
        if data.source == .synthetic && clip.span > data.synthetic.frames {
            throw fail(
                "clip.frames", "(\(clip.frames)) × stride (\(clip.stride)) needs \(clip.span) frames but videos have \(data.synthetic.frames) (data.synthetic.frames)",
                "frames: \(max(1, (data.synthetic.frames - 1) / clip.stride + 1))")
        }
        if clip.evalViews > 1 && task != .classification {
            throw fail("clip.evalViews", "is \(clip.evalViews); averaging scores over several windows is defined for classification (one label per clip), not for \(task.rawValue)", "evalViews: 1")
        }
        if clip.evalViews > 1 && clip.sampling == .dense {
            throw fail("clip.evalViews", "is \(clip.evalViews) but `clip.sampling` dense evaluates only the window at frame 0; use random sampling for several windows", "evalViews: 1")
        }
        try validateCheckpointSettings(file: file)
        if let stepClips = sweep.stepClips {
            if training.workers != 1 {
                throw fail("sweep.stepClips", "is \(stepClips) and `training.workers` is \(training.workers); stepClips sets each cell's workers (W = stepClips / batch), so remove training.workers (or set it to 1)", "workers: 1")
            }
            if let bad = sweep.allBatches.first(where: { stepClips % $0 != 0 }) {
                // The least common multiple of the batches, when it is in range.
                let lcm = sweep.allBatches.reduce(1) { a, b in a > Limits.stepClips.upperBound ? a : a / Self.gcd(a, b) * b }
                let fits = lcm <= Limits.stepClips.upperBound ? lcm : sweep.allBatches.max() ?? 1
                throw fail("sweep.stepClips", "is \(stepClips), which batch \(bad) does not divide (every cell takes stepClips / batch workers); use a common multiple of sweep.batches", "stepClips: \(fits)")
            }
            if let small = sweep.allBatches.first(where: { !Limits.workers.contains(stepClips / $0) }) {
                throw fail("sweep.stepClips", "is \(stepClips), which gives batch \(small) \(stepClips / small) workers; W must be in \(Limits.workers)", "stepClips: \(small * Limits.workers.upperBound)")
            }
        }
        if model.widths.count != model.blocks.count {
            throw fail("model.blocks", "has \(model.blocks.count) stages but `model.widths` has \(model.widths.count)", "blocks: \(Array(repeating: 1, count: model.widths.count))")
        }
        if clip.size % 8 != 0 {
            throw fail("clip.size", "is \(clip.size); the model downsamples by 8, so it must be a multiple of 8", "size: 64")
        }
        if sweep.norms.contains(where: { NormMethod(rawValue: $0.split(separator: ":").first.map(String.init) ?? $0)?.hasGroups == true }) {
            for g in sweep.groups {
                for c in model.widths where c % g.groups(channels: c) != 0 {
                    throw fail("sweep.groups", "contains \(g), which does not divide the model width \(c) (GroupNorm needs channels divisible by groups)", "groups: [\(Self.largestCommonDivisor(model.widths, atMost: 32))]")
                }
            }
        }
    }

    /// `name` with every unsafe character replaced by `-`, for the example in a message.
    static func suggestedName(_ name: String) -> String {
        let cleaned = String(name.unicodeScalars.prefix(SafeName.maxLength).map { s in
            ("a"..."z").contains(s) || ("A"..."Z").contains(s) || ("0"..."9").contains(s) || s == "_" || s == "-" ? Character(s) : "-"
        })
        let trimmed = cleaned.split(separator: "-").joined(separator: "-").trimmingCharacters(in: CharacterSet(charactersIn: ".-"))
        return SafeName.problem(trimmed) == nil ? trimmed : "my-workload"
    }

    private static func gcd(_ a: Int, _ b: Int) -> Int { b == 0 ? a : gcd(b, a % b) }

    private static func largestCommonDivisor(_ widths: [Int], atMost cap: Int) -> Int {
        (1...cap).reversed().first { g in widths.allSatisfy { $0 % g == 0 } } ?? 1
    }

    private static func line(of error: YamlError) -> Int? {
        switch error {
        case .scanner(_, _, let mark, _), .parser(_, _, let mark, _), .composer(_, _, let mark, _): return mark.line
        default: return nil
        }
    }

    private static func reason(of error: YamlError) -> String {
        switch error {
        case .scanner(_, let problem, _, _), .parser(_, let problem, _, _), .composer(_, let problem, _, _): return problem
        default: return "\(error)".split(separator: "\n").first.map(String.init) ?? "syntax error"
        }
    }
}

extension DataSpec {
    mutating func read(_ r: inout SpecReader) throws {
        try r.choice("source", &source, example: "source: synthetic")
        try r.string("cache", &cache, example: "cache: .normbench/cache")
        if var s = try r.section("synthetic") { try synthetic.read(&s) }
        if var s = try r.section("folder") {
            var f = FolderSpec(root: "", manifest: "", classes: 0)
            try s.string("root", &f.root, example: "root: my-clips/")
            try s.string("manifest", &f.manifest, example: "manifest: clips.csv")
            try s.optionalString("boxes", &f.boxes, example: "boxes: boxes.json")
            try s.int("classes", &f.classes, Limits.folderClasses, example: "classes: 10")
            try s.finish()
            for (key, value, example) in [("root", f.root, "root: my-clips/"), ("manifest", f.manifest, "manifest: clips.csv")] where value.isEmpty {
                throw WorkloadError.invalid(file: r.file, line: nil, key: "data.folder.\(key)", problem: "is required", example: example)
            }
            if f.classes == 0 { throw WorkloadError.invalid(file: r.file, line: nil, key: "data.folder.classes", problem: "is required", example: "classes: 10") }
            folder = f
        }
        try r.finish()
    }
}

extension SyntheticSpec {
    mutating func read(_ r: inout SpecReader) throws {
        try r.int("trainClips", &trainClips, Limits.clips, example: "trainClips: 256")
        try r.int("evalClips", &evalClips, Limits.clips, example: "evalClips: 128")
        try r.int("classes", &classes, Limits.syntheticClasses, example: "classes: 4")
        try r.int("frames", &frames, Limits.videoFrames, example: "frames: 16")
        try r.int("width", &width, Limits.videoSide, example: "width: 96")
        try r.int("height", &height, Limits.videoSide, example: "height: 96")
        try r.int("fps", &fps, Limits.fps, example: "fps: 25")
        try r.choice("codec", &codec, example: "codec: ffv1")
        try r.int("distractors", &distractors, Limits.distractors, example: "distractors: 1")
        try r.double("noise", &noise, range: 0...128, example: "noise: 8")
        if r.has("stationary") {
            var p = 0.0
            try r.double("stationary", &p, range: 0...1, example: "stationary: 0.2")
            stationary = p
        }
        try r.int("objects", &objects, Limits.objects, example: "objects: 2")
        try r.int("seed", &seed, Limits.seed, example: "seed: 1")
        try r.finish()
    }
}

extension ClipSpec {
    mutating func read(_ r: inout SpecReader) throws {
        try r.int("frames", &frames, Limits.clipFrames, example: "frames: 8")
        try r.int("stride", &stride, Limits.clipStride, example: "stride: 2")
        try r.int("size", &size, Limits.clipSize, example: "size: 64")
        try r.choice("sampling", &sampling, example: "sampling: random", removed: [
            "uniform": "uniform (frames spread over the whole video) is not implemented: use random, or dense for the first frames"])
        try r.list("mean", &mean, count: 3, example: "mean: [0.45, 0.45, 0.45]", problem: "a finite number in -100...100") { Double($0).flatMap { abs($0) <= 100 ? $0 : nil } }
        try r.list("std", &std, count: 3, example: "std: [0.225, 0.225, 0.225]", problem: "a number in 0.001...100") { Double($0).flatMap { $0 >= 0.001 && $0 <= 100 ? $0 : nil } }
        try r.bool("flip", &flip, example: "flip: false")
        try r.int("evalViews", &evalViews, Limits.evalViews, example: "evalViews: 1")
        try r.finish()
    }
}

extension ModelSpec {
    mutating func read(_ r: inout SpecReader) throws {
        try r.choice("architecture", &architecture, example: "architecture: resnet3d-tiny")
        try r.list("widths", &widths, example: "widths: [32, 64, 128]", problem: "an integer in \(Limits.width)") { Int($0).flatMap { Limits.width.contains($0) ? $0 : nil } }
        try r.list("blocks", &blocks, example: "blocks: [1, 1, 1]", problem: "an integer in \(Limits.blocks)") { Int($0).flatMap { Limits.blocks.contains($0) ? $0 : nil } }
        try r.bool("zeroInitLastGamma", &zeroInitLastGamma, example: "zeroInitLastGamma: true")
        try readInit(&r)
        try r.finish()
    }
}

extension TrainingSpec {
    mutating func read(_ r: inout SpecReader) throws {
        if r.has("epochs") && r.has("steps") {
            throw WorkloadError.invalid(
                file: r.file, line: nil, key: "training.epochs",
                problem: "and `training.steps` are both set; steps decide the length, so epochs would be ignored: keep one", example: "steps: 1536")
        }
        try r.int("epochs", &epochs, Limits.epochs, example: "epochs: 10")
        try r.optionalInt("steps", &steps, Limits.steps, example: "steps: 200")
        try r.double("baseLR", &baseLR, range: 1e-6...10, example: "baseLR: 0.1")
        try r.int("referenceBatch", &referenceBatch, Limits.referenceBatch, example: "referenceBatch: 16")
        try r.choice("schedule", &schedule, example: "schedule: cosine")
        try r.list("milestones", &milestones, example: "milestones: [0.5, 0.75]", problem: "a fraction in (0, 1)") { Double($0).flatMap { $0 > 0 && $0 < 1 ? $0 : nil } }
        if r.has("warmupSteps") && r.has("warmupEpochs") {
            throw WorkloadError.invalid(
                file: r.file, line: nil, key: "training.warmupSteps",
                problem: "and `training.warmupEpochs` are both set; keep one", example: "warmupEpochs: 1")
        }
        try r.int("warmupSteps", &warmupSteps, Limits.warmupSteps, example: "warmupSteps: 20")
        if r.has("warmupEpochs") {
            var e = 1.0
            try r.double("warmupEpochs", &e, range: 0...100, example: "warmupEpochs: 1")
            warmupEpochs = e
        }
        try r.double("momentum", &momentum, range: 0...0.999, example: "momentum: 0.9")
        try r.double("weightDecay", &weightDecay, range: 0...1, example: "weightDecay: 1e-4")
        try r.bool("weightDecayNorm", &weightDecayNorm, example: "weightDecayNorm: false")
        try r.int("workers", &workers, Limits.workers, example: "workers: 1")
        try r.int("preciseBNBatches", &preciseBNBatches, Limits.preciseBNBatches, example: "preciseBNBatches: 0")
        if r.has("saveModel") { var save = false; try r.bool("saveModel", &save, example: "saveModel: true"); saveModel = save }
        try r.int("evaluations", &evaluations, Limits.evaluations, example: "evaluations: 5")
        try r.double("evaluationPhase", &evaluationPhase, range: Limits.evaluationPhase, example: "evaluationPhase: 0.2")
        if r.has("evaluationPhase") && evaluationPhase <= 0 {
            throw WorkloadError.invalid(
                file: r.file, line: nil, key: "training.evaluationPhase",
                problem: "is 0; it is the fraction of training the evaluations are spread over, so it must be in (0, 1]", example: "evaluationPhase: 0.2")
        }
        if r.has("evaluationPhase") && evaluations == 1 {
            throw WorkloadError.invalid(
                file: r.file, line: nil, key: "training.evaluationPhase",
                problem: "is set but `training.evaluations` is 1 (one evaluation, after the last step), so it would change nothing; set evaluations above 1 or remove evaluationPhase",
                example: "evaluations: 5")
        }
        try r.finish()
    }
}

extension SweepSpec {
    mutating func read(_ r: inout SpecReader) throws {
        let names = WorkloadSpec.knownNorms
        try r.list("norms", &norms, example: "norms: [bn, gn]", problem: "one of \(names.joined(separator: ", "))") { names.contains($0.lowercased()) ? $0.lowercased() : nil }
        try r.list("batches", &batches, example: "batches: [2, 8]", problem: "a batch size in \(Limits.batch)") { Int($0).flatMap { Limits.batch.contains($0) ? $0 : nil } }
        if var m = try r.section("batchesByNorm") {
            for name in m.keys {
                guard names.contains(name.lowercased()) else {
                    throw WorkloadError.invalid(
                        file: r.file, line: nil, key: "sweep.batchesByNorm.\(SafeName.escaped(name))",
                        problem: "names no normalization method; use one of \(names.joined(separator: ", "))", example: "batchesByNorm: {ln: [2, 16]}")
                }
                guard norms.contains(name.lowercased()) else {
                    throw WorkloadError.invalid(
                        file: r.file, line: nil, key: "sweep.batchesByNorm.\(name)",
                        problem: "names a method `sweep.norms` does not list, so it would change nothing; add it to norms or remove it here", example: "batchesByNorm: {\(norms.last ?? "ln"): [2, 16]}")
                }
                var b: [Int] = []
                try m.list(name, &b, example: "\(name): [2, 16]", problem: "a batch size in \(Limits.batch)") { Int($0).flatMap { Limits.batch.contains($0) ? $0 : nil } }
                if Set(b).count < b.count {
                    throw WorkloadError.invalid(
                        file: r.file, line: nil, key: "sweep.batchesByNorm.\(name)",
                        problem: "lists a batch more than once (a cell would run twice and keep one record)", example: "\(name): [2, 16]")
                }
                batchesByNorm = (batchesByNorm ?? [:]).merging([name.lowercased(): b]) { $1 }
            }
            try m.finish()
        }
        try r.list("groups", &groups, example: "groups: [32]", problem: "a group count in \(Limits.groups) or C (one group per channel)") { s in
            if s == "C" { return .perChannel }
            return Int(s).flatMap { Limits.groups.contains($0) ? .count($0) : nil }
        }
        try r.list("seeds", &seeds, example: "seeds: [0, 1, 2]", problem: "a seed in \(Limits.seed)") { Int($0).flatMap { Limits.seed.contains($0) ? $0 : nil } }
        try r.list("threads", &threads, example: "threads: [2]", problem: "a thread count in \(Limits.threads) (4 × this machine's CPUs)") { Int($0).flatMap { Limits.threads.contains($0) ? $0 : nil } }
        try r.optionalInt("stepClips", &stepClips, Limits.stepClips, example: "stepClips: 32")
        if r.has("scratch") {
            var list: [String] = []
            try r.list("scratch", &list, example: "scratch: [bn, gn]", problem: "one of \(names.joined(separator: ", "))") { names.contains($0.lowercased()) ? $0.lowercased() : nil }
            scratch = list
        }
        try r.finish()
    }
}
