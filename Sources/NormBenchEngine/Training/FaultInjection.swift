import Foundation

/// Deliberate faults, for testing that `normbench check` catches a broken
/// kernel on a CPU whose exact numbers the baseline does not know. Off unless
/// the environment sets them; a run with a fault says so in its numerics
/// fingerprint (`NumericsFingerprint.build`), so it can never pass as exact.
public enum FaultInjection {
    /// `NORMBENCH_FAULT_GRADIENT_SCALE=0.1`: every gradient is multiplied by this
    /// before the optimizer step, as a weight-gradient kernel off by a factor would.
    public static let gradientScale: Float? = ProcessInfo.processInfo.environment["NORMBENCH_FAULT_GRADIENT_SCALE"].flatMap(Float.init)

    /// "gradient×0.1", or nil when no fault is set.
    public static var description: String? {
        gradientScale.map { "gradient×\($0)" }
    }
}
