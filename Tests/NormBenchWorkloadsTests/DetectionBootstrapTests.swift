import Dispatch
import Foundation
import Testing
import NormBenchEngine
import NormBenchWorkloads
import NormBenchTestSupport

/// Clips of `frames` images each (image = clip · frames + frame), one box per
/// image, labels alternating over `classes`.
private func truths(clips: Int, frames: Int, classes: Int = 2) -> [B] {
    (0..<(clips * frames)).map { i in
        let x = Double(i % 7) * 8
        return B(image: i, label: i % classes, x0: x, y0: x, x1: x + 12, y1: x + 16)
    }
}

/// A messy set: per image, each truth detected with jitter (sometimes badly),
/// some missed, plus false positives; scores random.
private func messy(clips: Int, frames: Int, perImage: Int, classes: Int, seed: UInt64) -> (detections: [B], truths: [B]) {
    var g = SeededGenerator(seed: seed)
    func u() -> Double { Double(g.next() >> 11) / Double(1 << 53) }
    var dets: [B] = [], gts: [B] = []
    for image in 0..<(clips * frames) {
        for k in 0..<3 {
            let x = u() * 60, y = u() * 60, w = 6 + u() * 20, h = 6 + u() * 20
            let t = B(image: image, label: (image + k) % classes, x0: x, y0: y, x1: x + w, y1: y + h)
            gts.append(t)
            if u() < 0.8 {
                let j = u() * 0.4 * w
                dets.append(B(image: image, label: t.label, x0: x + j, y0: y - j / 2, x1: x + w + j, y1: y + h, score: u()))
            }
        }
        while dets.filter({ $0.image == image }).count < perImage {
            let x = u() * 60, y = u() * 60
            dets.append(B(image: image, label: Int(g.next() % UInt64(classes)), x0: x, y0: y, x1: x + 10, y1: y + 10, score: u() * 0.7))
        }
    }
    return (dets, gts)
}

@Suite struct DetectionBootstrapTests {
    @Test func perfectClipsGiveOneToOne() {
        let t = truths(clips: 20, frames: 2)
        let dets = t.enumerated().map { i, b in var d = b; d.score = 1 - Double(i) / 100; return d }
        let b = DetectionBootstrap(detections: dets, truths: t, clips: 20) { $0 / 2 }
        #expect(b.estimate.mAP50 == 1 && b.estimate.mAP == 1)
        let ci = b.interval(resamples: 200, seed: 1)
        #expect(ci.intervals["mAP50"] == [1, 1] && ci.intervals["mAP"] == [1, 1])
    }

    /// Half the clips detected perfectly, half with no detections: recall 1/2 at
    /// precision 1 in each class, so AP = mAP = 1/2; resampling moves the share of
    /// perfect clips, so the interval brackets 1/2 strictly, and it is the same
    /// for the same seed and different for another.
    /// The interval of a median over evaluations: each resample applies one set of
    /// clip weights to every evaluation and keeps their median. With one perfect
    /// evaluation (1 on every resample), one empty (0) and the half-perfect one in
    /// between, the median is the middle one's value on every resample, so the
    /// interval is exactly its own; three copies of one evaluation give its own too.
    @Test func medianOfEvaluationsIsBootstrappedWithSharedResamples() {
        let t = truths(clips: 40, frames: 2)
        func scored(_ boxes: [B]) -> [B] { boxes.enumerated().map { i, b in var d = b; d.score = 1 - Double(i) / 100; return d } }
        let perfect = DetectionBootstrap(detections: scored(t), truths: t, clips: 40) { $0 / 2 }
        let half = DetectionBootstrap(detections: scored(t.filter { $0.image / 2 < 20 }), truths: t, clips: 40) { $0 / 2 }
        let empty = DetectionBootstrap(detections: [], truths: t, clips: 40) { $0 / 2 }
        let own = half.interval(resamples: 1000, seed: 3)
        #expect(DetectionBootstrap.interval(ofMedian: [perfect, empty, half], resamples: 1000, seed: 3) == own)
        #expect(DetectionBootstrap.interval(ofMedian: [half, half, half], resamples: 1000, seed: 3) == own)
        // Two evaluations: the median is their mean, inside (0.5, 1) on every resample.
        let two = try! #require(DetectionBootstrap.interval(ofMedian: [perfect, half], resamples: 1000, seed: 3).intervals["mAP50"])
        let ownHalf = try! #require(own.intervals["mAP50"])
        #expect(abs(two[0] - (1 + ownHalf[0]) / 2) < 1e-12 && abs(two[1] - (1 + ownHalf[1]) / 2) < 1e-12, "\(two) vs \(ownHalf)")
    }

    @Test func halfPerfectHalfEmptyBracketsTheEstimate() {
        let t = truths(clips: 40, frames: 2)
        let dets = t.filter { $0.image / 2 < 20 }.enumerated().map { i, b in var d = b; d.score = 1 - Double(i) / 100; return d }
        let b = DetectionBootstrap(detections: dets, truths: t, clips: 40) { $0 / 2 }
        #expect(abs(b.estimate.mAP50 - 0.5) < 1e-12 && abs(b.estimate.mAP - 0.5) < 1e-12)
        let ci = b.interval(resamples: 1000, seed: 7)
        let i50 = try! #require(ci.intervals["mAP50"]), iAll = try! #require(ci.intervals["mAP"])
        #expect(i50[0] < 0.5 && 0.5 < i50[1], "\(i50)")
        #expect(abs(iAll[0] - i50[0]) < 1e-12 && abs(iAll[1] - i50[1]) < 1e-12)  // every match is exact: the same at every IoU threshold
        // Binomial share of 40 clips: the 95 % interval is about 0.5 ± 1.96·√(0.25/40) = ±0.155.
        #expect(i50[0] > 0.3 && i50[1] < 0.7, "\(i50)")
        #expect(b.interval(resamples: 1000, seed: 7) == ci)
        #expect(b.interval(resamples: 1000, seed: 8).intervals != ci.intervals)
        #expect(ci.resamples == 1000 && ci.clips == 40 && ci.seed == 7)
    }

    /// The shortcut (flags once, weights per resample) gives what the reference
    /// `DetectionMetrics.summary` gives on the data with each clip copied as often
    /// as it was drawn.
    @Test func weightedResampleEqualsSummaryOnCopiedClips() {
        let clips = 12, frames = 3
        let (dets, gts) = messy(clips: clips, frames: frames, perImage: 6, classes: 3, seed: 5)
        let b = DetectionBootstrap(detections: dets, truths: gts, clips: clips) { $0 / frames }
        let reference = DetectionMetrics.summary(detections: dets, truths: gts)
        #expect(abs(b.estimate.mAP50 - reference.mAP50) < 1e-12 && abs(b.estimate.mAP - reference.mAP) < 1e-12)
        #expect(reference.mAP50 > 0.2 && reference.mAP50 < 0.95, "a set with both hits and misses: \(reference)")
        var g = SeededGenerator(seed: 11)
        for _ in 0..<5 {
            var weights = [Int32](repeating: 0, count: clips)
            for _ in 0..<clips { weights[Int(g.next() % UInt64(clips))] += 1 }
            // Copies in clip order, each copy's images renumbered.
            var cd: [B] = [], ct: [B] = []
            var copy = 0
            for k in 0..<clips {
                for _ in 0..<Int(weights[k]) {
                    func moved(_ x: B) -> B { var y = x; y.image = copy * frames + x.image % frames; return y }
                    cd += dets.filter { $0.image / frames == k }.map(moved)
                    ct += gts.filter { $0.image / frames == k }.map(moved)
                    copy += 1
                }
            }
            let expected = DetectionMetrics.summary(detections: cd, truths: ct)
            let got = b.summary(weights: weights)
            #expect(abs(got.mAP50 - expected.mAP50) < 1e-12 && abs(got.mAP - expected.mAP) < 1e-12, "\(weights): \(got) vs \(expected)")
        }
    }

    /// The shipped video-det evaluation set's size: 128 clips × 8 frames, the
    /// decoder's 20 detections per frame, 3 classes; B = 1000.
    @Test func timingAtTheVideoDetSize() {
        let (dets, gts) = messy(clips: 128, frames: 8, perImage: 20, classes: 3, seed: 3)
        let t0 = DispatchTime.now().uptimeNanoseconds
        let b = DetectionBootstrap(detections: dets, truths: gts, clips: 128) { $0 / 8 }
        let t1 = DispatchTime.now().uptimeNanoseconds
        let ci = b.interval(resamples: 1000, seed: MetricBootstrap.seed(cellSeed: 0))
        let t2 = DispatchTime.now().uptimeNanoseconds
        let small = messy(clips: 6, frames: 2, perImage: 20, classes: 2, seed: 4)
        let t3 = DispatchTime.now().uptimeNanoseconds
        _ = DetectionBootstrap(detections: small.detections, truths: small.truths, clips: 6) { $0 / 2 }.interval(resamples: 1000, seed: 1)
        let t4 = DispatchTime.now().uptimeNanoseconds
        print(String(format: "bootstrap timing: video-det size (%d detections, %d truths): prepare %.3f s, 1000 resamples %.3f s; test size (6 clips × 2 frames): %.4f s",
                     dets.count, gts.count, Double(t1 - t0) / 1e9, Double(t2 - t1) / 1e9, Double(t4 - t3) / 1e9))
        #expect(ci.intervals["mAP50"]!.count == 2)
        #expect(Double(t2 - t0) / 1e9 < 30)
    }
}

@Suite struct LearningCriterionTests {
    @Test func flatCurveFails() throws {
        let flat = [Double](repeating: 2.48, count: 200)
        let note = try #require(LearningCriterion.failure(flat))
        #expect(note.hasPrefix("did not learn: mean training loss over the last 10 of 200 steps is 2.48, 100% of the first 10 steps' 2.48"), "\(note)")
        // Noise of ±5 % around a flat level still fails.
        var g = SeededGenerator(seed: 1)
        let noisy = (0..<400).map { _ in 2.0 * (0.95 + 0.1 * Double(g.nextUniform())) }
        #expect(LearningCriterion.failure(noisy) != nil)
        // A curve that starts high and settles (video-det's failed cell: 23.5 → 2.74) is not flat.
        #expect(LearningCriterion.failure((0..<400).map { 2.74 + 20 * exp(-Double($0) / 5) }) == nil)
    }

    @Test func decreasingCurveCompletes() {
        let decreasing = (0..<300).map { 2.3 * exp(-Double($0) / 200) + 0.2 }
        #expect(LearningCriterion.failure(decreasing) == nil)
        // Just over and just under the line: last/first = 0.91 fails, 0.89 does not.
        func steps(_ last: Double) -> [Double] { [Double](repeating: 1, count: 50) + [Double](repeating: 0.95, count: 50) + [Double](repeating: last, count: 6) }
        #expect(LearningCriterion.ratio(steps(0.91))!.ratio > 0.9 && LearningCriterion.failure(steps(0.91)) != nil)
        #expect(LearningCriterion.failure(steps(0.89)) == nil)
    }

    @Test func shortCurvesAreNotJudged() {
        #expect(LearningCriterion.failure([Double](repeating: 1, count: LearningCriterion.minimumSteps - 1)) == nil)
        #expect(LearningCriterion.failure([Double](repeating: 1, count: LearningCriterion.minimumSteps)) != nil)
    }

    @Test func detectorThatFoundNothingFails() throws {
        let note = try #require(LearningCriterion.detectionFailure(mAP50: 6.8e-8))
        #expect(note.hasPrefix("found no objects: mAP@0.5 is 0% (failed below 1%)"), "\(note)")
        #expect(LearningCriterion.detectionFailure(mAP50: 0.0099) != nil)
        #expect(LearningCriterion.detectionFailure(mAP50: .nan) != nil)
        #expect(LearningCriterion.detectionFailure(mAP50: 0.01) == nil)
        #expect(LearningCriterion.detectionFailure(mAP50: 0.15) == nil)  // a weak detector is a result, not a failure
        #expect(LearningCriterion.detectionFailure(mAP50: nil) == nil)    // classification
    }

    /// Every committed record is judged as its cell actually went: every loss
    /// curve learned, and one detector (video-det, two workers of batch 8, BN)
    /// collapsed to "background everywhere" after its loss fell: only the mAP rule sees it.
    @Test func committedStudiesAllLearned() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Results")
        let files = FileManager.default.enumerator(atPath: root.path)!.compactMap { $0 as? String }.filter { $0.contains("/cells/") && $0.hasSuffix(".json") }
        var judged = 0, highest = 0.0
        for f in files {
            let json = try JSONSerialization.jsonObject(with: Data(contentsOf: root.appendingPathComponent(f))) as! [String: Any]
            guard let training = json["training"] as? [String: Any], let curve = training["lossCurve"] as? [[String: Any]] else { continue }
            let losses = curve.compactMap { $0["loss"] as? Double }
            #expect(LearningCriterion.failure(losses) == nil, "\(f)")
            let mAP50 = (json["accuracy"] as? [String: Any])?["mAP50"] as? Double
            #expect((LearningCriterion.detectionFailure(mAP50: mAP50) != nil) == f.hasSuffix("workers-2/cells/bn_b8_w2_g-_s0_t2.json"), "\(f)")
            highest = max(highest, LearningCriterion.ratio(losses)?.ratio ?? 0)
            judged += 1
        }
        #expect(judged >= 10)  // the committed studies hold at least this many cells
        #expect(highest < LearningCriterion.maximumRatio, "\(highest)")
    }
}

/// A whole detection cell (16×16 clips, 4 steps): the last evaluation's
/// bootstrap is in the measurement, brackets nothing it should not, and the
/// same cell gives the same interval.
@Suite(.serialized) struct DetectionCellBootstrapTests {
    @Test func cellCarriesAReproducibleBootstrap() throws {
        var s = tinySpec(cache: scratchDirectory("data"), task: .detection)
        s.data.synthetic.width = 16
        s.data.synthetic.height = 16
        s.data.synthetic.trainClips = 4
        s.data.synthetic.evalClips = 4
        s.data.synthetic.classes = 2
        s.clip.frames = 2
        s.clip.stride = 1
        s.clip.size = 16
        s.model.widths = [4, 8]
        s.model.blocks = [1, 1]
        s.training.steps = 4
        s.training.warmupSteps = 0
        let (folder, manifest) = try SyntheticDataset.prepare(s)
        let train = try ClipBank.decode(manifest: manifest, folder: folder, split: "train", size: 16, frames: 6)
        let eval = try ClipBank.decode(manifest: manifest, folder: folder, split: "eval", size: 16, frames: 6)
        let cell = CellSettings(norm: try NormalizationSpec(parsing: "gn:groups=2"), batch: 2, workers: 1, seed: 3, threads: 2)
        func run() throws -> CellMeasurement {
            try MemoryLedger.$scoped.withValue(MemoryLedger()) { try CellRun.run(spec: s, cell: cell, train: train, eval: eval) }
        }
        let a = try run(), b = try run()
        let boot = try #require(a.bootstrap)
        #expect(boot.resamples == 1000 && boot.clips == 4 && boot.seed == MetricBootstrap.seed(cellSeed: 3))
        for name in ["mAP50", "mAP"] {
            let ci = try #require(boot.intervals[name])
            #expect(ci.count == 2 && 0 <= ci[0] && ci[0] <= ci[1] && ci[1] <= 1, "\(name): \(ci)")
        }
        #expect(b.bootstrap == a.bootstrap)
    }
}
