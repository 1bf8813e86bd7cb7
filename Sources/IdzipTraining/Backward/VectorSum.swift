/// Sums in a fixed order with 16 lanes, so the result is the same on every run.
enum VectorSum {
    @inline(__always)
    static func sum(_ values: UnsafePointer<Float>, count: Int) -> Float {
        var lanes = SIMD16<Float>(repeating: 0)
        let raw = UnsafeRawPointer(values)
        var i = 0
        while i + 16 <= count {
            lanes += raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self)
            i += 16
        }
        var total = lanes.sum()
        while i < count {
            total += values[i]
            i += 1
        }
        return total
    }
}
