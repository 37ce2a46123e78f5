import Foundation
import Testing
import NormBenchTestSupport

/// `run --distributed` / `--distribute-cells` misuse, in any build: exit 2 and
/// one line naming the fix, before any work.
@Suite struct DistributedFlagsCLITests {
    @Test func flagsWithoutMPIOrWithoutMpirunExitTwo() throws {
        for flag in ["--distributed", "--distribute-cells"] {
            let r = try BuiltBinary.run(["run", "smoke", flag, "--out", scratchDirectory("flags")])
            #expect(r.status == 2, "\(flag): status \(r.status)")
            #expect(r.stderrLines.count == 1, "\(flag): \(r.stderr)")
            #if NORMBENCH_MPI
            #expect(r.stderr.hasPrefix("normbench run: \(flag) runs one process per MPI rank; start it with mpirun"), "\(r.stderr)")
            #else
            #expect(r.stderr.hasPrefix("normbench run: \(flag) needs the MPI build of normbench; build it with scripts/mpi.sh"), "\(r.stderr)")
            #endif
        }
        let both = try BuiltBinary.run(["run", "smoke", "--distributed", "--distribute-cells"])
        #expect(both.status == 2 && both.stderr.contains("exclude each other"), "\(both.stderr)")
    }
}
