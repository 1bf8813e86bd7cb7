import IdzipCore

/// Backward pass of ReLU from its output: dX = dY where y > 0, else 0 (in place).
enum ReluGradient {
    static func backwardInPlace(output: UnsafePointer<Float>, gradient: UnsafeMutablePointer<Float>, count: Int, threads: Int) {
        WorkSplit(count: count, grain: 65_536).forEach(threads: threads) { range in
            var i = range.lowerBound
            let zero = SIMD8<Float>(repeating: 0)
            while i + 8 <= range.upperBound {
                let kept = SIMDMemory.load(output + i) .> zero
                SIMDMemory.store(zero.replacing(with: SIMDMemory.load(gradient + i), where: kept), gradient + i)
                i += 8
            }
            while i < range.upperBound {
                gradient[i] = output[i] > 0 ? gradient[i] : 0
                i += 1
            }
        }
    }
}
