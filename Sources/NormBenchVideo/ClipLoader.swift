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
    public static func decode(_ paths: [String], options: DecodeOptions, workers: Int = ClipLoader.defaultWorkers,
                              stopOnFailure: Bool = false) -> [Result<Clip, VideoError>?] {
        precondition(workers >= 1, "ClipLoader.decode: workers must be >= 1, got \(workers)")
        let state = LoaderState(count: paths.count)
        let n = min(workers, paths.count)
        if n == 0 { return [] }
        // Real threads, not concurrentPerform: GCD caps concurrency at the CPU count,
        // and the caller asked for exactly `workers` decoders at once.
        let group = DispatchGroup()
        for _ in 0..<n {
            group.enter()
            let thread = Thread {
                while let i = state.claim(stopOnFailure: stopOnFailure) {
                    let result = Result { () throws(VideoError) -> Clip in try ClipDecoder.decode(paths[i], options: options) }
                    state.store(result, at: i)
                }
                group.leave()
            }
            thread.stackSize = 8 << 20
            thread.start()
        }
        group.wait()
        return state.results
    }
}

/// The loader's shared queue position and result slots, behind one lock.
private final class LoaderState: @unchecked Sendable {
    private let lock = NSLock()
    private var next = 0
    private var failed = false
    private(set) var results: [Result<Clip, VideoError>?]

    init(count: Int) { results = Array(repeating: nil, count: count) }

    func claim(stopOnFailure: Bool) -> Int? {
        lock.lock(); defer { lock.unlock() }
        if next >= results.count || (stopOnFailure && failed) { return nil }
        next += 1
        return next - 1
    }

    func store(_ result: Result<Clip, VideoError>, at i: Int) {
        lock.lock(); defer { lock.unlock() }
        results[i] = result
        if case .failure = result { failed = true }
    }
}
