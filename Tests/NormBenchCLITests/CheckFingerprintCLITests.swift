import Foundation
import Testing
import NormBenchTestSupport

/// `normbench check` on a CPU whose exact numbers the committed smoke baseline
/// does not know: oneDNN capped to SSE4.1 (`ONEDNN_MAX_CPU_ISA`), below both
/// ISAs the baseline was made on, so the fingerprint is foreign on any x86-64
/// machine. Real training of one smoke cell (BN, batch 8), twice: honest, it
/// passes the statistical comparison; with a deliberately broken gradient it fails.
@Suite(.serialized) struct CheckFingerprintCLITests {
    let folder = scratchDirectory("check-fingerprint")

    /// The committed smoke baseline reduced to one cell, so the test trains one cell.
    func oneCellBaseline(_ id: String) throws -> String {
        let data = try Data(contentsOf: URL(fileURLWithPath: "Results/baseline/smoke.json"))
        var baseline = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let cells = try #require(baseline["cells"] as? [[String: Any]])
        baseline["cells"] = cells.filter { (($0["cell"] as? [String: Any]).map(Self.cellID) ?? "") == id }
        try #require((baseline["cells"] as? [Any])?.count == 1, "the smoke baseline has no cell \(id)")
        let path = "\(folder)/smoke-\(id).json"
        try JSONSerialization.data(withJSONObject: baseline).write(to: URL(fileURLWithPath: path))
        return path
    }

    static func cellID(_ c: [String: Any]) -> String {
        "\(c["norm"]!)_b\(c["batch"]!)_w\(c["workers"]!)_g\(c["groups"]!)_s\(c["seed"]!)_t\(c["threads"]!)"
    }

    func trainAndCheck(_ name: String, environment: [String: String]) throws -> BuiltBinary.Output {
        let baseline = try oneCellBaseline("bn_b8_w1_g-_s0_t2")
        let run = "\(folder)/\(name)"
        let trained = try BuiltBinary.run(["run", "smoke", "--norms", "bn", "--batches", "8", "--out", run], environment: environment, timeout: 600)
        try #require(trained.status == 0, "\(trained.stderr)")
        return try BuiltBinary.run(["check", "--baseline", baseline, run])
    }

    @Test func honestRunOnAForeignFingerprintPasses() throws {
        let check = try trainAndCheck("honest", environment: ["ONEDNN_MAX_CPU_ISA": "SSE41"])
        #expect(check.status == 0, "\(check.stdout)\(check.stderr)")
        let first = check.stdout.split(separator: "\n").first.map(String.init) ?? ""
        #expect(first.contains("isa sse41") && first.contains("is not in the baseline"), "\(first)")
        #expect(check.stdout.contains("seeds×fingerprints"))
        #expect(check.stdout.hasSuffix("PASS\n"))
    }

    @Test func brokenGradientOnAForeignFingerprintFails() throws {
        let check = try trainAndCheck("broken", environment: ["ONEDNN_MAX_CPU_ISA": "SSE41", "NORMBENCH_FAULT_GRADIENT_SCALE": "0.05"])
        #expect(check.status == 1, "\(check.stdout)\(check.stderr)")
        #expect(check.stdout.contains("fault:gradient×0.05"))
        #expect(check.stdout.contains("REGRESSION"))
    }
}
