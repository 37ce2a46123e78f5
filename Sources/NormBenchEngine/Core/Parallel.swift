import Dispatch

/// The engine's thread count and its parallel-for.
///
/// Work is cut into a fixed number of chunks that does not depend on the thread
/// count; chunk `i` always covers the same elements, and partial results that a
/// caller keeps per chunk are merged by the caller in chunk order. So the
/// engine's own kernels give bitwise identical results for any thread count.
///
/// The thread count is a value handed down, never a process-wide setting: code
/// that runs engine work says how many threads it gets with
/// `Parallel.withThreads(n) { ... }` (a cell: its `threads`; a benchmark: the
/// count it measures), and the kernels and the convolution library read it as
/// `Parallel.threads` inside that scope (1 outside any). oneDNN's OpenMP team is
/// sized from this value where a convolution runs; nothing else sets it.
public enum Parallel {
    /// Threads of the engine's kernels (and of the convolution library) in the
    /// current `withThreads` scope; 1 outside any.
    public static var threads: Int { scopedThreads ?? 1 }

    /// Runs `body` with the engine on `threads` threads. Scopes nest; concurrent
    /// tasks (tests) each keep their own.
    public static func withThreads<T>(_ threads: Int, _ body: () throws -> T) rethrows -> T {
        precondition(threads >= 1, "Parallel.withThreads: threads must be >= 1, got \(threads)")
        return try $scopedThreads.withValue(threads, operation: body)
    }

    /// The thread count of the current scope (`withThreads`).
    @TaskLocal public static var scopedThreads: Int?

    /// Runs `body(chunk)` for every chunk in `0..<chunks`, on up to `threads` threads.
    ///
    /// Chunks are dealt round-robin to threads (thread t runs t, t+T, t+2T, ...);
    /// `body` must only write memory that belongs to its chunk.
    /// - Parameters:
    ///   - chunks: number of independent pieces of work.
    ///   - threads: threads to use; defaults to `Parallel.threads`.
    ///   - body: the work for one chunk; called exactly once per chunk.
    @inlinable
    public static func forEach(chunks: Int, threads: Int = Parallel.threads, _ body: (Int) -> Void) {
        let t = min(threads, chunks)
        if t <= 1 {
            for i in 0..<chunks { body(i) }
            return
        }
        withoutActuallyEscaping(body) { body in
            let box = UncheckedSendable(body)
            DispatchQueue.concurrentPerform(iterations: t) { worker in
                var i = worker
                while i < chunks {
                    box.value(i)
                    i &+= t
                }
            }
        }
    }

    /// Splits `0..<count` into `chunks` contiguous ranges of near-equal size.
    /// The split depends only on `count` and `chunks`.
    @inlinable
    public static func range(_ chunk: Int, of chunks: Int, count: Int) -> Range<Int> {
        let lo = count * chunk / chunks
        let hi = count * (chunk + 1) / chunks
        return lo..<hi
    }
}

/// Carries a value that is not `Sendable` into a concurrent closure. Use only
/// where the code guarantees that concurrent users touch disjoint memory.
public struct UncheckedSendable<Value>: @unchecked Sendable {
    public let value: Value
    @inlinable public init(_ value: Value) { self.value = value }
}
