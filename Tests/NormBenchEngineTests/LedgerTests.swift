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

    /// Blocks given back stay held (cached) until a request of their exact size
    /// reuses them; the high-water mark counts them with the tensors' blocks, as
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

    @Test func parallelForCoversEveryChunkOnce() {
        var hits = [Int](repeating: 0, count: 37)
        hits.withUnsafeMutableBufferPointer { h in
            let box = UncheckedSendable(h)
            Parallel.forEach(chunks: 37, threads: 2) { i in box.value[i] += 1 }
        }
        #expect(hits == [Int](repeating: 1, count: 37))
    }
}
