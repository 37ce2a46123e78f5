import ArgumentParser
import Foundation
import NormBenchHarness
import NormBenchWorkloads
#if NORMBENCH_MPI
import NormBenchMPI
#endif

/// How an MPI launcher started this process, read from its environment before
/// MPI is initialized (Open MPI: `OMPI_COMM_WORLD_*`; MPICH and Intel MPI: `PMI_*`).
struct MPILaunch {
    var rank: Int
    var size: Int

    static var current: MPILaunch? {
        let env = ProcessInfo.processInfo.environment
        for (rank, size) in [("OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE"), ("PMI_RANK", "PMI_SIZE")] {
            if let r = env[rank].flatMap(Int.init), let s = env[size].flatMap(Int.init), s >= 1 { return MPILaunch(rank: r, size: s) }
        }
        return nil
    }

    /// Whether this binary was built with NORMBENCH_MPI=1 (the MPI variant).
    static var built: Bool {
        #if NORMBENCH_MPI
        return true
        #else
        return false
        #endif
    }

    /// Misuse of the distribution flags, before any work (exit code 2).
    static func validate(mode: DistributionMode?, bothFlags: Bool, launch: MPILaunch?) throws {
        if bothFlags {
            throw UsageError(message: "--distributed and --distribute-cells exclude each other: pick data-parallel training of every cell (--distributed) or whole cells spread over the ranks (--distribute-cells)")
        }
        guard let mode else {
            if let launch, launch.size > 1 {
                throw UsageError(message: "started by mpirun with \(launch.size) ranks but without --distributed or --distribute-cells: every rank would run the whole sweep and write the same records; add one of them, or run without mpirun")
            }
            return
        }
        let flag = mode == .dataParallel ? "--distributed" : "--distribute-cells"
        guard built else {
            throw UsageError(message: "\(flag) needs the MPI build of normbench; build it with scripts/mpi.sh (installs Open MPI, then NORMBENCH_MPI=1 swift build -c release --scratch-path .build-mpi)")
        }
        guard launch != nil else {
            throw UsageError(message: "\(flag) runs one process per MPI rank; start it with mpirun, e.g. mpirun -np 2 normbench run smoke \(flag)")
        }
    }
}

extension Run {
    /// Runs the sweep as one rank of an MPI job (validated by `MPILaunch.validate`).
    /// Rank 0 prints the progress, the summary and the one-line error for
    /// failures every rank sees; a failure of this rank alone stops the job.
    func runDistributed(spec: WorkloadSpec, options: RunOptions, mode: DistributionMode) throws {
        #if NORMBENCH_MPI
        let rank = MPILaunch.current?.rank ?? 0
        if rank == 0 { StopNotice.install() }
        let comm = MPICommunicator()
        let display = comm.rank == 0 ? progressDisplay : ProgressDisplay(interactive: false, write: { _ in })
        do {
            let result = try SweepRunner(spec: spec, options: options, display: display).runDistributed(DistributedOptions(
                communicator: comm, mode: mode, hosts: comm.hosts, library: MPICommunicator.libraryVersion,
                collectOnThread: comm.serializedThreads))
            comm.finish()
            if let (folder, records) = result { try printSummary(folder: folder, records: records, cache: spec.data.cache) }
        } catch let error as DistributedError {
            // Every rank got here: leave MPI cleanly; rank 0 reports.
            comm.finish()
            if case .inconsistentRanks = error { throw UsageError(error) }
            throw CommandFailure(error)
        } catch {
            // This rank alone failed while the others wait in a collective: stop the job.
            StopNotice.remove()
            printError("normbench run: \(comm.rank == 0 ? "" : "rank \(comm.rank): ")\(error)")
            comm.abort(code: 1)
        }
        #else
        throw ExitCode(2)  // MPILaunch.validate rejected the flags already
        #endif
    }
}

/// Rank 0's last word when mpirun stops the job because another rank died or
/// failed: mpirun sends SIGTERM to the survivors. Records are written
/// atomically, so whatever is on disk is whole.
enum StopNotice {
    nonisolated(unsafe) private static var message: [CChar] = []

    static func install() {
        message = Array("normbench run: stopped: another MPI rank failed or exited (mpirun names it; its own message, if any, is above); records written so far are complete, rerun with --resume to finish\n".utf8CString)
        signal(SIGTERM) { _ in
            StopNotice.message.withUnsafeBufferPointer { p in _ = write(STDERR_FILENO, p.baseAddress, p.count - 1) }
            _exit(1)
        }
    }

    static func remove() { signal(SIGTERM, SIG_DFL) }
}
