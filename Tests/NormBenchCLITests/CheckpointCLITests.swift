import Foundation
import Testing
import NormBenchTestSupport

/// `normbench run --save-model` and `model.init` as a built binary, on a tiny
/// workload (16×16 clips, 4 steps).
@Suite(.serialized) struct CheckpointCLITests {
    static func workload(name: String, cache: String, norms: String, model: String = "{widths: [4, 8, 8]}", classes: Int = 2) -> String {
        """
        name: \(name)
        data:
          cache: \(cache)
          synthetic: {trainClips: 8, evalClips: 4, classes: \(classes), frames: 6, width: 16, height: 16}
        clip: {frames: 2, stride: 2, size: 16}
        model: \(model)
        training: {steps: 4, warmupSteps: 0, baseLR: 0.05, referenceBatch: 2}
        sweep: {norms: \(norms), batches: [2], groups: [2], seeds: [0], threads: [1]}
        """
    }

    let folder: String

    init() throws {
        folder = scratchDirectory("ckpt-cli")
    }

    func write(_ text: String, _ name: String) throws -> String {
        let path = "\(folder)/\(name)"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func record(_ path: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any])
    }

    /// `sha256sum` of a file (coreutils), to check the record against a tool outside normbench.
    func sha256sum(_ path: String) throws -> String {
        let r = try BuiltBinary.runProcess("/usr/bin/env", ["sha256sum", path])
        return String(r.stdout.prefix(64))
    }

    /// The Python (with safetensors and numpy) to cross-check with: `$NORMBENCH_TEST_PYTHON` or `python3`; nil when it lacks them.
    static func pythonWithSafetensors() -> String? {
        let python = ProcessInfo.processInfo.environment["NORMBENCH_TEST_PYTHON"] ?? "python3"
        guard let r = try? BuiltBinary.runProcess("/usr/bin/env", [python, "-c", "import safetensors, numpy"]), r.status == 0 else { return nil }
        return python
    }

    @Test func saveModelWritesTheFileAndTheRecordNamesIt() throws {
        let pre = try write(Self.workload(name: "pre", cache: "\(folder)/cache", norms: "[bn]"), "pre.yaml")
        let run = "\(folder)/pre-run"
        let r = try BuiltBinary.run(["run", pre, "--out", run, "--save-model"], timeout: 600)
        #expect(r.status == 0, "stderr: \(r.stderr)")
        let model = "\(run)/models/bn_b2_w1_g-_s0_t1.safetensors"
        #expect(FileManager.default.fileExists(atPath: model))
        let rec = try record("\(run)/cells/bn_b2_w1_g-_s0_t1.json")
        let checkpoint = try #require(rec["checkpoint"] as? [String: String])
        #expect(checkpoint["path"] == "models/bn_b2_w1_g-_s0_t1.safetensors")
        #expect(checkpoint["sha256"] == (try sha256sum(model)))
        #expect(try FileManager.default.contentsOfDirectory(atPath: "\(run)/models") == ["bn_b2_w1_g-_s0_t1.safetensors"])

        // Without the flag, no models and no checkpoint section.
        let plain = "\(folder)/plain-run"
        #expect(try BuiltBinary.run(["run", pre, "--out", plain], timeout: 600).status == 0)
        #expect(!FileManager.default.fileExists(atPath: "\(plain)/models"))
        #expect(try record("\(plain)/cells/bn_b2_w1_g-_s0_t1.json")["checkpoint"] == nil)

        // Fine-tune from it by run and cell, BN* and re-estimated BN, with another class count.
        let ft = try write(Self.workload(
            name: "ft", cache: "\(folder)/cache", norms: "[frozenbn, bn]",
            model: "{widths: [4, 8, 8], init: {run: pre-run, cell: bn_b2_w1_g-_s0_t1}}", classes: 3), "ft.yaml")
        let tuned = try BuiltBinary.run(["run", ft, "--out", "\(folder)/ft-run"], timeout: 600)
        #expect(tuned.status == 0, "stderr: \(tuned.stderr)")
        let notes = tuned.stderrLines.filter { $0.contains("head left freshly initialized") }
        #expect(notes.count == 1, "stderr: \(tuned.stderr)")
        #expect(notes.first?.contains("fc.weight [3, 8] (checkpoint [2, 8])") == true)
        for cell in ["frozenbn_b2_w1_g-_s0_t1", "bn_b2_w1_g-_s0_t1"] {
            #expect(try record("\(folder)/ft-run/cells/\(cell).json")["status"] as? String == "completed")
        }

        // A GN model cannot start from a BN checkpoint: exit 2, one line, before any data is made.
        let gn = try BuiltBinary.run(["run", ft, "--out", "\(folder)/gn-run", "--norms", "gn"], timeout: 600)
        #expect(gn.status == 2)
        #expect(gn.stderrLines.count == 1, "stderr: \(gn.stderr)")
        #expect(gn.stderr.contains("pre-run/models/bn_b2_w1_g-_s0_t1.safetensors: cannot start from this checkpoint (model.init): was trained with bn and cannot initialize a gn model"))

        // Python's safetensors reads the file and finds the same numbers.
        guard let python = Self.pythonWithSafetensors() else {
            print("note: python3 with safetensors and numpy not found (set NORMBENCH_TEST_PYTHON); skipped the cross-check with Python")
            return
        }
        let script = """
        import sys, json
        from safetensors.numpy import load_file
        from safetensors import safe_open
        t = load_file(sys.argv[1])
        with safe_open(sys.argv[1], framework="numpy") as f:
            meta = f.metadata()
        w = t["stem.weight"]
        print(json.dumps({"shape": list(w.shape), "dtype": str(w.dtype), "first": [int(v) for v in w.reshape(-1)[:5].view("<u4")],
                          "var": [float(v) for v in t["stem.norm.running_var"]], "norm": meta["norm_method"], "count": len(t)}))
        """
        let py = try BuiltBinary.runProcess("/usr/bin/env", [python, "-c", script, model])
        #expect(py.status == 0, "stderr: \(py.stderr)")
        let seen = try #require(try JSONSerialization.jsonObject(with: Data(py.stdout.utf8)) as? [String: Any])
        #expect(seen["shape"] as? [Int] == [4, 3, 3, 3, 3])
        #expect(seen["dtype"] as? String == "float32")
        #expect(seen["norm"] as? String == "bn")
        #expect(seen["count"] as? Int == 47)
        // The same bits as in the file normbench wrote (Python prints them as uint32).
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: model)))
        let n = (0..<8).reduce(0) { $0 | Int(bytes[$1]) << (8 * $1) }
        let header = try #require(try JSONSerialization.jsonObject(with: Data(bytes[8..<(8 + n)])) as? [String: Any])
        let stem = try #require((header["stem.weight"] as? [String: Any])?["data_offsets"] as? [Int])
        let first = (0..<5).map { i -> Int in
            let p = 8 + n + stem[0] + 4 * i
            return Int(UInt32(bytes[p]) | UInt32(bytes[p + 1]) << 8 | UInt32(bytes[p + 2]) << 16 | UInt32(bytes[p + 3]) << 24)
        }
        #expect(seen["first"] as? [Int] == first)
        #expect(first.contains { $0 != 0 })
    }

    @Test func frozenBNWithoutACheckpointIsRefused() throws {
        let path = try write(Self.workload(name: "frozen", cache: "\(folder)/cache", norms: "[frozenbn]"), "frozen.yaml")
        let r = try BuiltBinary.run(["run", path, "--out", "\(folder)/frozen-run"])
        #expect(r.status == 2)
        #expect(r.stderrLines.count == 1, "stderr: \(r.stderr)")
        #expect(r.stderr.contains("\(path): `sweep.norms` lists frozenbn, whose statistics and affine (BN*) must come from a pretrained checkpoint, but `model.init` is not set"))
        let flag = try write(Self.workload(name: "plain", cache: "\(folder)/cache", norms: "[bn]"), "plain.yaml")
        let viaFlag = try BuiltBinary.run(["run", flag, "--out", "\(folder)/flag-run", "--norms", "frozenbn"])
        #expect(viaFlag.status == 2 && viaFlag.stderr.contains("must come from a pretrained checkpoint"), "stderr: \(viaFlag.stderr)")
        #expect(!FileManager.default.fileExists(atPath: "\(folder)/frozen-run"))
    }
}
