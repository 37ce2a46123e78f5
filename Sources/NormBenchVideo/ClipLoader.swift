import Dispatch
import Foundation

/// Decodes many clips at once: `workers` clips in parallel, one decoder per clip,
/// each decoder with `DecodeOptions.threads` threads.
///
/// On a 2-core machine two workers with one decoder thread each beat one worker
/// with FFmpeg's own threading (measured by `normbench bench decode`; see docs/video.md),
/// so that is the default.
public enum ClipLoader {
    /// Workers used when the caller does not say: the number of logical CPUs.
    public static var defaultWorkers: Int { max(1, ProcessInfo.processInfo.activeProcessorCount) }

    /// Decodes every path; a bad file gives a failure in its slot and never stops the others.
    /// - Parameters:
    ///   - paths: the clips, results come back in the same order.
    ///   - options: the same decoding request for every clip.
    ///   - workers: clips decoded at the same time (≥ 1).
    ///   - stopOnFailure: after the first failure, clips not yet started are not decoded
    ///     (their slots hold `nil`).
    /// - Returns: one result per path (`nil` only for clips skipped after a failure with `stopOnFailure`).
    ///   - frameSink: when given, returns for clip `i` the sink its frames stream to
    ///     (`ClipDecoder.decode(_:options:frameSink:)`); those clips' `data` stays empty.
    public static func decode(_ paths: [String], options: DecodeOptions, workers: Int = ClipLoader.defaultWorkers,
                              stopOnFailure: Bool = false,
                              frameSink: (@Sendable (Int) -> ClipDecoder.FrameSink?)? = nil) -> [Result<Clip, VideoError>?] {
        let results = ResultSlots(count: paths.count)
        forEach(paths, options: options, workers: workers, stopOnFailure: stopOnFailure, frameSink: frameSink) { i, result in
            results.store(result, at: i)
        }
        return results.values
    }

    /// Decodes every path and hands each result to `body` as soon as it is ready,
    /// so a caller can convert or cache clips without holding all of them.
    ///
    /// `body(index, result)` runs on the worker that decoded clip `index`, concurrently
    /// with other workers' calls; it must synchronise what it shares. Returns after
    /// every started clip was handed over.
    public static func forEach(_ paths: [String], options: DecodeOptions, workers: Int = ClipLoader.defaultWorkers,
                               stopOnFailure: Bool = false,
                               frameSink: (@Sendable (Int) -> ClipDecoder.FrameSink?)? = nil,
                               _ body: @escaping @Sendable (Int, Result<Clip, VideoError>) -> Void) {
        precondition(workers >= 1, "ClipLoader: workers must be >= 1, got \(workers)")
        let queue = WorkQueue(count: paths.count)
        let n = min(workers, paths.count)
        if n == 0 { return }
        // Real threads, not concurrentPerform: GCD caps concurrency at the CPU count,
        // and the caller asked for exactly `workers` decoders at once.
        let group = DispatchGroup()
        for _ in 0..<n {
            group.enter()
            let thread = Thread {
                while let i = queue.claim(stopOnFailure: stopOnFailure) {
                    let result = Result { () throws(VideoError) -> Clip in try ClipDecoder.decode(paths[i], options: options, frameSink: frameSink?(i))
                    }
                    if case .failure = result { queue.markFailed() }
                    body(i, result)
                }
                group.leave()
            }
            thread.stackSize = 8 << 20
            thread.start()
        }
        group.wait()
    }
}

/// The loader's shared queue position, behind one lock.
private final class WorkQueue: @unchecked Sendable {
    private let lock = NSLock()
    private var next = 0
    private var failed = false
    private let count: Int

    init(count: Int) { self.count = count }

    func claim(stopOnFailure: Bool) -> Int? {
        lock.lock(); defer { lock.unlock() }
        if next >= count || (stopOnFailure && failed) { return nil }
        next += 1
        return next - 1
    }

    func markFailed() {
        lock.lock(); defer { lock.unlock() }
        failed = true
    }
}

/// Result slots filled by concurrent workers.
private final class ResultSlots: @unchecked Sendable {
    private let lock = NSLock()
    private var slots: [Result<Clip, VideoError>?]

    init(count: Int) { slots = Array(repeating: nil, count: count) }

    func store(_ result: Result<Clip, VideoError>, at i: Int) {
        lock.lock(); defer { lock.unlock() }
        slots[i] = result
    }

    var values: [Result<Clip, VideoError>?] {
        lock.lock(); defer { lock.unlock() }
        return slots
    }
}
