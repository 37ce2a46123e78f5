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
