import ArgumentParser
import Foundation
import NormBenchVideo

/// `normbench bench decode`: decoder speed against the ffmpeg CLI in the same run.
///
/// Cases (medians of `--runs` runs, release build):
/// 1. full decode + scale to 112×112 RGB of a 10 s 640×360 H.264 clip: the ffmpeg CLI
///    (`-vf scale=112:112:flags=bilinear -pix_fmt rgb24 -f rawvideo`), then normbench
///    with 1, 2 and auto decoder threads;
/// 2. several clips at once: W workers × T decoder threads (what the loader default is based on);
/// 3. a 16-frame uniform sample: 250-frame GOP (one keyframe) and 50-frame GOP, with the
///    automatic seek/one-pass choice, forced seeking, and forced one pass;
/// 4. with `--python`, PyAV, decord and torchcodec on cases 1 and 3 (`PythonLoaders`).
struct BenchDecode: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "decode",
        abstract: "Decoder throughput vs the ffmpeg CLI; 16-frame sampling latency; workers × threads.")

    @Option(help: "Runs per case; the median is reported.")
    var runs: Int = 5
    @Option(help: "Directory for the generated benchmark clips (kept between runs).")
    var dir: String = ".normbench/bench-clips"
    @Option(help: "A Python interpreter in which to time PyAV, decord and torchcodec on the same clip (optional; e.g. venv/bin/python).")
    var python: String?
    @Flag(help: "Print the report as one JSON object on stdout (docs/cli.md).")
    var json = false

    func validate() throws {
        try validating {
            guard (1...10_000).contains(runs) else {
                throw UsageError(message: "--runs must be in 1...10000, got \(runs); e.g. --runs 5")
            }
            if let python, !FileManager.default.isExecutableFile(atPath: python) {
                throw UsageError(message: "--python: \"\(python)\" is not an executable file; pass a Python interpreter, e.g. --python venv/bin/python")
            }
        }
    }

    func run() throws {
        Report.begin("bench decode", json: json)
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let gop250 = try makeClip("h264-640x360-10s-gop250.mp4", gop: 250)
        let gop50 = try makeClip("h264-640x360-10s-gop50.mp4", gop: 50)
        let cores = ProcessInfo.processInfo.activeProcessorCount
        emit("normbench bench decode: 640x360 H.264, 10 s, 250 frames; \(cores) CPUs; median of \(runs) runs")
        emit("")

        // 1. Full decode + scale to 112x112. The CLI and every variant run interleaved
        // (one round = each once), so a busy machine slows them alike.
        emit("full decode + scale to 112x112 RGB (one clip)")
        let full = DecodeOptions(sampling: .all, resize: .exact(width: 112, height: 112))
        var variants: [(String, () throws -> Void)] = [("ffmpeg CLI (reference)", { _ = try timeFFmpegCLI(gop250) })]
        for threads in [1, 2, 0] {
            var o = full
            o.threads = threads
            let label = "normbench, \(threads == 0 ? "auto" : String(threads)) decoder thread\(threads == 1 ? "" : "s")"
            variants.append((label, { _ = try ClipDecoder.decode(gop250, options: o) }))
        }
        let times = try DecodeSupport.interleavedMedians(runs, variants.map(\.1))
        let cliFPS = 250 / times[0].wall
        for (i, (label, _)) in variants.enumerated() {
            emit(row(label, times[i], frames: 250, ratio: (250 / times[i].wall) / cliFPS))
        }
        let best = times.dropFirst().map(\.wall).min()!
        emit(String(format: "  fastest normbench: %.2fx the ffmpeg CLI (target >= 1.5x: %@)", times[0].wall / best,
                     times[0].wall / best >= 1.5 ? "met" : "NOT met"))
        emit("")

        // 1b. The same job as whole processes, as a user types it: start-up, linking and
        // exit included. The CLI gets two decoder threads, as normbench's default does on 2 CPUs.
        emit("whole processes: normbench decode CLIP --sampling all --size 112x112  vs  ffmpeg -threads 2 -i CLIP -vf scale=112:112:flags=bilinear -pix_fmt rgb24 -f null -")
        let me = try selfExecutable()
        let processes = try DecodeSupport.interleavedMedians(runs, [
            { try runFFmpeg(["-threads", "2", "-i", gop250, "-vf", "scale=112:112:flags=bilinear", "-pix_fmt", "rgb24", "-f", "null", "-"]) },
            { try runProcess(me, ["decode", gop250, "--sampling", "all", "--size", "112x112"]) },
        ])
        emit(row("ffmpeg CLI, -threads 2 (reference)", processes[0], frames: 250, ratio: 1))
        emit(row("normbench decode", processes[1], frames: 250, ratio: processes[0].wall / processes[1].wall))
        let wholeRatio = processes[0].wall / processes[1].wall
        emit(String(format: "  normbench decode: %.2fx the ffmpeg CLI as whole processes (target >= 1.5x: %@)", wholeRatio,
                     wholeRatio >= 1.5 ? "met" : "NOT met"))
        emit("")

        // 2. Several clips: workers x threads.
        let clips = Array(repeating: gop250, count: 4)
        emit("4 clips, full decode + scale to 112x112 (aggregate)")
        let layouts = [(1, 1), (1, 2), (1, 0), (2, 1), (2, 2)]
        let loaderTimes = try DecodeSupport.interleavedMedians(runs, layouts.map { (workers, threads) in
            var o = full
            o.threads = threads
            return { _ = ClipLoader.decode(clips, options: o, workers: workers) }
        })
        for ((workers, threads), t) in zip(layouts, loaderTimes) {
            emit(row(layoutName(workers, threads), t, frames: 1000, ratio: (1000 / t.wall) / cliFPS))
        }
        let fastest = zip(layouts, loaderTimes).min { $0.1.wall < $1.1.wall }!
        let cheapest = zip(layouts, loaderTimes).min { $0.1.cpu < $1.1.cpu }!
        emit("  fastest: \(layoutName(fastest.0.0, fastest.0.1)); least CPU per frame: \(layoutName(cheapest.0.0, cheapest.0.1))"
              + " (default: \(ClipLoader.defaultWorkers) workers x 1 thread)")
        emit("")

        // 3. 16-frame uniform sample.
        emit("16-frame uniform sample, scaled to 112x112 (one clip; target <= 200 ms)")
        var cases: [(label: String, options: DecodeOptions, file: String)] = []
        for (name, file) in [("GOP 250 (one keyframe)", gop250), ("GOP 50 (2 s)", gop50)] {
            for (mode, threshold) in [("auto", DecodeOptions().seekThreshold), ("always seek", 0), ("one pass", Int.max / 2)] {
                var o = DecodeOptions(sampling: .uniform(count: 16), resize: .exact(width: 112, height: 112))
                o.seekThreshold = threshold
                cases.append((DecodeSupport.pad(name, 24) + DecodeSupport.pad(mode, 12), o, file))
            }
        }
        let sampleTimes = try DecodeSupport.interleavedMedians(runs, cases.map { c in { _ = try ClipDecoder.decode(c.file, options: c.options) } })
        for (c, t) in zip(cases, sampleTimes) {
            let clip = try ClipDecoder.decode(c.file, options: c.options)
            emit("  " + c.label + String(format: "%7.1f ms  (cpu %6.1f ms; %d frames decoded, %d seeks)", t.wall * 1000, t.cpu * 1000, clip.framesDecoded, clip.seeks))
        }
        let autoWorst = zip(cases, sampleTimes).filter { $0.0.options.seekThreshold == DecodeOptions().seekThreshold }.map(\.1.wall).max()!
        emit(String(format: "  slowest automatic choice: %.1f ms (target <= 200 ms: %@)", autoWorst * 1000, autoWorst <= 0.2 ? "met" : "NOT met"))

        // 4. The Python loaders, against normbench's auto-thread full decode and its automatic 16-frame sample.
        if let python {
            emit("")
            emit("Python loaders in \(python), same clip (GOP 250), in-process medians of \(runs) runs")
            let ours = (full: times[3].wall, sample: sampleTimes[0].wall)
            emit("  " + DecodeSupport.pad("normbench (auto threads)", 24) + String(format: "full + scale %7.1f ms   16-frame sample %7.1f ms", ours.full * 1000, ours.sample * 1000))
            for loader in PythonLoaders.names {
                switch PythonLoaders.time(loader, python: python, clip: gop250, runs: runs) {
                case let .timed(version, full, sample):
                    emit("  " + DecodeSupport.pad("\(loader) \(version)", 24)
                          + String(format: "full + scale %7.1f ms (%.2fx normbench's time)   16-frame sample %7.1f ms (%.2fx normbench's time)",
                                   full * 1000, full / ours.full, sample * 1000, sample / ours.sample))
                case let .unavailable(why):
                    emit("  " + DecodeSupport.pad(loader, 24) + why)
                }
            }
        }
        try Report.shared.finish()
    }

    private func layoutName(_ workers: Int, _ threads: Int) -> String {
        "\(workers) worker\(workers == 1 ? "" : "s") x \(threads == 0 ? "auto" : String(threads)) thread\(threads == 1 ? "" : "s")"
    }

    private func makeClip(_ name: String, gop: Int) throws -> String {
        let path = (dir as NSString).appendingPathComponent(name)
        if FileManager.default.fileExists(atPath: path) { return path }
        let tmp = path + ".partial.mp4"
        try runFFmpeg(["-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25:duration=10", "-c:v", "libx264", "-pix_fmt", "yuv420p",
                       "-g", "\(gop)", "-keyint_min", "\(gop)", "-sc_threshold", "0", tmp])
        try FileManager.default.moveItem(atPath: tmp, toPath: path)
        return path
    }

    private func timeFFmpegCLI(_ file: String) throws -> Double {
        try DecodeSupport.time {
            try runFFmpeg(["-i", file, "-vf", "scale=112:112:flags=bilinear", "-pix_fmt", "rgb24", "-f", "rawvideo", "/dev/null"])
        }
    }

    /// This binary's absolute path, so the whole-process case times the build being benchmarked.
    private func selfExecutable() throws -> String {
        guard let path = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") else {
            throw CommandFailure(message: "cannot read /proc/self/exe to time normbench as a whole process; run on Linux")
        }
        return path
    }

    /// Runs a process to completion with no input and no output; a failure stops the benchmark.
    private func runProcess(_ executable: String, _ args: [String], hint: String = "") throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = args
        p.standardInput = FileHandle.nullDevice
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        if p.terminationStatus != 0 {
            throw CommandFailure(message: "\(executable) \(args.joined(separator: " ")) failed (exit \(p.terminationStatus))\(hint)")
        }
    }

    /// The ffmpeg CLI, started directly (not through `env`, whose own start would count against it).
    private func runFFmpeg(_ args: [String]) throws {
        let hint = "; is the ffmpeg CLI installed (scripts/setup.sh)?"
        let path = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin").split(separator: ":")
            .map { "\($0)/ffmpeg" }.first { FileManager.default.isExecutableFile(atPath: $0) }
        guard let path else {
            throw CommandFailure(message: "no ffmpeg on PATH\(hint)")
        }
        try runProcess(path, ["-nostdin", "-v", "error", "-y"] + args, hint: hint)
    }

    private func row(_ label: String, _ t: DecodeSupport.Timing, frames: Int, ratio: Double) -> String {
        "  " + DecodeSupport.pad(label, 34)
            + String(format: "%8.1f ms  %7.0f frames/s  %5.2fx CLI  cpu %6.1f ms (%.2f ms/frame)",
                     t.wall * 1000, Double(frames) / t.wall, ratio, t.cpu * 1000, t.cpu * 1000 / Double(frames))
    }
}

