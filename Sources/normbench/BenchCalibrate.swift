import ArgumentParser
import Foundation
import NormBenchEngine
import NormBenchHarness
import NormBenchWorkloads

/// `normbench bench calibrate`: the calibration probes that `normbench run`
/// takes around every cell, repeated, to see how steady this machine is.
/// `normbench check` divides throughput by them; their spread here is the
/// floor of the noise a check on this machine has to allow.
struct BenchCalibrate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "calibrate",
        abstract: "The calibration probes normbench run takes around each cell, repeated: how steady is this machine?")

    @Option(help: "Thread counts, comma-separated (e.g. 2 or 1,2).")
    var threads = "2"
    @Option(help: "Calibrations to take per thread count.")
    var repeats = 10
    @Flag(help: "Print the probes as one JSON object on stdout (docs/cli.md).")
    var json = false

    func validate() throws {
        try validating {
            _ = try threadList(threads)
            guard (1...10_000).contains(repeats) else { throw UsageError(message: "--repeats must be in 1...10000, got \(repeats); e.g. --repeats 10") }
        }
    }

    struct Probe: Encodable { var convGFLOPS, bandwidthGBps, index: Double }
    struct Series: Encodable { var threads: Int, probes: [Probe], medianIndex, minIndex, maxIndex: Double }
    struct CalibrateJSON: Encodable {
        let command = "bench calibrate"
        var cpuModel: String, logicalCPUs: Int, loadAverage: String, series: [Series]
    }

    func run() throws {
        OpenMPRuntime.preferPassiveWaitPolicy()
        let threadCounts = try threadList(threads)
        if !json {
            print(BuildInfo.versionLine)
            print("cpu: \(BuildInfo.cpuModel), \(BuildInfo.logicalCPUs) logical CPUs; load average \(loadAverage())")
        }
        var series: [Series] = []
        for t in threadCounts {
            if !json { print("\(t) thread(s)\nrun  conv GFLOP/s  memory GB/s  index") }
            var probes: [Probe] = []
            for k in 1...repeats {
                let c = Calibration.measure(threads: t)
                probes.append(Probe(convGFLOPS: c.convGFLOPS, bandwidthGBps: c.bandwidthGBps, index: c.index))
                if !json { print(String(format: "%3d  %11.1f  %11.1f  %5.1f", k, c.convGFLOPS, c.bandwidthGBps, c.index)) }
            }
            let indices = probes.map(\.index)
            let s = Series(threads: t, probes: probes, medianIndex: Quantiles.percentile(indices, 0.5), minIndex: indices.min()!, maxIndex: indices.max()!)
            series.append(s)
            if !json {
                print(String(format: "index: median %.1f, min %.1f, max %.1f (max/min %.2f)",
                             s.medianIndex, s.minIndex, s.maxIndex, s.maxIndex / max(s.minIndex, 1e-12)))
            }
        }
        if json {
            try printJSON(CalibrateJSON(cpuModel: BuildInfo.cpuModel, logicalCPUs: BuildInfo.logicalCPUs, loadAverage: loadAverage(), series: series))
        }
    }
}
