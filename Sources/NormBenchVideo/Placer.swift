/// Copies a scaled RGB24 image into a clip frame, applying rotation and the crop window.
///
/// Shapes:
///   source: srcHeight rows of `stride` bytes (srcWidth × 3 used), before rotation
///   output: window.height × window.width × 3, after rotation and crop
struct Placer {
    struct Window { var x: Int, y: Int, width: Int, height: Int }
    let srcWidth: Int, srcHeight: Int
    /// Clockwise degrees: 0, 90, 180, 270.
    let rotation: Int
    let window: Window

    func place(_ src: UnsafePointer<UInt8>, stride: Int, into dst: UnsafeMutablePointer<UInt8>) {
        let w = window.width, h = window.height
        if rotation == 0 {
            let rowBytes = w &* 3
            for y in 0..<h {
                let from: Int = (y &+ window.y) &* stride &+ window.x &* 3
                (dst + y &* rowBytes).update(from: src + from, count: rowBytes)
            }
            return
        }
        // Output pixel (y, x) of the rotated image comes from source (sy, sx).
        for y in 0..<h {
            let ry = y &+ window.y
            let row = dst + y &* (w &* 3)
            for x in 0..<w {
                let rx = x &+ window.x
                let sy: Int, sx: Int
                switch rotation {
                case 90: sy = srcHeight &- 1 &- rx; sx = ry
                case 180: sy = srcHeight &- 1 &- ry; sx = srcWidth &- 1 &- rx
                default: sy = rx; sx = srcWidth &- 1 &- ry
                }
                let offset: Int = sy &* stride &+ sx &* 3
                let o: Int = x &* 3
                row[o] = src[offset]
                row[o &+ 1] = src[offset &+ 1]
                row[o &+ 2] = src[offset &+ 2]
            }
        }
    }
}
