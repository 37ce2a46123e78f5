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

    /// The instruction set oneDNN dispatches its kernels for on this machine
    /// (`avx512_core`, `avx2`, ...): the CPU's best, or less when the
    /// `ONEDNN_MAX_CPU_ISA` environment variable caps it.
    public static var oneDNNISA: String {
        let isa = dnnl_get_effective_cpu_isa()
        let names: [(dnnl_cpu_isa_t, String)] = [
            (dnnl_cpu_isa_sse41, "sse41"), (dnnl_cpu_isa_avx, "avx"), (dnnl_cpu_isa_avx2, "avx2"),
            (dnnl_cpu_isa_avx2_vnni, "avx2_vnni"), (dnnl_cpu_isa_avx512_mic, "avx512_mic"),
            (dnnl_cpu_isa_avx512_mic_4ops, "avx512_mic_4ops"), (dnnl_cpu_isa_avx512_core, "avx512_core"),
            (dnnl_cpu_isa_avx512_core_vnni, "avx512_core_vnni"), (dnnl_cpu_isa_avx512_core_bf16, "avx512_core_bf16"),
            (dnnl_cpu_isa_avx512_core_amx, "avx512_core_amx"),
        ]
        return names.first { $0.0 == isa }?.1 ?? "isa 0x\(String(isa.rawValue, radix: 16))"
    }

    /// The CPU's data caches as Linux reports them for CPU 0 ("L1d 32K L2 1024K
    /// L3 32768K"; "unknown" elsewhere). oneDNN sizes its kernels' blocking by
    /// these, so two CPUs with the same ISA can still sum in another order.
    public static var cacheSizes: String {
        let caches = dataCaches.map { "L\($0.level)\($0.unified ? "" : "d") \($0.size)" }
        return caches.isEmpty ? "unknown" : caches.joined(separator: " ")
    }

    /// Bytes of the largest data cache Linux reports for CPU 0 (the last level);
    /// 32 MiB where it reports none.
    public static let lastLevelCacheBytes: Int = {
        let bytes = dataCaches.compactMap { cache -> Int? in
            let unit = cache.size.last.flatMap { ["K": 1 << 10, "M": 1 << 20, "G": 1 << 30][String($0)] } ?? 1
            return Int(unit == 1 ? cache.size : String(cache.size.dropLast())).map { $0 * unit }
        }
        return bytes.max() ?? 32 << 20
    }()

    /// CPU 0's data and unified caches in sysfs order: level, whether unified, size as written ("32768K").
    private static var dataCaches: [(level: String, unified: Bool, size: String)] {
        let root = "/sys/devices/system/cpu/cpu0/cache"
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: root) else { return [] }
        func field(_ dir: String, _ name: String) -> String? {
            (try? String(contentsOfFile: "\(root)/\(dir)/\(name)", encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        return entries.filter { $0.hasPrefix("index") }.sorted().compactMap { dir in
            guard let level = field(dir, "level"), let type = field(dir, "type"), type != "Instruction",
                  let size = field(dir, "size") else { return nil }
            return (level, type != "Data", size)
        }
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
