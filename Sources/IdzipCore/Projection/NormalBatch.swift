/// Box-Muller on a batch of Philox blocks at once: lane by lane exactly the operations of
/// `RandomStream.normalPair` (with `PortableMath.log` and `sinCosTwoPi`), so the normals
/// are bit-identical; SIMD and branch-free selects only make it faster.
public enum NormalBatch {
    /// The series coefficients of PortableMath in fixed-size vectors, read once per batch
    /// loop (lanes past the series are unused).
    public struct Coefficients {
        var atanh = SIMD16<Double>()
        var sine = SIMD8<Double>()
        var cosine = SIMD16<Double>()

        public init() {
            for (k, value) in PortableMath.atanhCoefficients.enumerated() { atanh[k] = value }
            for (k, value) in PortableMath.sineCoefficients.enumerated() { sine[k] = value }
            for (k, value) in PortableMath.cosineCoefficients.enumerated() { cosine[k] = value }
        }
    }

    /// Normals 2q and 2q+1 of the stream for the blocks q of `words`.
    @inline(__always)
    public static func normalPairs(
        _ words: PhiloxBatch.Words, _ coefficients: Coefficients = Coefficients()
    ) -> (even: BatchLanes<Double>, odd: BatchLanes<Double>) {
        // u1 = 1 - unitInterval(w1 << 32 | w0), u2 = unitInterval(w3 << 32 | w2).
        let u1 = 1 - unitInterval(high: words.1, low: words.0)
        let u2 = unitInterval(high: words.3, low: words.2)
        let radius = squareRoot(-2 * log(u1, coefficients.atanh))
        let angle = sinCosTwoPi(u2, sine: coefficients.sine, cosine: coefficients.cosine)
        return (radius * angle.cos, radius * angle.sin)
    }

    /// Lane-wise IEEE square root. Not inlined on purpose: inlined, the lane-by-lane
    /// square roots make the optimiser scalarise the whole logarithm before them.
    @inline(never)
    static func squareRoot(_ x: BatchLanes<Double>) -> BatchLanes<Double> {
        var result = x
        for lane in 0..<PhiloxBatch.width { result[lane] = x[lane].squareRoot() }
        return result
    }

    /// Float(normal(n) * scale) for n = first ..< first + output.count: the same values as
    /// `RandomStream.fillNormals` (and, with scale 1, as `Float(stream.normal(n))`, since
    /// multiplying by 1 is exact). Returns the sum of the squares of the written floats,
    /// in Double, in order (0 when `summingSquares` is false).
    @discardableResult
    public static func fillFloatNormals(
        _ stream: RandomStream, first: UInt64, scale: Double = 1, into output: UnsafeMutableBufferPointer<Float>,
        summingSquares: Bool = true
    ) -> Double {
        let count = output.count
        guard count > 0, let base = output.baseAddress else { return 0 }
        var k = 0
        var n = first
        var squaredNorm = 0.0
        @inline(__always) func writeScalar() {
            let value = Float(stream.normal(n) * scale)
            output[k] = value
            let wide = Double(value)
            squaredNorm += wide * wide
            k += 1
            n += 1
        }
        // An odd first position, then whole Box-Muller pairs in the vector kernels (which
        // carry the running sum on in order), then a last single normal.
        if n & 1 == 1 { writeScalar() }
        let pairedCount = (count - k) & ~1
        if pairedCount > 0 {
            if summingSquares {
                RandomKernels.fillFloatNormalPairs(
                    stream, firstBlock: n >> 1, scale: scale, into: base + k, count: pairedCount,
                    squaredNorm: &squaredNorm)
            } else {
                RandomKernels.fillFloatNormalPairs(
                    stream, firstBlock: n >> 1, scale: scale, into: base + k, count: pairedCount, squaredNorm: nil)
            }
            k += pairedCount
            n += UInt64(pairedCount)
        }
        if k < count { writeScalar() }
        return summingSquares ? squaredNorm : 0
    }

    // MARK: Pieces of normalPair

    /// Double of a 32-bit lane, exactly: 2^52 + w read as a double, minus 2^52.
    @inline(__always)
    static func double(_ words: BatchLanes<UInt64>) -> BatchLanes<Double> {
        let biased = words | 0x4330_0000_0000_0000
        return unsafeBitCast(biased, to: BatchLanes<Double>.self) - 0x1p52
    }

    /// unitInterval(high << 32 | low) = Double(bits >> 11) * 2^-53, where the 53-bit
    /// integer is high * 2^21 + (low >> 11), summed exactly.
    @inline(__always)
    static func unitInterval(high: BatchLanes<UInt64>, low: BatchLanes<UInt64>) -> BatchLanes<Double> {
        (double(high) * 0x1p21 + double(low &>> 11)) * 0x1p-53
    }

    /// PortableMath.log for arguments in [2^-53, 1] (normal numbers, so no subnormal step).
    @inline(__always)
    static func log(_ x: BatchLanes<Double>, _ coefficients: SIMD16<Double>) -> BatchLanes<Double> {
        let bits = unsafeBitCast(x, to: BatchLanes<UInt64>.self)
        var mantissaBits = (bits & 0x000F_FFFF_FFFF_FFFF) | 0x3FF0_0000_0000_0000
        // 1 where mantissa > sqrt(2) (positive doubles order like their bit patterns):
        // then halve the mantissa (exactly: one less in its exponent field) and add 1 to
        // the exponent.
        let halve = (BatchLanes<UInt64>(repeating: PortableMath.sqrt2.bitPattern) &- mantissaBits) &>> 63
        mantissaBits &-= halve &<< 52
        let exponent = (double((bits &>> 52) & 0x7FF) - 1023) + double(halve)
        let mantissa = unsafeBitCast(mantissaBits, to: BatchLanes<Double>.self)
        let s = (mantissa - 1) / (mantissa + 1)
        let z = s * s
        var series = BatchLanes<Double>(repeating: coefficients[9])
        for k in stride(from: 8, through: 0, by: -1) {
            series = series * z + coefficients[k]
        }
        let logMantissa = 2 * s + 2 * s * (z * series)
        return exponent * PortableMath.ln2Hi + (exponent * PortableMath.ln2Lo + logMantissa)
    }

    /// PortableMath.sinCosTwoPi for t in [0, 1).
    @inline(__always)
    static func sinCosTwoPi(
        _ t: BatchLanes<Double>, sine sines: SIMD8<Double>, cosine cosines: SIMD16<Double>
    ) -> (sin: BatchLanes<Double>, cos: BatchLanes<Double>) {
        let fourT = t * 4
        // Round to nearest even: 0 <= 4t < 4, so 4t + 2^52 has unit spacing; its low bits
        // are the quadrant.
        let shifted = fourT + 0x1p52
        let quadrant = shifted - 0x1p52
        let quadrantBits = unsafeBitCast(shifted, to: BatchLanes<UInt64>.self) & 3
        let angle = (fourT - quadrant) * PortableMath.halfPi
        let a2 = angle * angle
        var sinSeries = BatchLanes<Double>(repeating: sines[7])
        for k in stride(from: 6, through: 0, by: -1) {
            sinSeries = sinSeries * a2 + sines[k]
        }
        let sinA = angle + angle * (a2 * sinSeries)
        var cosSeries = BatchLanes<Double>(repeating: cosines[8])
        for k in stride(from: 7, through: 0, by: -1) {
            cosSeries = cosSeries * a2 + cosines[k]
        }
        let cosA = 1 + a2 * cosSeries
        // Quadrant 0: (sinA, cosA); 1: (cosA, -sinA); 2: (-sinA, -cosA); 3: (-cosA, sinA).
        let sinBits = unsafeBitCast(sinA, to: BatchLanes<UInt64>.self)
        let cosBits = unsafeBitCast(cosA, to: BatchLanes<UInt64>.self)
        let odd = BatchLanes<UInt64>() &- (quadrantBits & 1)  // all ones in odd quadrants
        let sine = (sinBits & ~odd) | (cosBits & odd)
        let cosine = (cosBits & ~odd) | (sinBits & odd)
        let sineFlip = (quadrantBits &>> 1) &<< 63
        let cosineFlip = ((quadrantBits ^ (quadrantBits &>> 1)) & 1) &<< 63
        return (
            unsafeBitCast(sine ^ sineFlip, to: BatchLanes<Double>.self),
            unsafeBitCast(cosine ^ cosineFlip, to: BatchLanes<Double>.self)
        )
    }
}
