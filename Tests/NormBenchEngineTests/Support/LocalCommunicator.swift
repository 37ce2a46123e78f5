import Foundation
import NormBenchEngine

/// Results of `runRanks`, one slot per rank.
private final class RankResults<T>: @unchecked Sendable {
    let lock = NSLock()
    var values: [T?]
    init(_ n: Int) { values = Array(repeating: nil, count: n) }
}

/// Runs `body(rank)` on `ranks` threads at once and returns the results by rank.
func runRanks<T>(_ ranks: Int, _ body: @escaping @Sendable (Int) -> T) -> [T] {
    let results = RankResults<T>(ranks)
    let done = DispatchGroup()
    for rank in 0..<ranks {
        done.enter()
        Thread {
            let value = body(rank)
            results.lock.withLock { results.values[rank] = value }
            done.leave()
        }.start()
    }
    done.wait()
    return results.values.map { $0! }
}
