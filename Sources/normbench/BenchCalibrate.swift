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

    @Option(help: "Threads.")
    var threads = 2
    @Option(help: "Calibrations to take.")
    var repeats = 10

    func run() throws {
        guard Limits.threads.contains(threads), (1...10_000).contains(repeats) else {
            printError("normbench bench calibrate: --threads must be in \(Limits.threads) and --repeats in 1...10000, e.g. --threads 2 --repeats 10")
            throw ExitCode(2)
        }
        OpenMPRuntime.preferPassiveWaitPolicy()
        print(BuildInfo.versionLine)
        print("cpu: \(BuildInfo.cpuModel), \(BuildInfo.logicalCPUs) logical CPUs; \(threads) threads; load average \(loadAverage())")
        print("run  conv GFLOP/s  memory GB/s  index")
        var indices: [Double] = []
        for k in 1...repeats {
            let c = Calibration.measure(threads: threads)
            indices.append(c.index)
            print(String(format: "%3d  %11.1f  %11.1f  %5.1f", k, c.convGFLOPS, c.bandwidthGBps, c.index))
        }
        let sorted = indices.sorted()
        print(String(format: "index: median %.1f, min %.1f, max %.1f (max/min %.2f)",
                     sorted[sorted.count / 2], sorted.first!, sorted.last!, sorted.last! / max(sorted.first!, 1e-12)))
    }
}
