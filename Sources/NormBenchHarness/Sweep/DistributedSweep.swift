import Foundation
import NormBenchEngine
import NormBenchWorkloads

/// How `normbench run` spreads a sweep over the ranks of an MPI job.
public enum DistributionMode: String, Sendable {
    /// `--distributed`: every cell runs data-parallel, one worker per rank (W = ranks).
    case dataParallel = "data-parallel"
    /// `--distribute-cells`: each cell runs whole on one rank, as the single-process simulation.
    case cells
}

/// A distributed run's setting that is not part of the sweep itself.
public struct DistributedOptions {
    public var communicator: any Communicator
    public var mode: DistributionMode
    /// Distinct hosts in the job.
    public var hosts: Int
    /// The MPI library's version line, for the records.
    public var library: String
    /// Rank 0 may receive other ranks' records on a second thread while it
    /// trains (the communicator allows calls from two threads, one at a time).
    /// Otherwise it collects them between its own cells.
    public var collectOnThread: Bool

    public init(communicator: any Communicator, mode: DistributionMode, hosts: Int, library: String, collectOnThread: Bool) {
        self.communicator = communicator
        self.mode = mode
        self.hosts = hosts
        self.library = library
        self.collectOnThread = collectOnThread
    }
}

/// Failures of a distributed run that every rank sees, so every rank can stop
/// cleanly (the others need MPI to abort the job).
public enum DistributedError: Error, Equatable, CustomStringConvertible {
    /// The ranks resolved different sweeps, or run different builds.
    case inconsistentRanks(String)
    /// Rank 0 could not set up the run folder (the message, on rank 0).
    case setup(String)
    /// What the other ranks see when rank 0's setup failed.
    case stoppedByRankZero

    public var description: String {
        switch self {
        case let .inconsistentRanks(text), let .setup(text): return text
        case .stoppedByRankZero: return "rank 0 failed while setting up the run (see its message)"
        }
    }
}

extension SweepRunner {
    /// Runs the sweep over the ranks of `d.communicator`; every rank calls it
    /// with the same spec. Rank 0 chooses the run folder, decides which cells are
    /// still to run (`--resume`) and writes every record; it returns the folder
    /// and the records, the other ranks return nil.
    ///
    /// Order: (1) every rank checks that it resolved the same sweep as rank 0
    /// (digest of the spec, the cells, the build and the mode); (2) rank 0 sets up
    /// the run folder and broadcasts the pending cells; (3) the data set is
    /// prepared by rank 0 first, then by the first rank of each other host, then
    /// by the rest (they find a complete cache on a shared host, or generate the
    /// same files on their own); (4) the cells run.
    /// - Throws: `DistributedError` on every rank for mismatched ranks or a failed
    ///   setup on rank 0; any other error is this rank's alone (the caller must
    ///   stop the job: the other ranks wait in a collective).
    public func runDistributed(_ d: DistributedOptions) throws -> (folder: String, records: [ResultRecord])? {
        let comm = d.communicator
        let cells = try spec.cells()
        try checkConsistency(comm, cells: cells, mode: d.mode)
        distribution = DistributedRun(
            mode: d.mode.rawValue, ranks: comm.size, hosts: d.hosts, rank: d.mode == .cells ? comm.rank : nil, mpiLibrary: d.library)

        // (2) The run folder and the cells still to run, decided by rank 0.
        var setup = Setup(folder: "", pending: [], failed: false)
        if comm.rank == 0 {
            do {
                (setup.folder, setup.pending) = try setUpRunFolder(cells) { count in
                    "\(count) cells; \(comm.size) ranks on \(d.hosts) host\(d.hosts == 1 ? "" : "s"), \(d.mode.rawValue)"
                }
            } catch {
                _ = comm.broadcast(try RecordStore.encode(Setup(folder: "", pending: [], failed: true)).bytes, root: 0)
                throw DistributedError.setup("\(error)")
            }
        }
        setup = try JSONDecoder().decode(Setup.self, from: Data(comm.broadcast(try RecordStore.encode(setup).bytes, root: 0)))
        if setup.failed { throw DistributedError.stoppedByRankZero }

        // (3) Data, one host at a time where a cache is shared.
        var source: (folder: String, manifest: DatasetManifest)?
        for phase in 0..<3 {
            let mine = phase == 0 ? comm.rank == 0 : phase == 1 ? comm.rank != 0 && comm.localRank == 0 : comm.localRank != 0
            if mine { source = try prepareData() }
            comm.barrier()
        }
        let (train, eval, data, decode) = try decodeData(source!, runFolder: setup.folder)

        // (4) The cells.
        switch d.mode {
        case .dataParallel:
            for k in setup.pending {
                var record = try runCell(
                    cells[k], index: k, of: cells.count, train: train, eval: eval, data: data, decode: decode,
                    cellOptions: CellRunOptions(dataParallel: comm, keepFinalState: comm.rank == 0 && options.finalStateFolder != nil))
                if comm.rank == 0 {
                    if record.distributed == nil { record.distributed = distribution }
                    if record.distributed?.collective?.replicasIdentical == false {
                        display.line("warning: \(cells[k].key.id): the ranks' final parameters differ bitwise (the all-reduce did not give every rank the same sum)")
                    }
                    try RecordStore.write(record, in: setup.folder)
                }
            }
        case .cells:
            // Cell i of the pending list runs on rank i mod W; rank 0 writes every record.
            let assigned = setup.pending.enumerated().filter { $0.offset % comm.size == comm.rank }.map(\.element)
            let collector = comm.rank == 0
                ? RecordCollector(communicator: comm, expected: setup.pending.count - assigned.count, folder: setup.folder, display: display)
                : nil
            if d.collectOnThread { collector?.start() }
            for k in assigned {
                var record = try runCell(cells[k], index: k, of: cells.count, train: train, eval: eval, data: data, decode: decode,
                                         cellOptions: CellRunOptions(keepFinalState: options.finalStateFolder != nil))
                if record.distributed == nil { record.distributed = distribution }
                if comm.rank == 0 {
                    try RecordStore.write(record, in: setup.folder)
                } else {
                    comm.send(try RecordStore.encode(record).bytes, to: 0, tag: RecordCollector.tag)
                }
                if !d.collectOnThread { try collector?.drain() }
            }
            try collector?.finish(waiting: d.collectOnThread)
        }
        comm.barrier()
        return comm.rank == 0 ? (setup.folder, try RecordStore.readAll(setup.folder)) : nil
    }

    /// What rank 0 tells the others after setting up the run folder.
    private struct Setup: Codable {
        var folder: String
        var pending: [Int]
        var failed: Bool
    }

    /// Stops every rank unless all resolved the same sweep, build and mode as rank 0.
    private func checkConsistency(_ comm: any Communicator, cells: [SweepCell], mode: DistributionMode) throws {
        var text = try RecordStore.encode(spec)
        text.append(Data(cells.map(\.key.id).joined(separator: ",").utf8))
        text.append(Data("\n\(BuildInfo.versionLine)\n\(mode.rawValue)".utf8))
        var fnv = FNV1a()
        fnv.add(text)
        let h = fnv.value
        let digests = comm.allGather([Double(h >> 32), Double(h & 0xFFFF_FFFF)]).map { UInt64($0[0]) << 32 | UInt64($0[1]) }
        let differing = digests.indices.filter { digests[$0] != digests[0] }
        guard differing.isEmpty else {
            let hex = { (d: UInt64) in String(d, radix: 16) }
            throw DistributedError.inconsistentRanks(
                "rank\(differing.count == 1 ? "" : "s") \(differing.map(String.init).joined(separator: ", ")) resolved a different sweep than rank 0 "
                + "(workload, options, cells, normbench build or mode; digest \(hex(digests[differing[0]])) vs \(hex(digests[0]))); "
                + "start every rank with the same command line, workload file and normbench binary")
        }
    }

    /// Writes `state` as little-endian float32 to `<folder>/<cell id>.f32`.
    func writeFinalState(_ state: [Float], of cell: CellKey, in folder: String) throws {
        let data = state.withUnsafeBufferPointer { Data(buffer: $0) }
        try AtomicFile.write(data, to: OutputPath.resolve("\(cell.id).f32", under: folder))
    }
}

extension CollectiveCost {
    /// Medians over the measured steps of one rank's collective times.
    init(_ c: CollectiveMeasurement) {
        func median(_ xs: [Double]) -> Double { Quantiles.percentile(xs, 0.5) }
        let totals = c.gradientSeconds.indices.map { c.gradientSeconds[$0] + c.syncBNSeconds[$0] + c.statisticsSeconds[$0] }
        self.init(
            gradientAllReduceSecondsMedian: median(c.gradientSeconds), gradientBytesPerStep: c.gradientBytesPerStep,
            syncBNSecondsMedian: median(c.syncBNSeconds), syncBNBytesPerStep: c.syncBNBytesPerStep,
            syncBNCallsPerStep: c.syncBNCallsPerStep, statisticsSecondsMedian: median(c.statisticsSeconds),
            statisticsBytesPerStep: c.statisticsBytesPerStep, totalSecondsMedian: median(totals),
            replicasIdentical: c.replicasIdentical)
    }
}

/// Rank 0's side of a distributed sweep's records: other ranks send each
/// finished record (JSON) with `tag`; this writes each one atomically as it
/// arrives, either on a thread of its own that polls every 20 ms while rank 0
/// trains (`start`), or when rank 0 calls `drain` between its cells.
final class RecordCollector: @unchecked Sendable {
    static let tag = 7
    private let communicator: any Communicator
    private let expected: Int
    private let folder: String
    private let display: ProgressDisplay
    private let lock = NSLock()
    private var received = 0
    private var failure: Error?
    private let done = DispatchSemaphore(value: 0)
    private var running = false

    init(communicator: any Communicator, expected: Int, folder: String, display: ProgressDisplay) {
        self.communicator = communicator
        self.expected = expected
        self.folder = folder
        self.display = display
    }

    /// Starts polling on a thread of its own.
    func start() {
        running = true
        let thread = Thread { [self] in
            while true {
                do {
                    if try drain() { break }
                } catch {
                    lock.withLock { failure = error }
                    break
                }
                usleep(20_000)
            }
            done.signal()
        }
        thread.name = "normbench.records"
        thread.start()
    }

    /// Writes every record that has arrived. Returns whether all expected records are in.
    @discardableResult
    func drain() throws -> Bool {
        while lock.withLock({ received < expected }), let (source, bytes) = communicator.poll(tag: Self.tag) {
            let record: ResultRecord
            do { record = try JSONDecoder().decode(ResultRecord.self, from: Data(bytes)) } catch {
                throw HarnessError.mismatch("rank \(source) sent \(bytes.count) bytes that are not a result record; every rank must run the same normbench build")
            }
            try RecordStore.write(record, in: folder)
            display.finish("\(record.cell.id) from rank \(source)", record)
            lock.withLock { received += 1 }
        }
        return lock.withLock { received >= expected }
    }

    /// Waits until every expected record is written (joining the thread, if any).
    func finish(waiting thread: Bool) throws {
        if thread {
            done.wait()
        } else {
            while try !drain() { usleep(20_000) }
        }
        if let failure = lock.withLock({ failure }) { throw failure }
    }
}

private extension Data {
    var bytes: [UInt8] { [UInt8](self) }
}
