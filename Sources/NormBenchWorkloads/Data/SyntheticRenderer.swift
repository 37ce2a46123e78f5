import Foundation
import NormBenchEngine

/// Renders the synthetic data sets: moving shapes on textured, noisy backgrounds.
///
/// Classification: one target shape per clip; the class is (shape, direction of
/// horizontal motion), so one frame shows the shape but not the class, and the
/// model needs time. Distractors are smaller shapes moving vertically; they
/// carry no label. Detection: several objects per clip, class = shape, each
/// moving in any direction and bouncing off the borders, with a box per frame.
///
/// Every clip is rendered from its own generator, seeded by (seed, split,
/// index): the same settings give byte-identical frames in any order.
public struct SyntheticRenderer: Sendable {
    public enum Split: String, Sendable { case train, eval }

    /// The shapes, in class order.
    public static let shapes = ["disk", "square", "triangle", "cross", "ring", "diamond"]

    public let width: Int
    public let height: Int
    public let frames: Int
    public let classes: Int
    public let distractors: Int
    public let noise: Double
    /// Fraction of classification clips whose target stands still (`SyntheticSpec.stationary`).
    public let stationary: Double
    public let objects: Int
    public let seed: UInt64

    public init(
        width: Int, height: Int, frames: Int, classes: Int, distractors: Int, noise: Double, stationary: Double = 0,
        objects: Int, seed: UInt64
    ) {
        precondition(classes <= Self.maxClassificationClasses, "SyntheticRenderer: \(classes) classes, at most \(Self.maxClassificationClasses) (shapes × directions)")
        self.width = width
        self.height = height
        self.frames = frames
        self.classes = classes
        self.distractors = distractors
        self.noise = noise
        self.stationary = stationary
        self.objects = objects
        self.seed = seed
    }

    /// The renderer of a workload's synthetic data set (`data.synthetic`).
    public init(spec s: SyntheticSpec) {
        self.init(
            width: s.width, height: s.height, frames: s.frames, classes: s.classes, distractors: s.distractors,
            noise: s.noise, stationary: s.stationary ?? 0, objects: s.objects, seed: UInt64(s.seed))
    }

    /// Largest class count for classification: every shape in both directions.
    public static var maxClassificationClasses: Int { shapes.count * 2 }

    /// One rendered clip: RGB24 frames (T×H×W×3) and its labels.
    public struct Clip: Sendable {
        public var rgb: [UInt8]
        /// Class of the clip (classification); -1 for detection clips.
        public var label: Int
        /// Per frame, the objects' boxes (detection); empty for classification.
        public var boxes: [[Box]]
    }

    /// An axis-aligned box in pixels of the rendered video, with its class.
    public struct Box: Codable, Sendable, Equatable {
        public var x0, y0, x1, y1: Double
        public var label: Int

        public init(x0: Double, y0: Double, x1: Double, y1: Double, label: Int) {
            self.x0 = x0
            self.y0 = y0
            self.x1 = x1
            self.y1 = y1
            self.label = label
        }
    }

    /// A moving shape: where it is at frame 0 and how it moves.
    private struct Sprite {
        var shape: Int
        var radius: Double
        var x, y, vx, vy: Double
        var color: (Double, Double, Double)
        var bounce: Bool

        func position(at t: Int, width: Int, height: Int) -> (Double, Double) {
            var px = x + vx * Double(t)
            var py = y + vy * Double(t)
            if bounce {
                px = Self.reflect(px, lo: radius, hi: Double(width) - radius)
                py = Self.reflect(py, lo: radius, hi: Double(height) - radius)
            }
            return (px, py)
        }

        private static func reflect(_ v: Double, lo: Double, hi: Double) -> Double {
            let span = hi - lo
            guard span > 0 else { return lo }
            var u = (v - lo).truncatingRemainder(dividingBy: 2 * span)
            if u < 0 { u += 2 * span }
            return lo + (u <= span ? u : 2 * span - u)
        }
    }

    /// Renders classification clip `index` of `split`; its class is `index % classes`,
    /// so every class is equally frequent. A `stationary` fraction of clips,
    /// chosen by a draw of its own (so the other clips render exactly as with
    /// none), has a target that stands still anywhere in the frame: its shape
    /// shows, its direction does not.
    public func classificationClip(_ index: Int, split: Split) -> Clip {
        var g = generator(index, split)
        let label = index % classes
        let shape = label / 2
        let moving = !isStationary(index, split: split)
        let direction: Double = label % 2 == 0 ? 1 : -1
        let minSide = Double(min(width, height))
        let radius = minSide * g.uniform(0.12, 0.2)
        let speed = minSide * g.uniform(0.5, 0.9) / Double(max(frames - 1, 1))
        let travel = moving ? speed * Double(frames - 1) : 0
        let x0 = direction > 0 || !moving
            ? g.uniform(radius, max(radius, Double(width) - radius - travel))
            : g.uniform(min(Double(width) - radius, radius + travel), Double(width) - radius)
        let y0 = g.uniform(radius, Double(height) - radius)
        let drift = g.uniform(-0.15, 0.15) * speed
        var sprites = [Sprite(
            shape: shape, radius: radius, x: x0, y: y0,
            vx: moving ? direction * speed : 0, vy: moving ? drift : 0, color: g.color(), bounce: false)]
        for _ in 0..<distractors {
            let r = minSide * g.uniform(0.05, 0.09)
            sprites.append(Sprite(
                shape: g.int(Self.shapes.count), radius: r, x: g.uniform(r, Double(width) - r), y: g.uniform(r, Double(height) - r),
                vx: 0, vy: (g.uniform(0, 1) < 0.5 ? -1 : 1) * speed * g.uniform(0.5, 1.5), color: g.color(), bounce: true))
        }
        // Draw distractors under the target.
        sprites = Array(sprites.dropFirst()) + [sprites[0]]
        return Clip(rgb: render(sprites, &g), label: label, boxes: [])
    }

    /// Does the target of classification clip `index` of `split` stand still?
    /// The draw `classificationClip` makes (a generator of its own per clip), without
    /// rendering: about a `stationary` fraction of the clips, decided clip by clip.
    public func isStationary(_ index: Int, split: Split) -> Bool {
        guard stationary > 0 else { return false }
        var still = generator(index, split, stream: 0x57A7)
        return still.uniform(0, 1) < stationary
    }

    /// Renders detection clip `index` of `split`: `objects` shapes, class = shape.
    public func detectionClip(_ index: Int, split: Split) -> Clip {
        var g = generator(index, split)
        let minSide = Double(min(width, height))
        var sprites: [Sprite] = []
        for _ in 0..<objects {
            let r = minSide * g.uniform(0.08, 0.16)
            let angle = g.uniform(0, 2 * Double.pi)
            let speed = minSide * g.uniform(0.2, 0.6) / Double(max(frames - 1, 1))
            sprites.append(Sprite(
                shape: g.int(classes), radius: r, x: g.uniform(r, Double(width) - r), y: g.uniform(r, Double(height) - r),
                vx: speed * cos(angle), vy: speed * sin(angle), color: g.color(), bounce: true))
        }
        let boxes = (0..<frames).map { t in
            sprites.map { s -> Box in
                let (px, py) = s.position(at: t, width: width, height: height)
                return Box(x0: px - s.radius, y0: py - s.radius, x1: px + s.radius, y1: py + s.radius, label: s.shape)
            }
        }
        return Clip(rgb: render(sprites, &g), label: -1, boxes: boxes)
    }

    private func generator(_ index: Int, _ split: Split, stream: UInt64 = 0) -> SeededGenerator {
        var mix = SeededGenerator(seed: (seed &* 0x9E37_79B9 &+ UInt64(index) &* 2 &+ (split == .train ? 0 : 1)) ^ (stream &* 0xA24B_AED4_963E_E407))
        return SeededGenerator(seed: mix.next())
    }

    /// Frames: background texture, sprites with 2×2 supersampled edges, pixel noise.
    private func render(_ sprites: [Sprite], _ g: inout SeededGenerator) -> [UInt8] {
        let background = Background(&g)
        var rgb = [UInt8](repeating: 0, count: frames * height * width * 3)
        let offsets = [(0.25, 0.25), (0.75, 0.25), (0.25, 0.75), (0.75, 0.75)]
        for t in 0..<frames {
            let placed = sprites.map { s in (s, s.position(at: t, width: width, height: height)) }
            for y in 0..<height {
                for x in 0..<width {
                    var c = background.color(Double(x), Double(y), Double(t))
                    for (s, (px, py)) in placed {
                        guard abs(Double(x) + 0.5 - px) <= s.radius + 1, abs(Double(y) + 0.5 - py) <= s.radius + 1 else { continue }
                        var cover = 0.0
                        for (ox, oy) in offsets where Self.inside(s.shape, (Double(x) + ox - px) / s.radius, (Double(y) + oy - py) / s.radius) {
                            cover += 0.25
                        }
                        c.0 += cover * (s.color.0 - c.0)
                        c.1 += cover * (s.color.1 - c.1)
                        c.2 += cover * (s.color.2 - c.2)
                    }
                    let i = ((t * height + y) * width + x) * 3
                    rgb[i] = Self.byte(c.0 + noise * Double(g.nextNormal()))
                    rgb[i + 1] = Self.byte(c.1 + noise * Double(g.nextNormal()))
                    rgb[i + 2] = Self.byte(c.2 + noise * Double(g.nextNormal()))
                }
            }
        }
        return rgb
    }

    /// Is the point (u, v), in units of the shape's radius from its centre, inside `shape`?
    static func inside(_ shape: Int, _ u: Double, _ v: Double) -> Bool {
        switch shape % shapes.count {
        case 0: return u * u + v * v <= 1
        case 1: return max(abs(u), abs(v)) <= 0.85
        case 2: return v <= 0.8 && v >= -0.9 + 2 * abs(u) * 0.95
        case 3: return (abs(u) <= 0.33 && abs(v) <= 1) || (abs(v) <= 0.33 && abs(u) <= 1)
        case 4: let d = u * u + v * v; return d <= 1 && d >= 0.35
        default: return abs(u) + abs(v) <= 1
        }
    }

    private static func byte(_ v: Double) -> UInt8 { UInt8(max(0, min(255, v.rounded()))) }
}

/// A smooth, slowly drifting colour texture: a base colour plus two plane waves.
private struct Background {
    var base: (Double, Double, Double)
    var waves: [(kx: Double, ky: Double, kt: Double, phase: Double, amp: (Double, Double, Double))]

    init(_ g: inout SeededGenerator) {
        base = (g.uniform(60, 190), g.uniform(60, 190), g.uniform(60, 190))
        waves = (0..<2).map { _ in
            (g.uniform(-0.3, 0.3), g.uniform(-0.3, 0.3), g.uniform(-0.1, 0.1), g.uniform(0, 6.28),
             (g.uniform(5, 25), g.uniform(5, 25), g.uniform(5, 25)))
        }
    }

    func color(_ x: Double, _ y: Double, _ t: Double) -> (Double, Double, Double) {
        var c = base
        for w in waves {
            let s = sin(w.kx * x + w.ky * y + w.kt * t + w.phase)
            c.0 += w.amp.0 * s
            c.1 += w.amp.1 * s
            c.2 += w.amp.2 * s
        }
        return c
    }
}

extension SeededGenerator {
    mutating func uniform(_ lo: Double, _ hi: Double) -> Double {
        lo + (hi - lo) * Double(next() >> 11) * (1.0 / Double(1 << 53))
    }

    mutating func int(_ n: Int) -> Int { Int(next() % UInt64(n)) }

    /// A saturated colour far enough from mid-grey to stand out from the background.
    mutating func color() -> (Double, Double, Double) {
        let hue = uniform(0, 6)
        let i = Int(hue), f = hue - Double(i)
        let (a, b): (Double, Double) = (230, 30)
        let rise = b + (a - b) * f, fall = a - (a - b) * f
        switch i {
        case 0: return (a, rise, b)
        case 1: return (fall, a, b)
        case 2: return (b, a, rise)
        case 3: return (b, fall, a)
        case 4: return (rise, b, a)
        default: return (a, b, fall)
        }
    }
}
