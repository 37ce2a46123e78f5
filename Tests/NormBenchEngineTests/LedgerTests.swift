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

    @Test func parallelForCoversEveryChunkOnce() {
        var hits = [Int](repeating: 0, count: 37)
        hits.withUnsafeMutableBufferPointer { h in
            let box = UncheckedSendable(h)
            Parallel.forEach(chunks: 37, threads: 2) { i in box.value[i] += 1 }
        }
        #expect(hits == [Int](repeating: 1, count: 37))
    }
}
