import Testing
import NormBenchWorkloads

@Suite struct SyntheticRendererTests {
    let renderer = SyntheticRenderer(width: 40, height: 32, frames: 6, classes: 4, distractors: 2, noise: 8, objects: 3, seed: 7)

    @Test func sameSeedSameBytes() {
        let a = renderer.classificationClip(5, split: .train)
        let b = renderer.classificationClip(5, split: .train)
        #expect(a.rgb == b.rgb)
        #expect(a.rgb.count == 6 * 32 * 40 * 3)
        #expect(a.label == 5 % 4)
    }

    @Test func clipsDifferByIndexSplitAndSeed() {
        let a = renderer.classificationClip(1, split: .train).rgb
        #expect(a != renderer.classificationClip(5, split: .train).rgb)
        #expect(a != renderer.classificationClip(1, split: .eval).rgb)
        let other = SyntheticRenderer(width: 40, height: 32, frames: 6, classes: 4, distractors: 2, noise: 8, objects: 3, seed: 8)
        #expect(a != other.classificationClip(1, split: .train).rgb)
    }

    @Test func stationaryTargetsLeaveTheOtherClipsAsTheyWere() {
        let still = SyntheticRenderer(width: 40, height: 32, frames: 6, classes: 4, distractors: 2, noise: 8, stationary: 0.3, objects: 3, seed: 7)
        var changed = 0
        for i in 0..<200 {
            let a = renderer.classificationClip(i, split: .eval), b = still.classificationClip(i, split: .eval)
            #expect(a.label == b.label)
            if a.rgb != b.rgb { changed += 1 }
        }
        // 200 draws at p = 0.3: 60 expected, sd 6.5.
        #expect((35...85).contains(changed), "\(changed) of 200 clips stationary at 0.3")
    }

    /// `isStationary` is the draw the clip is rendered with: a clip renders as with
    /// every target still when it says so, else as with every target moving; without
    /// noise or distractors a still target leaves the frames nearly alike, a moving one does not.
    @Test func stationaryQueryAgreesWithTheRenderedMotion() {
        func make(_ p: Double) -> SyntheticRenderer {
            SyntheticRenderer(width: 40, height: 32, frames: 6, classes: 4, distractors: 0, noise: 0, stationary: p, objects: 3, seed: 7)
        }
        let some = make(0.4), none = make(0), all = make(1)
        let frame = 32 * 40 * 3
        var still = 0
        for i in 0..<40 {
            let stationary = some.isStationary(i, split: .eval)
            #expect(!none.isStationary(i, split: .eval) && all.isStationary(i, split: .eval))
            let clip = some.classificationClip(i, split: .eval).rgb
            #expect(clip == (stationary ? all : none).classificationClip(i, split: .eval).rgb, "clip \(i)")
            // Pixels that change by more than the background's drift between the first and the last frame.
            let changed = (0..<frame).filter { abs(Int(clip[$0]) - Int(clip[5 * frame + $0])) > 40 }.count
            #expect(stationary ? changed == 0 : changed > 20, "clip \(i): stationary \(stationary), \(changed) bytes changed")
            if stationary { still += 1 }
        }
        #expect((6...26).contains(still), "\(still) of 40 clips stationary at 0.4")
        // The train split draws apart from the eval split.
        #expect((0..<40).map { some.isStationary($0, split: .train) } != (0..<40).map { some.isStationary($0, split: .eval) })
    }

    @Test func detectionBoxesStayInFrameAndFollowObjects() {
        let clip = renderer.detectionClip(3, split: .eval)
        #expect(clip.boxes.count == 6)
        for frame in clip.boxes {
            #expect(frame.count == 3)
            for b in frame {
                #expect(b.x0 >= -1e-9 && b.y0 >= -1e-9 && b.x1 <= 40 + 1e-9 && b.y1 <= 32 + 1e-9, "box \(b) leaves the 40x32 frame")
                #expect((0..<4).contains(b.label))
            }
        }
        // Objects move: some box changes between the first and last frame.
        #expect(clip.boxes.first != clip.boxes.last)
    }
}
