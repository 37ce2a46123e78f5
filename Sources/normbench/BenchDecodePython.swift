import Foundation

/// The Python video loaders users know (PyAV, decord, torchcodec), timed on the
/// same clip and the same outputs as `bench decode`'s normbench rows: every frame
/// scaled to 112×112 RGB, and a 16-frame uniform sample scaled the same way.
/// Each runs in-process in the interpreter the user names (`--python`), timed
/// inside Python (median of the runs after one warm-up), so interpreter start-up
/// is not counted, as normbench's in-process rows do not count its own.
/// None of them is a dependency: a loader that does not import is reported.
enum PythonLoaders {
    static let names = ["PyAV", "decord", "torchcodec"]

    /// One loader's medians, or why it could not run.
    enum Outcome {
        case timed(version: String, full: Double, sample: Double)
        case unavailable(String)
    }

    /// Runs `script` for `loader` on `clip` with `python`.
    static func time(_ loader: String, python: String, clip: String, runs: Int) -> Outcome {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: python)
        p.arguments = ["-c", script, loader, clip, String(runs)]
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        p.standardInput = FileHandle.nullDevice
        do { try p.run() } catch { return .unavailable("\(python) does not run: \(error.localizedDescription)") }
        let stdout = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        let lastError = stderr.split(separator: "\n").last.map(String.init) ?? "exit \(p.terminationStatus)"
        guard p.terminationStatus == 0,
              let line = stdout.split(separator: "\n").last,
              let json = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
              let full = json["full"] as? Double, let sample = json["sample"] as? Double else {
            return .unavailable(p.terminationStatus == 3 ? "not importable (\(lastError))" : "failed: \(lastError)")
        }
        return .timed(version: json["version"] as? String ?? "?", full: full, sample: sample)
    }

    /// argv: loader, clip, runs. Prints one JSON line {version, full, sample} (seconds);
    /// exits 3 when the loader does not import.
    static let script = #"""
import json, statistics, sys, time
loader, path, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
W = H = 112
try:
    if loader == "PyAV":
        import av as lib
    elif loader == "decord":
        import decord as lib
    else:
        import torch, torchcodec as lib
        from torchcodec.decoders import VideoDecoder
except Exception as e:
    print(f"{type(e).__name__}: {e}".splitlines()[0], file=sys.stderr)
    sys.exit(3)

def uniform(n, k=16):
    return [min(n - 1, int((i + 0.5) * n / k)) for i in range(k)]

if loader == "PyAV":
    def frames(keep=None):
        with lib.open(path) as c:
            s = c.streams.video[0]
            s.thread_type = "AUTO"
            out = []
            for i, f in enumerate(c.decode(s)):
                if keep is None or i in keep:
                    out.append(f.reformat(width=W, height=H, format="rgb24").to_ndarray())
            return out
    count = len(frames())
    full = lambda: frames()
    sample = lambda: frames(set(uniform(count)))
elif loader == "decord":
    def reader():
        return lib.VideoReader(path, width=W, height=H, num_threads=0)
    count = len(reader())
    full = lambda: reader().get_batch(list(range(count))).asnumpy()
    sample = lambda: reader().get_batch(uniform(count)).asnumpy()
else:
    def resize(t):
        return torch.nn.functional.interpolate(t.float(), size=(H, W), mode="bilinear", antialias=False).to(torch.uint8)
    count = len(VideoDecoder(path))
    full = lambda: resize(VideoDecoder(path).get_frames_in_range(0, count).data)
    sample = lambda: resize(VideoDecoder(path).get_frames_at(uniform(count)).data)

def median(f):
    f()
    ts = []
    for _ in range(runs):
        t = time.perf_counter(); f(); ts.append(time.perf_counter() - t)
    return statistics.median(ts)

print(json.dumps({"version": getattr(lib, "__version__", "?"), "full": median(full), "sample": median(sample)}))
"""#
}
