import Foundation
import Synchronization

/// The one allocation path for tensor storage.
///
/// Blocks are 64-byte aligned and reported to `MemoryLedger.shared` by category.
/// Freed blocks are kept in a cache keyed by their size and handed out again: a
/// training step allocates the same sizes every step, so after the first steps
/// nothing is page-faulted afresh (glibc would return large blocks to the kernel
/// and fault them in again on every call). A request with no free block of its
/// size takes the smallest free block up to twice as large (it returns under its
/// own size), so blocks a step frees early serve its later, different sizes;
/// `NORMBENCH_ALLOC_BESTFIT=0` keeps to exact sizes. The ledger counts
/// what tensors hold, not what the cache keeps; `cachedBytes` reports that, and
/// `heldPeak` the high-water mark of both together (what the blocks make resident).
public final class TensorAllocator: Sendable {
    public static let shared = TensorAllocator()
    public static let alignment = 64

    private struct State {
        var free: [Int: [UInt]] = [:]  // size -> addresses (bit patterns: Sendable)
        var sizes: [Int] = []          // the sizes with a free block, ascending
        var larger: [UInt: Int] = [:]  // blocks handed out for a smaller request: their real size
        var cachedBytes = 0
        var outstandingBytes = 0  // handed out to tensors, not given back
        var heldPeak = 0          // high-water mark of outstanding + cached

        mutating func take(_ size: Int) -> UInt? {
            guard let address = free[size]?.popLast() else { return nil }
            if free[size]!.isEmpty { free[size] = nil; sizes.remove(at: index(size)) }
            return address
        }

        mutating func put(_ address: UInt, _ size: Int) {
            if free[size] == nil { sizes.insert(size, at: index(size)) }
            free[size, default: []].append(address)
        }

        /// The position of the first size ≥ `size` in `sizes`.
        func index(_ size: Int) -> Int {
            var lo = 0, hi = sizes.count
            while lo < hi { let mid = (lo + hi) / 2; if sizes[mid] < size { lo = mid + 1 } else { hi = mid } }
            return lo
        }
    }
    /// Whether a request may take a larger free block (`NORMBENCH_ALLOC_BESTFIT=0`: no).
    static let reuseLarger = ProcessInfo.processInfo.environment["NORMBENCH_ALLOC_BESTFIT"] != "0"
    private let state = Mutex(State())
    private let ledger: MemoryLedger

    public init(ledger: MemoryLedger = .shared) { self.ledger = ledger }

    /// Returns an uninitialized, 64-byte aligned block of `bytes` bytes.
    public func allocate(bytes: Int, category: MemoryCategory) -> UnsafeMutableRawPointer {
        precondition(bytes >= 0, "TensorAllocator: negative size \(bytes)")
        let size = max(bytes, 1)
        let reused: UnsafeMutableRawPointer? = state.withLock { s in
            // A free block of this size, else the smallest one up to twice the size.
            let i = s.index(size)
            if i < s.sizes.count, s.sizes[i] == size || (Self.reuseLarger && s.sizes[i] <= 2 * size) {
                let real = s.sizes[i]
                let address = s.take(real)!
                if real != size { s.larger[address] = real }
                s.outstandingBytes += real
                s.cachedBytes -= real
                return UnsafeMutableRawPointer(bitPattern: address)
            }
            s.outstandingBytes += size
            s.heldPeak = max(s.heldPeak, s.outstandingBytes + s.cachedBytes)
            return nil
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
            let address = UInt(bitPattern: pointer)
            let real = s.larger.removeValue(forKey: address) ?? size
            s.put(address, real)
            s.outstandingBytes -= real
            s.cachedBytes += real
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
            s.sizes = []
            s.cachedBytes = 0
            return all
        }
        for address in blocks { UnsafeMutableRawPointer(bitPattern: address)?.deallocate() }
    }
}
