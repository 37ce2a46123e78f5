import ArgumentParser
import Foundation
import NormBenchEngine
import NormBenchWorkloads

/// `normbench bench kernels`: convolution GFLOP/s per pass on the reference
/// model's layers, and the reference model's training throughput, peak memory
/// and time split, for the given thread counts and batch sizes.
struct BenchKernels: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kernels",
        abstract: "Engine speed: conv3d GFLOP/s per pass, ResNet3D-tiny train-step clips/s, peak memory, time split.")

    @Option(help: "Thread counts, comma-separated.")
    var threads = "1,2"
    @Option(help: "Batch sizes for the convolution table.")
    var convBatches = "2,8"
    @Option(help: "Batch sizes for the training table.")
    var trainBatches = "2,4,8,16"
    @Option(help: "Normalizations for the training table, comma-separated (none, bn, gn, ln, in, gn+ws, ...).")
    var norms = "none,bn,gn"
    @Option(help: "Timed repetitions per convolution pass (median reported).")
    var repeats = 5
    @Option(help: "Timed training steps per configuration (after 2 warm-up steps).")
    var steps = 5
    @Flag(help: "Only the convolution table.")
    var convOnly = false
    @Flag(help: "Only the training table.")
    var trainOnly = false
    @Flag(help: "Print the tables as one JSON object on stdout (docs/cli.md).")
    var json = false

    func validate() throws {
        try validating {
            for (option, text, range) in [("--threads", threads, Limits.threads), ("--conv-batches", convBatches, Self.batches), ("--train-batches", trainBatches, Self.batches)] {
                guard parse(text, range) != nil else {
                    throw UsageError(message: "\(option): \"\(SafeName.escaped(text))\" must be a comma-separated list of integers in \(range), e.g. \(option) 2,8")
                }
            }
            let names = norms.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            guard !names.contains(where: \.isEmpty) else {
                throw UsageError(message: "--norms: \"\(SafeName.escaped(norms))\" has an empty item; give methods separated by commas, e.g. --norms none,bn,gn")
            }
            for name in names {
                do { _ = try NormalizationSpec(parsing: name) } catch { throw UsageError(message: "--norms: \(error)") }
            }
            guard Self.repetitions.contains(repeats), Self.repetitions.contains(steps) else {
                throw UsageError(message: "--repeats and --steps must be in \(Self.repetitions), e.g. --repeats 5 --steps 5")
            }
            guard !(convOnly && trainOnly) else {
                throw UsageError(message: "--conv-only and --train-only exclude each other; give one, or neither for both tables")
            }
        }
    }

    func run() throws {
        OpenMPRuntime.preferPassiveWaitPolicy()
        Report.begin("bench kernels", json: json)
        emit(BuildInfo.versionLine)
        emit("cpu: \(BuildInfo.cpuModel), \(BuildInfo.logicalCPUs) logical CPUs; oneDNN \(BuildInfo.oneDNNVersion); OMP_WAIT_POLICY=\(OpenMPRuntime.waitPolicy); load average \(loadAverage())")
        if !trainOnly {
            for t in parse(threads)! { for n in parse(convBatches)! { convolutionTable(threads: t, batch: n) } }
        }
        if !convOnly { try trainingTable() }
        try Report.shared.finish()
    }

    /// Batch sizes of the reference model's layers (8×64×64 clips) that fit a machine.
    static let batches = 1...256
    static let repetitions = 1...10_000

    private func parse(_ list: String, _ range: ClosedRange<Int> = 1...Int.max) -> [Int]? {
        let v = list.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        return v.isEmpty || v.count > 100 || v.contains { $0 == nil || !range.contains($0!) } ? nil : v.map { $0! }
    }

    /// The distinct convolutions of ResNet3D-tiny (input 8×64×64×3, widths 32/64/128).
    static func referenceLayers(batch n: Int) -> [(name: String, geometry: ConvolutionGeometry)] {
        func g(_ cin: Int, _ cout: Int, _ input: [Int], _ k: Int, _ s: [Int]) -> ConvolutionGeometry {
            ConvolutionGeometry(batch: n, inChannels: cin, outChannels: cout, input: input, kernel: [k, k, k],
                                stride: s, padding: [k / 2, k / 2, k / 2], hasBias: false)
        }
        return [
            ("stem 3→32 s(1,2,2)", g(3, 32, [8, 64, 64], 3, [1, 2, 2])),
            ("stage1 32→32 ×2", g(32, 32, [8, 32, 32], 3, [1, 1, 1])),
            ("stage2.conv1 32→64 s2", g(32, 64, [8, 32, 32], 3, [2, 2, 2])),
            ("stage2.conv2 64→64", g(64, 64, [4, 16, 16], 3, [1, 1, 1])),
            ("stage2.proj 1×1×1 s2", g(32, 64, [8, 32, 32], 1, [2, 2, 2])),
            ("stage3.conv1 64→128 s2", g(64, 128, [4, 16, 16], 3, [2, 2, 2])),
            ("stage3.conv2 128→128", g(128, 128, [2, 8, 8], 3, [1, 1, 1])),
            ("stage3.proj 1×1×1 s2", g(64, 128, [4, 16, 16], 1, [2, 2, 2])),
        ]
    }

    private func convolutionTable(threads t: Int, batch n: Int) {
        Parallel.withThreads(t) { convolutionRows(threads: t, batch: n) }
    }

    private func convolutionRows(threads t: Int, batch n: Int) {
        // The ceiling, with the vector width oneDNN uses: the best of rounds just before
        // and just after the table (a busy machine lowers both it and the passes).
        let peakBefore = FMAPeak.gflops(threads: t)
        var rows: [(name: String, gflops: [Double], implementations: [String], ms: Double)] = []
        var total = [0.0, 0.0, 0.0]
        let cpuStart = processCPUSeconds(), wallStart = StepProfiler.now()
        for (name, g) in Self.referenceLayers(batch: n) {
            let x = Tensor(shape: g.inputShape, category: .data, zeroed: true)
            let w = Tensor(shape: g.weightShape, category: .parameters, zeroed: true)
            let y = Tensor(shape: g.outputShape, category: .activations, zeroed: true)
            let gx = Tensor(shape: g.inputShape, category: .workspace)
            for i in 0..<x.count { x.data[i] = Float(i % 7) * 0.1 }
            for i in 0..<w.count { w.data[i] = Float(i % 5) * 0.01 }
            let passes: [(ConvolutionPass, () -> Void)] = [
                (.forward, { Convolution3D.forward(x, weight: w, bias: nil, into: y, geometry: g) }),
                (.backwardData, { Convolution3D.backwardData(y, weight: w, into: gx, geometry: g) }),
                (.backwardWeights, { Convolution3D.backwardWeights(x, gradY: y, gradWeight: w, gradBias: nil, geometry: g) }),
            ]
            var gflops: [Double] = [], implementations: [String] = []
            var ms = 0.0
            for (k, (pass, body)) in passes.enumerated() {
                body()
                var times: [Double] = []
                for _ in 0..<repeats {
                    let start = StepProfiler.now()
                    body()
                    times.append(Double(StepProfiler.now() - start) * 1e-9)
                }
                let median = Quantiles.percentile(times, 0.5)
                ms += median * 1e3
                // stage 1's conv runs twice per step; the stem's input gradient is never computed.
                let weight = name.contains("×2") ? 2.0 : name.hasPrefix("stem") && pass == .backwardData ? 0.0 : 1.0
                total[k] += median * weight
                gflops.append(g.usefulFlops / median * 1e-9)
                implementations.append(Convolution3D.implementation(pass, geometry: g))
            }
            rows.append((name, gflops, implementations, ms))
        }
        let peak = [peakBefore, FMAPeak.gflops(threads: t)].compactMap { $0 }.max()
        emit("\n## conv3d, batch \(n), \(t) thread(s): GFLOP/s of multiply-adds inside the input, padding taps not counted (median of \(repeats)) (share of the FMA peak) [implementation]")
        emit(peak.map { String(format: "FMA peak: %.1f GFLOP/s with %d thread(s), %d-bit vectors (a register-blocked multiply-add loop, best of 10 rounds before and after the table)", $0, t, FMAPeak.widthForOneDNN) }
             ?? "FMA peak: not measurable on this CPU")
        emit("| layer | fwd | bwd-data | bwd-weights | ms fwd+bd+bw |")
        emit("|---|---|---|---|---|")
        for row in rows {
            let cells = row.gflops.indices.map { k in
                String(format: "%.1f%@ [%@]", row.gflops[k], peak.map { String(format: " (%.0f%%)", 100 * row.gflops[k] / $0) } ?? "", row.implementations[k])
            }
            emit("| \(row.name) | \(cells.joined(separator: " | ")) | \(String(format: "%.2f", row.ms)) |")
        }
        let cpu = processCPUSeconds() - cpuStart, wall = Double(StepProfiler.now() - wallStart) * 1e-9
        emit(String(format: "process CPU time / wall time over the table: %.2f / %.2f s (%.2f cores busy)", cpu, wall, cpu / wall))
        emit("OpenMP threads on this thread: \(OpenMPRuntime.maxThreads); process threads: \(processThreads())")
        emit(String(format: "all convolutions of one training step (ms; stage1 twice, no stem bwd-data): fwd %.1f, bwd-data %.1f, bwd-weights %.1f, total %.1f",
                     total[0] * 1e3, total[1] * 1e3, total[2] * 1e3, total.reduce(0, +) * 1e3))
    }

    private func trainingTable() throws {
        emit("\n## ResNet3D-tiny train step (input 8×64×64, 10 classes, SGD momentum 0.9), \(steps) timed steps after 2 warm-up; times in ms per step")
        emit("| norm | threads | batch | clips/s | ms/step | CPU ms/step | conv fwd | conv bwd-data | conv bwd-w | norm | other | loss+opt | ledger peak MiB | activations MiB | VmHWM MiB |")
        emit("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
        for norm in norms.split(separator: ",").map(String.init) {
            for t in parse(threads)! { for n in parse(trainBatches)! { try trainingRow(norm: norm, threads: t, batch: n) } }
        }
    }

    private func trainingRow(norm: String, threads t: Int, batch n: Int) throws {
        try Parallel.withThreads(t) {
                TensorAllocator.shared.releaseCache()  // earlier rows' cached blocks would inflate VmHWM
                let config = ResNet3DConfig()
                let spec = try NormalizationSpec(parsing: norm)
                let model = try ResNet3D.classifier(config, normalization: spec)
                let trainer = TrainingStep(optimizer: SGD(parameters: model.parameters))
                let input = Tensor(shape: config.inputShape(batch: n), category: .data)
                var gen = SeededGenerator(seed: 1)
                for i in 0..<input.count { input.data[i] = gen.nextNormal() }
                let batch = MicroBatch(input: input, labels: (0..<n).map { $0 % config.classes })
                // The step `normbench run` takes, on one worker's micro-batch.
                func step() { _ = trainer.run(learningRate: 0.01) { TrainingStep.classify(model, batch, lossScale: 1).loss } }
                for _ in 0..<2 { step() }
                MemoryLedger.shared.reset()
                ProcessMemory.resetHighWaterMark()
                StepProfiler.shared.reset()
                let start = StepProfiler.now(), cpuStart = processCPUSeconds()
                for _ in 0..<steps { step() }
                let seconds = Double(StepProfiler.now() - start) * 1e-9
                let cpu = processCPUSeconds() - cpuStart
                let split = StepProfiler.shared.seconds()
                let ledger = MemoryLedger.shared.snapshot()
                func ms(_ b: StepProfiler.Bucket...) -> String {
                    String(format: "%.1f", b.reduce(0) { $0 + split[$1]! } / Double(steps) * 1e3)
                }
                let mib = { (b: Int) in String(format: "%.1f", Double(b) / 1048576) }
                emit("| \(spec.name) | \(t) | \(n) | \(String(format: "%.2f", Double(n * steps) / seconds)) | \(String(format: "%.1f", seconds / Double(steps) * 1e3)) | \(String(format: "%.1f", cpu / Double(steps) * 1e3)) | "
                      + "\(ms(.convolutionForward)) | \(ms(.convolutionBackwardData)) | \(ms(.convolutionBackwardWeights)) | "
                      + "\(ms(.normalization)) | \(ms(.other)) | \(ms(.loss, .optimizer)) | \(mib(ledger.peakTotal)) | "
                      + "\(mib(ledger.peak[.activations]!)) | \(mib(ProcessMemory.highWaterMark() ?? 0)) |")
        }
    }
}

/// The 1-minute load average (other processes on the machine skew every number here).
func loadAverage() -> String {
    (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?.split(separator: " ").first.map(String.init) ?? "?"
}

/// CPU seconds used by all threads of this process.
func processCPUSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

/// OS threads of this process (/proc/self/status).
private func processThreads() -> String {
    let text = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
    return text.split(separator: "\n").first { $0.hasPrefix("Threads:") }.map { String($0.dropFirst(8)).trimmingCharacters(in: .whitespaces) } ?? "?"
}
