#if NORMBENCH_MPI
internal import CMPI
import Foundation
import NormBenchEngine

/// The engine's `Communicator` over MPI's world communicator (Open MPI 4.1).
///
/// The only code that calls MPI. Every call goes through `check`, and a lock
/// serializes them (the process initializes with `MPI_THREAD_SERIALIZED`: a
/// distributed sweep's rank 0 receives records on a second thread while its main
/// thread trains). MPI's default error handler stays in force: a failed call or a
/// lost peer aborts the whole job, as a half-finished collective cannot be retried.
public final class MPICommunicator: Communicator, @unchecked Sendable {
    public let rank: Int
    public let size: Int
    public let localRank: Int
    /// Distinct hosts in the job (ranks with local rank 0).
    public let hosts: Int
    /// Whether MPI granted `MPI_THREAD_SERIALIZED` (calls from more than one thread, one at a time).
    public let serializedThreads: Bool
    private let lock = NSLock()
    private var finished = false

    /// Initializes MPI (once per process) and describes this rank.
    public init() {
        var argc = CommandLine.argc
        var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
        var provided: Int32 = 0
        Self.check(MPI_Init_thread(&argc, &argv, nb_mpi_thread_serialized(), &provided), "MPI_Init_thread")
        serializedThreads = provided >= nb_mpi_thread_serialized()
        var r: Int32 = 0, s: Int32 = 0
        Self.check(MPI_Comm_rank(nb_mpi_comm_world(), &r), "MPI_Comm_rank")
        Self.check(MPI_Comm_size(nb_mpi_comm_world(), &s), "MPI_Comm_size")
        rank = Int(r)
        size = Int(s)
        var local: MPI_Comm? = nil
        Self.check(MPI_Comm_split_type(nb_mpi_comm_world(), nb_mpi_comm_type_shared(), r, nb_mpi_info_null(), &local), "MPI_Comm_split_type")
        var lr: Int32 = 0
        Self.check(MPI_Comm_rank(local, &lr), "MPI_Comm_rank(local)")
        Self.check(MPI_Comm_free(&local), "MPI_Comm_free")
        localRank = Int(lr)
        var first: Int32 = lr == 0 ? 1 : 0, count: Int32 = 0
        Self.check(MPI_Allreduce(&first, &count, 1, nb_mpi_int(), nb_mpi_sum(), nb_mpi_comm_world()), "MPI_Allreduce(hosts)")
        hosts = Int(count)
    }

    /// The MPI library's own version line (callable before initialization).
    public static var libraryVersion: String {
        var buffer = [CChar](repeating: 0, count: Int(nb_mpi_max_library_version_string()) + 1)
        var length: Int32 = 0
        guard MPI_Get_library_version(&buffer, &length) == MPI_SUCCESS else { return "unknown" }
        // The length Open MPI reports counts the terminating NUL; stop at the first one.
        let text = String(decoding: buffer.prefix(Int(length)).prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return text.split(separator: "\n").first.map { $0.trimmingCharacters(in: .whitespaces) } ?? "unknown"
    }

    /// Leaves MPI cleanly (every rank must call it); later calls do nothing.
    public func finish() {
        lock.lock(); defer { lock.unlock() }
        guard !finished else { return }
        finished = true
        Self.check(MPI_Finalize(), "MPI_Finalize")
    }

    /// Stops every rank of the job with `code` (for a failure the other ranks cannot see).
    public func abort(code: Int32) -> Never {
        MPI_Abort(nb_mpi_comm_world(), code)
        exit(code)
    }

    public func allReduceSum(_ buffer: UnsafeMutablePointer<Float>, count: Int) {
        locked {
            Self.check(MPI_Allreduce(nb_mpi_in_place(), buffer, Self.int32(count), nb_mpi_float(), nb_mpi_sum(), nb_mpi_comm_world()), "MPI_Allreduce")
        }
    }

    public func allGather(_ local: [Double]) -> [[Double]] {
        locked {
            var mine = Self.int32(local.count)
            var counts = [Int32](repeating: 0, count: size)
            Self.check(MPI_Allgather(&mine, 1, nb_mpi_int(), &counts, 1, nb_mpi_int(), nb_mpi_comm_world()), "MPI_Allgather(counts)")
            var displacements = [Int32](repeating: 0, count: size)
            for r in 1..<max(size, 1) { displacements[r] = displacements[r - 1] + counts[r - 1] }
            let total = Int(displacements[size - 1] + counts[size - 1])
            var all = [Double](repeating: 0, count: total)
            local.withUnsafeBufferPointer { send in
                all.withUnsafeMutableBufferPointer { receive in
                    Self.check(MPI_Allgatherv(send.baseAddress, mine, nb_mpi_double(), receive.baseAddress, counts, displacements,
                                              nb_mpi_double(), nb_mpi_comm_world()), "MPI_Allgatherv")
                }
            }
            return (0..<size).map { r in Array(all[Int(displacements[r])..<Int(displacements[r] + counts[r])]) }
        }
    }

    public func broadcast(_ bytes: [UInt8], root: Int) -> [UInt8] {
        locked {
            var count = Self.int32(bytes.count)
            Self.check(MPI_Bcast(&count, 1, nb_mpi_int(), Int32(root), nb_mpi_comm_world()), "MPI_Bcast(count)")
            var buffer = rank == root ? bytes : [UInt8](repeating: 0, count: Int(count))
            if count > 0 {
                Self.check(MPI_Bcast(&buffer, count, nb_mpi_byte(), Int32(root), nb_mpi_comm_world()), "MPI_Bcast")
            }
            return buffer
        }
    }

    /// A barrier that sleeps while it waits: ranks with nothing left to do (a
    /// distributed sweep's ranks that finished their cells, ranks waiting for
    /// rank 0 to prepare the data) would otherwise spin on a core in
    /// `MPI_Barrier` that the working ranks need. Polls every millisecond.
    public func barrier() {
        var request: MPI_Request? = nil
        locked { Self.check(MPI_Ibarrier(nb_mpi_comm_world(), &request), "MPI_Ibarrier") }
        while true {
            var done: Int32 = 0
            locked { Self.check(MPI_Test(&request, &done, nb_mpi_status_ignore()), "MPI_Test") }
            if done != 0 { return }
            usleep(1000)
        }
    }

    public func send(_ bytes: [UInt8], to destination: Int, tag: Int) {
        locked {
            Self.check(MPI_Send(bytes, Self.int32(bytes.count), nb_mpi_byte(), Int32(destination), Int32(tag), nb_mpi_comm_world()), "MPI_Send")
        }
    }

    public func poll(tag: Int) -> (source: Int, bytes: [UInt8])? {
        locked {
            var flag: Int32 = 0
            var status = MPI_Status()
            Self.check(MPI_Iprobe(nb_mpi_any_source(), Int32(tag), nb_mpi_comm_world(), &flag, &status), "MPI_Iprobe")
            guard flag != 0 else { return nil }
            var count: Int32 = 0
            Self.check(MPI_Get_count(&status, nb_mpi_byte(), &count), "MPI_Get_count")
            var buffer = [UInt8](repeating: 0, count: Int(count))
            Self.check(MPI_Recv(&buffer, count, nb_mpi_byte(), status.MPI_SOURCE, Int32(tag), nb_mpi_comm_world(), nb_mpi_status_ignore()), "MPI_Recv")
            return (Int(status.MPI_SOURCE), buffer)
        }
    }

    private func locked<T>(_ body: () -> T) -> T {
        lock.lock(); defer { lock.unlock() }
        precondition(!finished, "MPICommunicator: used after finish()")
        return body()
    }

    /// The funnel for every MPI return code. With MPI's default handler a failing
    /// call aborts before returning; this catches a library configured otherwise.
    private static func check(_ code: Int32, _ operation: String) {
        guard code != MPI_SUCCESS else { return }
        FileHandle.standardError.write(Data("normbench: \(operation) failed with MPI error \(code); stopping every rank\n".utf8))
        MPI_Abort(nb_mpi_comm_world(), 1)
        exit(1)
    }

    private static func int32(_ count: Int) -> Int32 {
        precondition(count <= Int(Int32.max), "MPICommunicator: \(count) elements exceed MPI's int count")
        return Int32(count)
    }
}
#endif
