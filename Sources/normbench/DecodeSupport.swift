import Foundation
import NormBenchEngine

/// Small helpers shared by `decode` and `bench decode` (namespaced to stay clear of other commands).
enum DecodeSupport {
    /// A duration in seconds.
    static func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
    }

    /// Wall time of `body` in seconds.
    static func time(_ body: () throws -> Void) rethrows -> Double {
        let clock = ContinuousClock()
        let start = clock.now
        try body()
        return seconds(clock.now - start)
    }

    /// CPU seconds (user + system) used so far by this process and by its waited-for children.
    static func cpuSeconds() -> Double {
        var total = 0.0
        for who in [RUSAGE_SELF, RUSAGE_CHILDREN] {
            var u = rusage()
            getrusage(who.rawValue, &u)
            total += Double(u.ru_utime.tv_sec) + Double(u.ru_utime.tv_usec) * 1e-6
            total += Double(u.ru_stime.tv_sec) + Double(u.ru_stime.tv_usec) * 1e-6
        }
        return total
    }

    /// Median wall and CPU seconds of one body.
    struct Timing {
        var wall: Double
        var cpu: Double
    }

    /// Per-body medians of `runs` rounds; each round runs every body once, in order,
    /// after one warm-up round, so a busy machine slows all bodies alike. CPU time
    /// does not depend on other processes' load as much as wall time does.
    static func interleavedMedians(_ runs: Int, _ bodies: [() throws -> Void]) throws -> [Timing] {
        var walls = Array(repeating: [Double](), count: bodies.count)
        var cpus = walls
        for round in 0...runs {
            for (i, body) in bodies.enumerated() {
                let c0 = cpuSeconds()
                let t = try time(body)
                let c = cpuSeconds() - c0
                if round > 0 { walls[i].append(t); cpus[i].append(c) }
            }
        }
        return zip(walls, cpus).map { Timing(wall: Quantiles.median($0), cpu: Quantiles.median($1)) }
    }

    /// `text` left-aligned in a field of `width` characters.
    static func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text + " " : text + String(repeating: " ", count: width - text.count)
    }
}
