internal import CDNNL
import Foundation

/// What this binary was built for and what it runs on; recorded with every result.
public enum BuildInfo {
    /// normbench's own version.
    public static let version = "0.1.0"

    /// CPU features the Swift code was compiled for (`-Xcc -march=...` in Package.swift).
    public static var targetFeatures: [String] {
        String(cString: nb_build_target_features()).split(separator: " ").map(String.init)
    }

    /// The configuration this binary was compiled in.
    public static var configuration: String {
        #if DEBUG
        return "debug"
        #else
        return "release"
        #endif
    }

    /// oneDNN's version, as the linked library reports it.
    public static var oneDNNVersion: String {
        guard let v = dnnl_version() else { return "unknown" }
        return "\(v.pointee.major).\(v.pointee.minor).\(v.pointee.patch)"
    }

    /// The CPU model name from /proc/cpuinfo ("unknown" elsewhere).
    public static var cpuModel: String {
        cpuInfoField("model name") ?? "unknown"
    }

    /// The subset of the running CPU's features that matter for these kernels.
    public static var cpuFeatures: [String] {
        let flags = Set((cpuInfoField("flags") ?? "").split(separator: " ").map(String.init))
        return ["sse4_2", "avx", "avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512_vnni"].filter(flags.contains)
    }

    /// Logical CPUs available to this process.
    public static var logicalCPUs: Int { ProcessInfo.processInfo.activeProcessorCount }

    /// One line for `--version`.
    public static var versionLine: String {
        "normbench \(version) (\(configuration), built for: \(targetFeatures.joined(separator: " ")))"
    }

    private static func cpuInfoField(_ name: String) -> String? {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix(name) {
            if let colon = line.firstIndex(of: ":") {
                return line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            }
        }
        return nil
    }
}
