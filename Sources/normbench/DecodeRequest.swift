import Foundation
import NormBenchVideo

/// `normbench decode`'s options checked and turned into the library's request.
struct DecodeRequest {
    var options: DecodeOptions
    /// Clips decoded at once (`--jobs`).
    var jobs: Int
    var dtype: String
    var layout: TensorLayout
    var mean: [Float]
    var std: [Float]

    init(_ c: Decode) throws(UsageError) {
        if c.files.isEmpty { throw UsageError(message: "no input files; e.g. normbench decode --sampling uniform --frames 16 clip.mp4") }
        // Options that the chosen sampling would not use are refused, never ignored.
        let unused: [(String, Bool)] = switch c.sampling {
        case "all": [("--frames", c.frames != nil), ("--stride", c.stride != nil), ("--start", c.start != nil)]
        case "uniform": [("--stride", c.stride != nil), ("--start", c.start != nil)]
        case "random": [("--start", c.start != nil)]
        default: []
        }
        if let (option, _) = unused.first(where: { $0.1 }) {
            let example = c.sampling == "all" ? "e.g. --sampling uniform --frames 16 or --sampling dense --frames 16 --stride 2"
                                              : "e.g. --sampling dense --frames 16 --stride 2 --start 10"
            throw UsageError(message: "\(option): not used by --sampling \(c.sampling); choose a sampling that uses it, \(example)")
        }
        let frames = c.frames ?? 16, stride = c.stride ?? 1, start = c.start ?? 0
        if frames < 1 { throw UsageError(message: "--frames must be at least 1, got \(frames); e.g. --frames 16") }
        if stride < 1 { throw UsageError(message: "--stride must be at least 1, got \(stride); e.g. --stride 2") }
        if start < 0 { throw UsageError(message: "--start must be >= 0, got \(start); e.g. --start 0") }
        if (frames - 1).multipliedReportingOverflow(by: stride).overflow
            || start.addingReportingOverflow((frames - 1) &* stride).overflow {
            throw UsageError(message: "--frames \(frames) × --stride \(stride) + --start \(start) overflows; ask for fewer frames or a smaller stride")
        }
        let cpus = ClipLoader.defaultWorkers
        if let t = c.decoderThreads, t < 0 || t > 4 * cpus {
            throw UsageError(message: "--decoder-threads must be 0...\(4 * cpus) (0 = FFmpeg's choice; at most 4 × \(cpus) CPUs), got \(t); e.g. --decoder-threads \(cpus)")
        }
        if let w = c.jobs, w < 1 || w > 4 * cpus {
            throw UsageError(message: "--jobs must be 1...\(4 * cpus) (at most 4 × \(cpus) CPUs), got \(w); e.g. --jobs \(cpus)")
        }
        var options = DecodeOptions()
        switch c.sampling {
        case "all": options.sampling = .all
        case "uniform": options.sampling = .uniform(count: frames)
        case "dense": options.sampling = .dense(count: frames, stride: stride, start: start)
        case "random": options.sampling = .random(count: frames, stride: stride, seed: c.seed)
        default: throw UsageError(message: "--sampling must be all, uniform, dense or random, got '\(c.sampling)'")
        }
        if let s = c.size {
            let (w, h, square) = try Self.parseSize(s, option: "--size")
            options.resize = square ? .shortSide(w) : .exact(width: w, height: h)
        }
        if let s = c.crop {
            let (w, h, _) = try Self.parseSize(s, option: "--crop")
            options.crop = c.randomCrop ? .random(width: w, height: h, seed: c.seed) : .center(width: w, height: h)
        } else if c.randomCrop {
            throw UsageError(message: "--random-crop needs --crop WxH or --crop S")
        }
        guard let interpolation = Interpolation(rawValue: c.interpolation) else {
            throw UsageError(message: "--interpolation must be bilinear, bicubic, area or nearest, got '\(c.interpolation)'")
        }
        options.interpolation = interpolation
        options.autorotate = !c.noAutorotate
        options.shortClip = c.pad ? .padWithLastFrame : .error
        jobs = c.jobs ?? ClipLoader.defaultWorkers
        // Every core busy: W clips at once share the CPUs; one clip gets them all.
        options.threads = c.decoderThreads ?? max(1, ClipLoader.defaultWorkers / max(1, min(jobs, c.files.count)))
        self.options = options

        guard c.dtype == "uint8" || c.dtype == "float32" else {
            throw UsageError(message: "--dtype must be uint8 or float32, got '\(c.dtype)'")
        }
        dtype = c.dtype
        guard let layout = TensorLayout(rawValue: c.layout) else {
            throw UsageError(message: "--layout must be thwc or cthw, got '\(c.layout)'")
        }
        self.layout = layout
        if (c.mean != nil || c.std != nil) && c.dtype != "float32" {
            throw UsageError(message: "--mean/--std apply to --dtype float32 only")
        }
        mean = try Self.parseTriple(c.mean, option: "--mean") ?? [0, 0, 0]
        std = try Self.parseTriple(c.std, option: "--std") ?? [1, 1, 1]
        if std.contains(where: { $0 <= 0 }) { throw UsageError(message: "--std values must be positive, got \(c.std ?? "")") }
        if let sheet = c.sheet, !sheet.lowercased().hasSuffix(".png") {
            throw UsageError(message: "--sheet must name a .png file, got '\(sheet)'")
        }
        if let dir = c.npy {
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: dir, isDirectory: &isDir), !isDir.boolValue {
                throw UsageError(message: "--npy \(dir): exists and is not a directory")
            }
        }
    }

    /// Creates the `--npy` folder (after every check passed).
    static func createFolder(_ dir: String) throws(UsageError) {
        guard !FileManager.default.fileExists(atPath: dir) else { return }
        do { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) } catch {
            throw UsageError(message: "--npy \(dir): cannot create the directory: \(error.localizedDescription)")
        }
    }

    /// True when frames go to disk as they are decoded instead of being kept: every frame
    /// (`--sampling all`) with any output (`DecodeOutputs.streams`).
    func streamsFrames(npy: String?, sheet: String?) -> Bool {
        options.sampling == .all && (npy != nil || sheet != nil)
    }

    /// "WxH" → (W, H, false); "S" → (S, S, true). Values must be positive.
    static func parseSize(_ s: String, option: String) throws(UsageError) -> (Int, Int, Bool) {
        let parts = s.lowercased().split(separator: "x", omittingEmptySubsequences: false)
        let values = parts.map { Int($0) }
        guard (1...2).contains(values.count), values.allSatisfy({ $0 != nil }) else {
            throw UsageError(message: "\(option) must be WxH or S, e.g. 112x112 or 112, got '\(s)'")
        }
        let w = values[0]!, h = values.count == 2 ? values[1]! : values[0]!
        guard w > 0 && h > 0 else { throw UsageError(message: "\(option) must be positive, got '\(s)'; e.g. \(option) 112") }
        guard w <= 16384 && h <= 16384 else { throw UsageError(message: "\(option) \(s) is larger than 16384") }
        return (w, h, values.count == 1)
    }

    static func parseTriple(_ s: String?, option: String) throws(UsageError) -> [Float]? {
        guard let s else { return nil }
        let v = s.split(separator: ",").map { Float($0.trimmingCharacters(in: .whitespaces)) }
        guard v.count == 3, v.allSatisfy({ $0 != nil && $0!.isFinite }) else {
            throw UsageError(message: "\(option) needs three comma-separated numbers (R,G,B), got '\(s)'")
        }
        return v.map { $0! }
    }
}
