import IdzipCore

/// Backward pass of ReLU from its output: dX = dY where y > 0, else 0 (in place).
enum ReluGradient {
    static func backwardInPlace(output: UnsafePointer<Float>, gradient: UnsafeMutablePointer<Float>, count: Int, threads: Int) {
        WorkSplit(count: count, grain: 65_536).forEach(threads: threads) { range in
            for i in range { gradient[i] = output[i] > 0 ? gradient[i] : 0 }
        }
    }
}
