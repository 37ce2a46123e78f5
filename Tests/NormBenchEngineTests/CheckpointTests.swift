import Foundation
import Testing
import NormBenchEngine

/// safetensors files and the model's tensor names (docs/checkpoints.md).
@Suite struct CheckpointTests {
    static let config = ResNet3DConfig(frames: 2, height: 16, width: 16, widths: [4, 8], depths: [1, 1], classes: 3, seed: 0)

    static func model(_ norm: String, seed: UInt64 = 0) throws -> Sequential {
        var c = config
        c.seed = seed
        return try ResNet3D.classifier(c, normalization: try NormalizationSpec(parsing: norm))
    }

    /// Gives every BN running statistic and every γ, β values no initialization has.
    static func perturb(_ model: Sequential) {
        var g = SeededGenerator(seed: 7)
        for s in ModelCheckpoint.slots(of: model) where !s.tensor.shape.isEmpty && s.tensor.shape.count == 1 {
            for i in 0..<s.tensor.count { s.tensor.data[i] = 0.5 + abs(g.nextNormal()) }
        }
    }

    static func bits(_ model: Sequential) -> [String: [UInt32]] {
        Dictionary(uniqueKeysWithValues: ModelCheckpoint.slots(of: model).map { ($0.name, $0.tensor.array.map(\.bitPattern)) })
    }

    static func u64(_ bytes: [UInt8], at i: Int) -> UInt64 {
        (0..<8).reduce(0) { $0 | UInt64(bytes[i + $1]) << (8 * UInt64($1)) }
    }

    @Test(arguments: ["bn", "gn:groups=2", "frn", "evonorm:groups=2", "none"])
    func writeThenReadIsBitIdentical(norm: String) throws {
        let a = try Self.model(norm, seed: 1)
        Self.perturb(a)
        let path = NSTemporaryDirectory() + "normbench-ckpt-\(UUID().uuidString)/m.safetensors"
        let bytes = try SafeTensors.write(ModelCheckpoint.entries(of: a), metadata: ["norm_method": norm], to: path)
        #expect(try SafeTensors.readBytes(path: path) == bytes)
        let b = try Self.model(norm, seed: 2)
        #expect(Self.bits(a) != Self.bits(b))
        let file = try SafeTensors.read(path: path)
        #expect(file.metadata == ["norm_method": norm])
        let report = try ModelCheckpoint.load(file, into: b)
        #expect(report.freshHead.isEmpty && report.ignoredHead.isEmpty)
        #expect(Self.bits(a) == Self.bits(b))
        #expect(ModelState.values(of: a).map(\.bitPattern) == ModelState.values(of: b).map(\.bitPattern))
        // Same weights, same outputs.
        let x = Tensor(shape: Self.config.inputShape(batch: 2), category: .activations,
                       values: (0..<(2 * 2 * 16 * 16 * 3)).map { Float($0 % 17) / 17 - 0.5 })
        #expect(a.forward(x, mode: .evaluation).array == b.forward(x, mode: .evaluation).array)
        // No temporary file is left next to it.
        let folder = (path as NSString).deletingLastPathComponent
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder) == ["m.safetensors"])
    }

    /// The documented names and layout: the header length, JSON padded to a
    /// multiple of 8, contiguous offsets from 0 to the end of the file, shapes
    /// as the engine holds them.
    @Test func headerFollowsTheDocumentedLayout() throws {
        let model = try Self.model("bn")
        let bytes = SafeTensors.encode(ModelCheckpoint.entries(of: model), metadata: ["task": "classification"])
        let n = Int(Self.u64(bytes, at: 0))
        #expect((8 + n) % 8 == 0)
        let headerText = String(decoding: bytes[8..<(8 + n)], as: UTF8.self)
        #expect(headerText.hasPrefix("{"))
        #expect(headerText.trimmingCharacters(in: .whitespaces).hasSuffix("}"))
        let header = try #require(try JSONSerialization.jsonObject(with: Data(bytes[8..<(8 + n)])) as? [String: Any])
        #expect(header["__metadata__"] as? [String: String] == ["task": "classification"])
        var spans: [(String, [Int], Int, Int)] = []
        for (name, value) in header where name != "__metadata__" {
            let info = try #require(value as? [String: Any])
            #expect(info["dtype"] as? String == "F32")
            let shape = try #require(info["shape"] as? [Int]), offsets = try #require(info["data_offsets"] as? [Int])
            #expect(offsets[1] - offsets[0] == 4 * shape.reduce(1, *), "\(name)")
            spans.append((name, shape, offsets[0], offsets[1]))
        }
        spans.sort { $0.2 < $1.2 }
        var end = 0
        for s in spans {
            #expect(s.2 == end, "\(s.0) starts at \(s.2), expected \(end)")
            end = s.3
        }
        #expect(end == bytes.count - 8 - n)
        let shapes = Dictionary(uniqueKeysWithValues: spans.map { ($0.0, $0.1) })
        let expected: [String: [Int]] = [
            "stem.weight": [4, 3, 3, 3, 3],
            "stem.norm.gamma": [4], "stem.norm.beta": [4], "stem.norm.running_mean": [4], "stem.norm.running_var": [4],
            "stage1.block1.conv1.weight": [4, 3, 3, 3, 4], "stage1.block1.norm1.gamma": [4], "stage1.block1.norm1.beta": [4],
            "stage1.block1.norm1.running_mean": [4], "stage1.block1.norm1.running_var": [4],
            "stage1.block1.conv2.weight": [4, 3, 3, 3, 4], "stage1.block1.norm2.gamma": [4], "stage1.block1.norm2.beta": [4],
            "stage1.block1.norm2.running_mean": [4], "stage1.block1.norm2.running_var": [4],
            "stage2.block1.conv1.weight": [8, 3, 3, 3, 4], "stage2.block1.norm1.gamma": [8], "stage2.block1.norm1.beta": [8],
            "stage2.block1.norm1.running_mean": [8], "stage2.block1.norm1.running_var": [8],
            "stage2.block1.conv2.weight": [8, 3, 3, 3, 8], "stage2.block1.norm2.gamma": [8], "stage2.block1.norm2.beta": [8],
            "stage2.block1.norm2.running_mean": [8], "stage2.block1.norm2.running_var": [8],
            "stage2.block1.shortcut.weight": [8, 1, 1, 1, 4], "stage2.block1.shortcut.norm.gamma": [8],
            "stage2.block1.shortcut.norm.beta": [8], "stage2.block1.shortcut.norm.running_mean": [8],
            "stage2.block1.shortcut.norm.running_var": [8],
            "fc.weight": [3, 8], "fc.bias": [3],
        ]
        #expect(shapes == expected)
        // The data of stem.weight is the engine's buffer, little-endian, in its order.
        // The data starts at a multiple of 8 whatever the header's own length.
        for k in 0..<8 {
            let padded = SafeTensors.encode(ModelCheckpoint.entries(of: model), metadata: ["k": String(repeating: "x", count: k)])
            let length = Int(Self.u64(padded, at: 0))
            #expect((8 + length) % 8 == 0, "metadata of \(k) characters")
            #expect(padded[8 + length - 1] == UInt8(ascii: "}") || padded[8 + length - 1] == 0x20)
            #expect(try SafeTensors.decode(padded).metadata == ["k": String(repeating: "x", count: k)])
        }
        let stem = try #require(spans.first { $0.0 == "stem.weight" })
        let first = UInt32(bytes[8 + n + stem.2]) | UInt32(bytes[8 + n + stem.2 + 1]) << 8
            | UInt32(bytes[8 + n + stem.2 + 2]) << 16 | UInt32(bytes[8 + n + stem.2 + 3]) << 24
        #expect(first == model.parameters[0].value.data[0].bitPattern)
    }

    /// A file built here byte by byte (header keys in another order, metadata
    /// first, no padding) loads into the model by name.
    @Test func handMadeBytesLoad() throws {
        var config = Self.config
        config.widths = [2]
        config.depths = [1]
        config.classes = 2
        let model = try ResNet3D.classifier(config, normalization: try NormalizationSpec(parsing: "gn:groups=1"))
        let tensors: [(String, [Int])] = [
            ("stem.weight", [2, 3, 3, 3, 3]), ("stem.norm.gamma", [2]), ("stem.norm.beta", [2]),
            ("stage1.block1.conv1.weight", [2, 3, 3, 3, 2]), ("stage1.block1.norm1.gamma", [2]), ("stage1.block1.norm1.beta", [2]),
            ("stage1.block1.conv2.weight", [2, 3, 3, 3, 2]), ("stage1.block1.norm2.gamma", [2]), ("stage1.block1.norm2.beta", [2]),
            ("fc.weight", [2, 2]), ("fc.bias", [2]),
        ]
        var entries: [String] = []
        var data: [UInt8] = []
        var expected: [String: [Float]] = [:]
        for (k, (name, shape)) in tensors.enumerated() {
            let count = shape.reduce(1, *)
            let values = (0..<count).map { Float(k) + Float($0) / 1024 }
            expected[name] = values
            let begin = data.count
            for v in values { data += [0, 8, 16, 24].map { UInt8(truncatingIfNeeded: v.bitPattern >> $0) } }
            entries.append("\"\(name)\": {\"shape\": [\(shape.map(String.init).joined(separator: ", "))], \"dtype\": \"F32\", \"data_offsets\": [\(begin), \(data.count)]}")
        }
        let header = "{\"__metadata__\": {\"made\": \"by hand\"}, " + entries.reversed().joined(separator: ", ") + "}"
        let length = UInt64(header.utf8.count)
        let bytes = (0..<8).map { UInt8(truncatingIfNeeded: length >> (8 * UInt64($0))) } + Array(header.utf8) + data
        let file = try SafeTensors.decode(bytes)
        #expect(file.metadata == ["made": "by hand"])
        #expect(file.entries.map(\.name) == tensors.map(\.0))
        _ = try ModelCheckpoint.load(file, into: model)
        let loaded = Dictionary(uniqueKeysWithValues: ModelCheckpoint.slots(of: model).map { ($0.name, $0.tensor.array) })
        #expect(loaded == expected)

        // The smallest file: one tensor.
        let tiny = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}"
        let tinyBytes = (0..<8).map { UInt8(truncatingIfNeeded: UInt64(tiny.utf8.count) >> (8 * UInt64($0))) } + Array(tiny.utf8)
            + [0x00, 0x00, 0x80, 0x3F, 0x00, 0x00, 0x00, 0xC0]
        #expect(try SafeTensors.decode(tinyBytes).entries == [SafeTensors.Entry(name: "a", shape: [2], values: [1, -2])])
    }

    @Test func malformedFilesAreRefused() throws {
        let good = SafeTensors.encode([SafeTensors.Entry(name: "a", shape: [2], values: [1, 2]), SafeTensors.Entry(name: "b", shape: [1], values: [3])], metadata: [:])
        #expect(throws: SafeTensorsError.self) { try SafeTensors.decode(Array(good.dropLast())) }
        #expect(throws: SafeTensorsError.self) { try SafeTensors.decode(Array(good.prefix(5))) }
        func file(_ header: String, dataBytes: Int) -> [UInt8] {
            (0..<8).map { UInt8(truncatingIfNeeded: UInt64(header.utf8.count) >> (8 * UInt64($0))) } + Array(header.utf8) + [UInt8](repeating: 0, count: dataBytes)
        }
        // A gap between tensors, a shape that does not match its bytes, another dtype.
        #expect(throws: SafeTensorsError.self) { try SafeTensors.decode(file("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", dataBytes: 8)) }
        #expect(throws: SafeTensorsError.self) { try SafeTensors.decode(file("{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", dataBytes: 8)) }
        do {
            _ = try SafeTensors.decode(file("{\"a\":{\"dtype\":\"F16\",\"shape\":[4],\"data_offsets\":[0,8]}}", dataBytes: 8))
            Issue.record("F16 was read")
        } catch {
            #expect("\(error)" == "unsupported safetensors content: tensor a has dtype F16; only F32 is read")
        }
    }

    /// A missing name, a wrong shape, an extra tensor: one line naming the first mismatch; nothing copied.
    @Test func mismatchesFailWithOneLine() throws {
        let source = try Self.model("bn", seed: 1)
        let entries = ModelCheckpoint.entries(of: source)
        let target = try Self.model("bn", seed: 2)
        let before = Self.bits(target)
        func message(_ entries: [SafeTensors.Entry]) -> String {
            do {
                _ = try ModelCheckpoint.load(SafeTensors.File(entries: entries, metadata: [:]), into: target)
                return "loaded"
            } catch { return "\(error)" }
        }
        let fix = "load a checkpoint of the same model.widths, model.blocks and normalization family"
        #expect(message(entries.filter { $0.name != "stage1.block1.norm2.running_var" })
                == "the model's BatchNorm statistic stage1.block1.norm2.running_var [4] is not in the checkpoint; \(fix)")
        var reshaped = entries
        let i = try #require(reshaped.firstIndex { $0.name == "stage2.block1.conv1.weight" })
        reshaped[i] = SafeTensors.Entry(name: reshaped[i].name, shape: [4, 3, 3, 3, 8], values: reshaped[i].values)
        #expect(message(reshaped) == "stage2.block1.conv1.weight is [4, 3, 3, 3, 8] in the checkpoint but [8, 3, 3, 3, 4] in the model; \(fix)")
        #expect(message(entries + [SafeTensors.Entry(name: "stage3.block1.conv1.weight", shape: [1], values: [0])])
                == "the checkpoint has stage3.block1.conv1.weight [1], which the model lacks; \(fix)")
        #expect(Self.bits(target) == before)
        // A head of another class count is left fresh; the rest loads.
        var c = Self.config
        c.classes = 5
        let other = try ResNet3D.classifier(c, normalization: try NormalizationSpec(parsing: "bn"))
        let fcBefore = other.parameters.last!.value.array
        let report = try ModelCheckpoint.load(SafeTensors.File(entries: entries, metadata: [:]), into: other)
        #expect(report.freshHead == ["fc.weight", "fc.bias"] && report.ignoredHead.isEmpty)
        #expect(other.parameters.last!.value.array == fcBefore)
        #expect(other.parameters[0].value.array == source.parameters[0].value.array)
    }

    @Test func frozenBatchNormLoadsBatchNormState() throws {
        let bn = try Self.model("bn", seed: 1)
        Self.perturb(bn)
        let frozen = try Self.model("frozenbn", seed: 2)
        _ = try ModelCheckpoint.load(SafeTensors.File(entries: ModelCheckpoint.entries(of: bn), metadata: [:]), into: frozen)
        #expect(Self.bits(frozen) == Self.bits(bn))
        let x = Tensor(shape: Self.config.inputShape(batch: 2), category: .activations,
                       values: (0..<(2 * 2 * 16 * 16 * 3)).map { Float($0 % 13) / 13 - 0.5 })
        // BN* in training mode computes what BN computes in evaluation.
        #expect(frozen.forward(x, mode: .training).array == bn.forward(x, mode: .evaluation).array)
        #expect(ModelCheckpoint.canInitialize(.frozenBatchNorm, from: .syncBatchNorm))
        #expect(!ModelCheckpoint.canInitialize(.batchNorm, from: .groupNorm))
        #expect(!ModelCheckpoint.canInitialize(.groupNorm, from: .groupNormWS))
    }

    @Test func sha256KnownAnswers() {
        #expect(SHA256.hex([]) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(SHA256.hex(Array("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(SHA256.hex(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8))
                == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        #expect(SHA256.hex([UInt8](repeating: 0x61, count: 1_000_000)) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }
}
