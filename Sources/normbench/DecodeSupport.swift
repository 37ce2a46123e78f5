import Foundation

/// An option value of `normbench decode` that makes no sense; reported as one line, exit code 2.
struct DecodeUsageError: Error {
    let message: String
}

/// Small helpers shared by `decode` and `bench decode` (namespaced to stay clear of other commands).
enum DecodeSupport {
    /// Writes one line to stderr.
    static func printError(_ line: String) {
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }

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

    /// Per-body medians of `runs` rounds; each round runs every body once, in order,
    /// after one warm-up round, so a busy machine slows all bodies alike.
    static func interleavedMedians(_ runs: Int, _ bodies: [() throws -> Void]) throws -> [Double] {
        var times = Array(repeating: [Double](), count: bodies.count)
        for round in 0...runs {
            for (i, body) in bodies.enumerated() {
                let t = try time(body)
                if round > 0 { times[i].append(t) }
            }
        }
        return times.map { t in
            let s = t.sorted()
            return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
        }
    }

    /// `text` left-aligned in a field of `width` characters.
    static func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text + " " : text + String(repeating: " ", count: width - text.count)
    }
}
