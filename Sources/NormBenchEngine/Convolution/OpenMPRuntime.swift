internal import CDNNL
import Foundation

/// oneDNN's OpenMP runtime (libgomp): thread count and wait policy.
///
/// libgomp reads `OMP_WAIT_POLICY` once, when it is loaded, which is before
/// `main` because libdnnl links it. With the default policy its idle threads
/// spin after every convolution and steal the core from the engine's own
/// kernels and from other processes; on this 2-core machine under load a
/// ResNet3D-tiny step took 12× longer than with `passive` (docs/engine.md).
/// So executables call `preferPassiveWaitPolicy()` first thing: it re-executes
/// the process once with the variable set, unless the user set it.
public enum OpenMPRuntime {
    /// The `OMP_WAIT_POLICY` in effect for this process ("(unset)" if none).
    public static var waitPolicy: String {
        ProcessInfo.processInfo.environment["OMP_WAIT_POLICY"] ?? "(unset)"
    }

    /// Re-executes the current process with `OMP_WAIT_POLICY=passive` unless the
    /// variable is already set (by the user or by an earlier call). Returns only
    /// when nothing had to be done or re-executing failed (then the process
    /// continues with libgomp's default policy).
    public static func preferPassiveWaitPolicy() {
        guard getenv("OMP_WAIT_POLICY") == nil else { return }
        setenv("OMP_WAIT_POLICY", "passive", 1)
        let args = CommandLine.arguments
        var cArgs: [UnsafeMutablePointer<CChar>?] = args.map { strdup($0) }
        cArgs.append(nil)
        execv("/proc/self/exe", &cArgs)
        // execv only returns on failure: carry on with the default policy.
        for p in cArgs { free(p) }
    }

    /// OpenMP threads oneDNN will use on the calling thread (after the engine set it).
    public static var maxThreads: Int { Int(nb_omp_get_max_threads()) }
}
