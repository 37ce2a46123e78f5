import Synchronization

/// The one allocation path for tensor storage.
///
/// Blocks are 64-byte aligned and reported to `MemoryLedger.shared` by category.
/// Freed blocks are kept in a cache keyed by their exact size and handed out
/// again: a training step allocates the same sizes every step, so after the
/// first step nothing is page-faulted afresh (glibc would return large blocks
/// to the kernel and fault them in again on every call). The ledger counts
/// what tensors hold, not what the cache keeps; `cachedBytes` reports that, and
/// `heldPeak` the high-water mark of both together (what the blocks make resident).
public final class TensorAllocator: Sendable {
    public static let shared = TensorAllocator()
    public static let alignment = 64

    private struct State {
        var free: [Int: [UInt]] = [:]  // size -> addresses (bit patterns: Sendable)
        var cachedBytes = 0
        var outstandingBytes = 0  // handed out to tensors, not given back
        var heldPeak = 0          // high-water mark of outstanding + cached
    }
    private let state = Mutex(State())
    private let ledger: MemoryLedger

    public init(ledger: MemoryLedger = .shared) { self.ledger = ledger }

    /// Returns an uninitialized, 64-byte aligned block of `bytes` bytes.
    public func allocate(bytes: Int, category: MemoryCategory) -> UnsafeMutableRawPointer {
        precondition(bytes >= 0, "TensorAllocator: negative size \(bytes)")
        let size = max(bytes, 1)
        let reused: UnsafeMutableRawPointer? = state.withLock { s in
            s.outstandingBytes += size
            guard let address = s.free[size]?.popLast() else {
                s.heldPeak = max(s.heldPeak, s.outstandingBytes + s.cachedBytes)
                return nil
            }
            s.cachedBytes -= size
            return UnsafeMutableRawPointer(bitPattern: address)
        }
        ledger.record(bytes, category)
        MemoryLedger.scoped?.record(bytes, category)
        if let p = reused { return p }
        return UnsafeMutableRawPointer.allocate(byteCount: size, alignment: Self.alignment)
    }

    /// Gives a block back; it stays cached for the next allocation of the same size.
    public func deallocate(_ pointer: UnsafeMutableRawPointer, bytes: Int, category: MemoryCategory) {
        let size = max(bytes, 1)
        ledger.record(-bytes, category)
        MemoryLedger.scoped?.record(-bytes, category)
        state.withLock { s in
            s.free[size, default: []].append(UInt(bitPattern: pointer))
            s.outstandingBytes -= size
            s.cachedBytes += size
        }
    }

    /// Bytes held in the cache (freed by tensors, not yet returned to the system).
    public var cachedBytes: Int { state.withLock { $0.cachedBytes } }

    /// Bytes in blocks the allocator holds: tensors' blocks and cached ones.
    public var held: Int { state.withLock { $0.outstandingBytes + $0.cachedBytes } }

    /// The high-water mark of `held` since `resetHeldPeak()`.
    public var heldPeak: Int { state.withLock { $0.heldPeak } }

    /// Starts a new high-water mark at `held`, or at `earlier` if that is higher
    /// (to put back a mark saved before a phase that should not count).
    public func resetHeldPeak(to earlier: Int = 0) {
        state.withLock { $0.heldPeak = max(earlier, $0.outstandingBytes + $0.cachedBytes) }
    }

    /// Returns every cached block to the system.
    public func releaseCache() {
        let blocks = state.withLock { s -> [UInt] in
            let all = s.free.values.flatMap { $0 }
            s.free = [:]
            s.cachedBytes = 0
            return all
        }
        for address in blocks { UnsafeMutableRawPointer(bitPattern: address)?.deallocate() }
    }
}
