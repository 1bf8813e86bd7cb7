/// A decoded 8-bit image: `height` rows of `width` pixels of `channels` (1: gray, 3: RGB)
/// interleaved bytes, top row first.
public struct InputImage: Sendable, Equatable {
    public var width: Int
    public var height: Int
    public var channels: Int
    public var pixels: [UInt8]

    public init(width: Int, height: Int, channels: Int, pixels: [UInt8]) {
        precondition(width * height * channels == pixels.count, "pixels must hold width x height x channels bytes")
        self.width = width
        self.height = height
        self.channels = channels
        self.pixels = pixels
    }

    /// The image with `channels` (1 or 3). RGB becomes gray with the ITU-R BT.601 luma
    /// weights that PIL's `convert("L")` uses, L = 0.299 R + 0.587 G + 0.114 B (as floats,
    /// not rounded: the result feeds the model's preprocessing; a gray pixel, R = G = B, keeps
    /// its value exactly); gray becomes RGB by copying.
    package func planes(channels target: Int) -> [Float] {
        let count = width * height
        var result = [Float](repeating: 0, count: count * target)
        for i in 0..<count {
            if channels == target {
                for c in 0..<target { result[c * count + i] = Float(pixels[i * channels + c]) }
            } else if channels == 1 {
                for c in 0..<target { result[c * count + i] = Float(pixels[i]) }
            } else {
                let r = pixels[3 * i], g = pixels[3 * i + 1], b = pixels[3 * i + 2]
                result[i] = r == g && g == b ? Float(r) : 0.299 * Float(r) + 0.587 * Float(g) + 0.114 * Float(b)
            }
        }
        return result
    }
}

/// Area resampling (OpenCV's INTER_AREA, a box filter): each output pixel is the mean of the
/// part of the input it covers, every input pixel weighted by the fraction of it inside. It
/// shrinks without skipping thin strokes and enlarges as nearest neighbour with blended
/// borders. The aspect ratio is not kept: the image is stretched to the target.
package enum AreaResize {
    /// `planes` (channels planes of height x width floats) resized to targetHeight x targetWidth.
    package static func resize(
        _ planes: [Float], channels: Int, height: Int, width: Int, targetHeight: Int, targetWidth: Int
    ) -> [Float] {
        if height == targetHeight && width == targetWidth { return planes }
        let rows = weights(from: height, to: targetHeight)
        let columns = weights(from: width, to: targetWidth)
        var result = [Float](repeating: 0, count: channels * targetHeight * targetWidth)
        var horizontal = [Double](repeating: 0, count: height * targetWidth)
        for c in 0..<channels {
            let plane = c * height * width
            for y in 0..<height {
                for (x, taps) in columns.enumerated() {
                    var sum = 0.0
                    for (index, weight) in taps { sum += weight * Double(planes[plane + y * width + index]) }
                    horizontal[y * targetWidth + x] = sum
                }
            }
            for (y, taps) in rows.enumerated() {
                for x in 0..<targetWidth {
                    var sum = 0.0
                    for (index, weight) in taps { sum += weight * horizontal[index * targetWidth + x] }
                    result[c * targetHeight * targetWidth + y * targetWidth + x] = Float(sum)
                }
            }
        }
        return result
    }

    /// For each output index, the input indices it covers and their weights (summing to 1).
    package static func weights(from source: Int, to target: Int) -> [[(Int, Double)]] {
        let scale = Double(source) / Double(target)
        return (0..<target).map { o in
            let start = Double(o) * scale, end = Double(o + 1) * scale
            var taps: [(Int, Double)] = []
            var i = Int(start.rounded(.down))
            while Double(i) < end && i < source {
                let overlap = min(end, Double(i + 1)) - max(start, Double(i))
                if overlap > 1e-12 { taps.append((i, overlap / scale)) }
                i += 1
            }
            return taps
        }
    }
}
