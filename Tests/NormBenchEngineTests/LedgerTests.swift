import Testing
import NormBenchEngine

@Suite struct LedgerTests {
    @Test func tensorLifetimeIsCounted() {
        let ledger = MemoryLedger.shared
        let before = ledger.live(.workspace)
        do {
            let t = Tensor(shape: [2, 3, 5], category: .workspace, zeroed: true)
            #expect(ledger.live(.workspace) == before + 30 * 4)
            #expect(t.array.allSatisfy { $0 == 0 })
        }
        #expect(ledger.live(.workspace) == before)
    }

    /// Blocks given back stay held (cached) until a request of their size (or of
    /// up to half of it) reuses them; the high-water mark counts them with the tensors' blocks, as
    /// the process's resident size does, while the ledger counts tensors only.
    @Test func allocatorHeldPeakCountsCachedBlocks() {
        let ledger = MemoryLedger()
        let a = TensorAllocator(ledger: ledger)
        let p = a.allocate(bytes: 1000, category: .activations)
        a.deallocate(p, bytes: 1000, category: .activations)
        #expect(a.held == 1000 && a.cachedBytes == 1000 && ledger.snapshot().liveTotal == 0)
        let q = a.allocate(bytes: 1000, category: .workspace)  // the cached block
        #expect(a.held == 1000 && a.heldPeak == 1000)
        a.deallocate(q, bytes: 1000, category: .workspace)
        let r = a.allocate(bytes: 3000, category: .workspace)  // a new size: the cached block stays
        #expect(ledger.snapshot().peakTotal == 3000 && a.held == 4000 && a.heldPeak == 4000)
        a.deallocate(r, bytes: 3000, category: .workspace)
        a.releaseCache()
        #expect(a.held == 0 && a.heldPeak == 4000)
        a.resetHeldPeak(to: 7)
        #expect(a.heldPeak == 7)
        a.resetHeldPeak()
        #expect(a.heldPeak == 0)
    }

    /// A request that finds no free block of its size takes the smallest free one
    /// up to twice as large; the block goes back under its own size, and the
    /// allocator counts what it holds by the blocks' real sizes.
    @Test func freeBlockUpToTwiceTheSizeIsReused() {
        let ledger = MemoryLedger()
        let a = TensorAllocator(ledger: ledger)
        let big = a.allocate(bytes: 1000, category: .activations), huge = a.allocate(bytes: 5000, category: .activations)
        a.deallocate(big, bytes: 1000, category: .activations)
        a.deallocate(huge, bytes: 5000, category: .activations)
        let p = a.allocate(bytes: 600, category: .workspace)      // takes the 1000-byte block
        #expect(p == big && a.held == 6000 && a.cachedBytes == 5000 && ledger.snapshot().liveTotal == 600)
        let q = a.allocate(bytes: 400, category: .workspace)      // 5000 > 2 × 400: a new block
        #expect(q != huge && a.held == 6400 && a.cachedBytes == 5000)
        a.deallocate(p, bytes: 600, category: .workspace)         // back as a 1000-byte block
        #expect(a.cachedBytes == 6000 && a.held == 6400)
        #expect(a.allocate(bytes: 1000, category: .workspace) == big)
        #expect(a.heldPeak == 6400 && ledger.snapshot().liveTotal == 1400)
    }

    @Test func parallelForCoversEveryChunkOnce() {
        var hits = [Int](repeating: 0, count: 37)
        hits.withUnsafeMutableBufferPointer { h in
            let box = UncheckedSendable(h)
            Parallel.forEach(chunks: 37, threads: 2) { i in box.value[i] += 1 }
        }
        #expect(hits == [Int](repeating: 1, count: 37))
    }
}
