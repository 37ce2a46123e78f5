import NormBenchEngine

/// A workload: what to train, on what data, and which cells to sweep.
///
/// One YAML file in `Workloads/` describes one workload. Every key has a default
/// (below, one place, each commented); `WorkloadSpec.load(path:)` reads a file,
/// validates it in one step, and reports the first problem with the file, the
/// key, the value and an example of a valid value.
public struct WorkloadSpec: Codable, Sendable, Equatable {
    /// Short name, used in result paths (`Results/<name>/...`). Default: the file name.
    public var name: String
    /// One line for `normbench list`.
    public var description: String = ""
    /// What the model predicts.
    public var task: Task = .classification
    public var data = DataSpec()
    public var clip = ClipSpec()
    public var model = ModelSpec()
    public var training = TrainingSpec()
    public var sweep = SweepSpec()

    public enum Task: String, Codable, Sendable, CaseIterable {
        /// One label per clip; top-1 (and top-5) error.
        case classification
        /// Boxes per frame, CenterNet-style head; mAP@0.5 and mAP@[.5:.95].
        case detection
    }

    public init(name: String) { self.name = name }

    /// Classes the model predicts: the synthetic set's, or the folder's.
    public var classes: Int {
        data.source == .folder ? data.folder?.classes ?? 0 : data.synthetic.classes
    }

    /// Frames a clip must have (what `ClipBank.decode` is given): a synthetic
    /// video's length; for a folder, one window's `span` (shorter clips are an
    /// error). The bank keeps every frame of every clip, so a synthetic clip holds
    /// exactly this many and a folder's clip at least this many.
    public var framesPerClip: Int {
        data.source == .folder ? (clip.frames - 1) * clip.stride + 1 : data.synthetic.frames
    }
}

/// Where the clips come from.
public struct DataSpec: Codable, Sendable, Equatable {
    public init() {}

    public enum Source: String, Codable, Sendable, CaseIterable {
        /// Rendered in Swift, encoded to real video files, decoded back by the loader.
        case synthetic
        /// A user's clips: a CSV manifest (path,label[,split]) or per-frame boxes (JSON).
        case folder
    }
    public var source: Source = .synthetic
    public var synthetic = SyntheticSpec()
    /// Folder data source; required when `source: folder`.
    public var folder: FolderSpec?
    /// Cache directory for generated data; default `.normbench/cache` under the working directory.
    public var cache: String = ".normbench/cache"
}

/// The synthetic data set: moving shapes whose class depends on shape and motion.
public struct SyntheticSpec: Codable, Sendable, Equatable {
    public init() {}

    /// Training clips.
    public var trainClips = 256
    /// Held-out evaluation clips.
    public var evalClips = 128
    /// Number of classes (classification) or object classes (detection).
    public var classes = 4
    /// Frames per generated video.
    public var frames = 16
    /// Width and height of the generated videos, pixels.
    public var width = 96
    public var height = 96
    /// Frame rate of the generated videos.
    public var fps = 25
    /// Codec of the generated files.
    public var codec = Codec.ffv1
    /// Distracting shapes per clip that carry no label.
    public var distractors = 1
    /// Standard deviation of per-pixel noise, in 0-255 units.
    public var noise = 8.0
    /// Fraction of classification clips whose target shape stands still, so
    /// its direction (half of the class) cannot be seen: a floor of
    /// `stationary / 2` under any model's top-1 error (nil or 0 = every target
    /// moves; nil keeps older run descriptions and cache folder names valid).
    public var stationary: Double?
    /// Objects per clip (detection).
    public var objects = 2
    /// Seed of the generator: same seed, identical files.
    public var seed = 1

    public enum Codec: String, Codable, Sendable, CaseIterable {
        /// .mkv, lossless: byte-reproducible files, exact pixels.
        case ffv1
        /// .mp4, libx264: smaller, but its bytes were seen to vary between
        /// in-process encodes of the same frames (docs/workloads.md).
        case h264

        /// The file extension of a clip.
        public var fileExtension: String { self == .ffv1 ? "mkv" : "mp4" }
    }
}

/// A user's own clips.
public struct FolderSpec: Codable, Sendable, Equatable {
    /// Folder the manifest's and the boxes' paths are relative to.
    public var root: String
    /// CSV manifest, one clip per line: `path,label,split` (split `train` or `eval`;
    /// a header line is allowed). Detection clips use label -1 or any integer.
    public var manifest: String
    /// JSON file of per-frame boxes (detection): `{"clip.mp4": [[{"x0":..,"y0":..,"x1":..,"y1":..,"label":..}], ...]}`,
    /// one list per frame, in pixels of the clip as stored.
    public var boxes: String?
    /// Number of classes; labels are 0..<classes.
    public var classes: Int

    public init(root: String, manifest: String, boxes: String? = nil, classes: Int) {
        self.root = root
        self.manifest = manifest
        self.boxes = boxes
        self.classes = classes
    }
}

/// How a training sample is cut from a video.
public struct ClipSpec: Codable, Sendable, Equatable {
    public init() {}

    /// Frames per sample (T).
    public var frames = 8
    /// Frame stride for `dense` and `random` sampling.
    public var stride = 2
    /// Output height and width (square), pixels.
    public var size = 64
    /// Where a sample's window of `frames` frames (`stride` apart) starts in a clip.
    public var sampling = Sampling.random
    /// Per-channel (R, G, B) mean and std for normalizing 0-1 pixel values.
    public var mean: [Double] = [0.45, 0.45, 0.45]
    public var std: [Double] = [0.225, 0.225, 0.225]
    /// Random horizontal flips in training (classification only: flips change motion direction labels).
    public var flip = false
    /// Windows per evaluation clip whose class scores (softmax) are averaged
    /// (multi-view testing, classification): 1 is the centre window alone.
    public var evalViews = 1

    /// Frames a window spans in the video: `(frames − 1) × stride + 1`.
    public var span: Int { (frames - 1) * stride + 1 }

    enum CodingKeys: String, CodingKey {
        case frames, stride, size, sampling, mean, std, flip, evalViews
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        frames = try c.decode(Int.self, forKey: .frames)
        stride = try c.decode(Int.self, forKey: .stride)
        size = try c.decode(Int.self, forKey: .size)
        sampling = try c.decode(Sampling.self, forKey: .sampling)
        mean = try c.decode([Double].self, forKey: .mean)
        std = try c.decode([Double].self, forKey: .std)
        flip = try c.decode(Bool.self, forKey: .flip)
        // Absent in run descriptions written before multi-view evaluation: one view.
        evalViews = try c.decodeIfPresent(Int.self, forKey: .evalViews) ?? 1
    }

    public enum Sampling: String, Codable, Sendable, CaseIterable {
        /// Training: a random start in each sample (uniform over every start
        /// whose window fits the clip). Evaluation: the centre window.
        case random
        /// Training and evaluation: the window starting at frame 0 (the same
        /// frames every time a clip is drawn; flips still apply).
        case dense

        /// The first frame of a window in a clip of `frames` frames holding windows
        /// of `span` frames: training draws from `draw` (a number ≥ 0) when random.
        public func trainingStart(clipFrames frames: Int, span: Int, draw: () -> UInt64) -> Int {
            switch self {
            case .random: Int(draw() % UInt64(frames - span + 1))
            case .dense: 0
            }
        }

        public func evaluationStart(clipFrames frames: Int, span: Int) -> Int {
            evaluationStarts(clipFrames: frames, span: span, views: 1)[0]
        }

        /// The first frames of `views` evaluation windows, ascending. Random: the
        /// window centred in each of `views` equal parts of the starts
        /// `0...frames − span`, i.e. `(2v + 1)(frames − span) / (2·views)` for v in
        /// `0..<views` (one view: the centre window); a clip barely longer than
        /// a window repeats starts. Dense: frame 0 (one view; `validate` refuses more).
        public func evaluationStarts(clipFrames frames: Int, span: Int, views: Int) -> [Int] {
            switch self {
            case .random: (0..<views).map { (2 * $0 + 1) * (frames - span) / (2 * views) }
            case .dense: Array(repeating: 0, count: views)
            }
        }
    }
}

/// The network.
public struct ModelSpec: Codable, Sendable, Equatable {
    public init() {}

    /// The defaults with the task's architecture (`Architecture.default(for:)`).
    public init(for task: WorkloadSpec.Task) {
        architecture = .default(for: task)
    }

    /// The network; when the file does not say, the task's (`Architecture.default(for:)`).
    public var architecture = Architecture.resnet3dTiny
    /// Channels of the stem and of each stage.
    public var widths = [32, 64, 128]
    /// Residual blocks per stage.
    public var blocks = [1, 1, 1]
    /// Initialize γ of each residual branch's last normalization to 0 (as the GN paper does).
    public var zeroInitLastGamma = true
    /// `model.init`: start from a saved checkpoint (`ModelInit`); nil = random initialization.
    public var initialization: ModelInit? = nil

    enum CodingKeys: String, CodingKey {
        case architecture, widths, blocks, zeroInitLastGamma, initialization = "init"
    }

    public enum Architecture: String, Codable, Sendable, CaseIterable {
        /// ResNet3D-tiny: stride 2 in time and space at the start of every stage
        /// after the first. Classification only.
        case resnet3dTiny = "resnet3d-tiny"
        /// The same blocks with no temporal stride and stride (1, 2, 2) at the
        /// second stage only: every frame kept, stride 4 in space. Detection
        /// (a CenterNet head per frame) and classification.
        case resnet3dTinyDense = "resnet3d-tiny-dense"

        /// Where its stages downsample.
        public var downsampling: ResNet3D.Downsampling {
            self == .resnet3dTiny ? .spaceTime : .secondStageSpace
        }

        /// Whether `task`'s head fits on it: a detection head needs the stride-4,
        /// every-frame output; a classifier pools any.
        public func fits(_ task: WorkloadSpec.Task) -> Bool {
            task == .classification || self == .resnet3dTinyDense
        }

        /// The fewest stages (`model.widths`) the architecture takes.
        public var minimumStages: Int { self == .resnet3dTinyDense ? 2 : 1 }

        /// The architecture a task's head needs: its output shape is the task's prediction.
        public static func `default`(for task: WorkloadSpec.Task) -> Architecture {
            task == .classification ? .resnet3dTiny : .resnet3dTinyDense
        }
    }
}

/// The optimization, shared by every cell.
public struct TrainingSpec: Codable, Sendable, Equatable {
    public init() {}

    /// Training length: epochs over the training clips (ignored when `steps` is set).
    public var epochs = 10
    /// Training length in optimizer steps; overrides `epochs`.
    public var steps: Int?
    /// Learning rate at `referenceBatch` total samples per step; scaled linearly with W·batch (GN paper, Goyal et al.).
    public var baseLR = 0.1
    public var referenceBatch = 16
    /// Learning-rate decay after warm-up.
    public var schedule = Schedule.cosine
    /// Milestones of the `step` schedule as fractions of training.
    public var milestones: [Double] = [0.5, 0.75]
    /// Steps of linear warm-up from 0.
    public var warmupSteps = 20
    /// Warm-up as epochs over the training clips (the same share of the data at
    /// every batch); replaces `warmupSteps` when set.
    public var warmupEpochs: Double?
    public var momentum = 0.9
    public var weightDecay = 1e-4
    /// Apply weight decay to normalization γ and β too (the GN paper's default is no).
    public var weightDecayNorm = false
    /// Simulated data-parallel workers W: each sees `batch` samples with its own BN statistics.
    public var workers = 1
    /// Batches of the cell's per-worker batch size used to recompute BN population
    /// statistics at each evaluation (PreciseBN), evaluated beside the EMA running
    /// statistics, which are then restored; 0 = off.
    public var preciseBNBatches = 0
    /// `training.saveModel`: save each cell's final model as `<run>/models/<cell>.safetensors` (nil = false).
    public var saveModel: Bool? = nil
    /// Evaluations N in the final phase of training (`EvaluationSchedule`): the
    /// record's headline is the median of the last min(5, N). 1 = one evaluation
    /// after the last step.
    public var evaluations = 1
    /// The fraction of training, at its end, over which the N evaluations are spread (0, 1].
    public var evaluationPhase = 0.2

    enum CodingKeys: String, CodingKey {
        case epochs, steps, baseLR, referenceBatch, schedule, milestones, warmupSteps, momentum, weightDecay, weightDecayNorm
        case warmupEpochs, workers, preciseBNBatches, evaluations, evaluationPhase, saveModel
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        epochs = try c.decode(Int.self, forKey: .epochs)
        steps = try c.decodeIfPresent(Int.self, forKey: .steps)
        baseLR = try c.decode(Double.self, forKey: .baseLR)
        referenceBatch = try c.decode(Int.self, forKey: .referenceBatch)
        schedule = try c.decode(Schedule.self, forKey: .schedule)
        milestones = try c.decode([Double].self, forKey: .milestones)
        warmupSteps = try c.decode(Int.self, forKey: .warmupSteps)
        warmupEpochs = try c.decodeIfPresent(Double.self, forKey: .warmupEpochs)
        momentum = try c.decode(Double.self, forKey: .momentum)
        weightDecay = try c.decode(Double.self, forKey: .weightDecay)
        weightDecayNorm = try c.decode(Bool.self, forKey: .weightDecayNorm)
        workers = try c.decode(Int.self, forKey: .workers)
        preciseBNBatches = try c.decode(Int.self, forKey: .preciseBNBatches)
        // Absent in run descriptions written before the evaluation protocol: one evaluation at the end.
        evaluations = try c.decodeIfPresent(Int.self, forKey: .evaluations) ?? 1
        evaluationPhase = try c.decodeIfPresent(Double.self, forKey: .evaluationPhase) ?? 0.2
        saveModel = try c.decodeIfPresent(Bool.self, forKey: .saveModel)
    }

    /// Every key, except `evaluationPhase` with one evaluation (where it means
    /// nothing and a workload file may not set it), so `normbench show` prints a
    /// file that loads.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(epochs, forKey: .epochs)
        try c.encodeIfPresent(steps, forKey: .steps)
        try c.encode(baseLR, forKey: .baseLR)
        try c.encode(referenceBatch, forKey: .referenceBatch)
        try c.encode(schedule, forKey: .schedule)
        try c.encode(milestones, forKey: .milestones)
        try c.encode(warmupSteps, forKey: .warmupSteps)
        try c.encodeIfPresent(warmupEpochs, forKey: .warmupEpochs)
        try c.encode(momentum, forKey: .momentum)
        try c.encode(weightDecay, forKey: .weightDecay)
        try c.encode(weightDecayNorm, forKey: .weightDecayNorm)
        try c.encode(workers, forKey: .workers)
        try c.encode(preciseBNBatches, forKey: .preciseBNBatches)
        try c.encode(evaluations, forKey: .evaluations)
        if evaluations > 1 { try c.encode(evaluationPhase, forKey: .evaluationPhase) }
        try c.encodeIfPresent(saveModel, forKey: .saveModel)
    }

    public enum Schedule: String, Codable, Sendable, CaseIterable {
        /// Cosine from the peak to 0 over training.
        case cosine
        /// ÷10 at each of `milestones` (fractions of training).
        case step
        /// The peak rate throughout.
        case constant
    }
}

/// The cells: every combination of these is one run.
public struct SweepSpec: Codable, Sendable, Equatable {
    public init() {}

    /// Normalization methods by short name (`normbench list` shows them).
    public var norms = ["bn", "gn"]
    /// Samples per worker.
    public var batches = [2, 8]
    /// Batches for some norms in place of `batches` (e.g. LN and IN at the
    /// smallest and largest batch only): `{ln: [2, 16]}`.
    /// (Optional, so run descriptions written before it still read.)
    public var batchesByNorm: [String: [Int]]?

    /// The batches of norm `name`.
    public func batches(for name: String) -> [Int] { batchesByNorm?[name] ?? batches }

    /// Every batch some norm runs at, ascending.
    public var allBatches: [Int] { Set(batches + (batchesByNorm ?? [:]).values.joined()).sorted() }
    /// GroupNorm groups; `C` means one channel per group (= InstanceNorm).
    public var groups: [GroupSetting] = [.count(32)]
    public var seeds = [0]
    public var threads = [2]
    /// Ghost-batch control: clips per optimizer step, the same for every cell. When
    /// set, a cell of batch b runs W = stepClips / b workers (each with its own BN
    /// statistics over b clips), so every cell takes the same step and learning
    /// rate; `training.workers` must then be 1. nil: W = `training.workers`.
    public var stepClips: Int?
    /// Methods that also run from the seeded random initialization, beside the
    /// sweep's cells that start from `model.init` (the transfer setting's
    /// from-scratch reference): the same batches, groups, seeds and threads, in
    /// cells marked `scratch`. nil or empty: none. Needs `model.init`.
    public var scratch: [String]?

    /// Workers W of a cell with `batch` clips per worker.
    public func workers(batch: Int, training: TrainingSpec) -> Int {
        stepClips.map { $0 / max(batch, 1) } ?? training.workers
    }
}

/// A GroupNorm grouping: a number of groups, or one group per channel.
public enum GroupSetting: Codable, Sendable, Equatable, CustomStringConvertible {
    case count(Int)
    case perChannel

    public var description: String {
        switch self {
        case .count(let g): "\(g)"
        case .perChannel: "C"
        }
    }

    /// The number of groups for a layer with `channels` channels.
    public func groups(channels: Int) -> Int {
        switch self {
        case .count(let g): g
        case .perChannel: channels
        }
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let g = try? c.decode(Int.self) { self = .count(g) } else {
            let s = try c.decode(String.self)
            guard s == "C" else {
                throw DecodingError.dataCorruptedError(in: c, debugDescription: "expected an integer or C, got \(s)")
            }
            self = .perChannel
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .count(let g): try c.encode(g)
        case .perChannel: try c.encode("C")
        }
    }
}
