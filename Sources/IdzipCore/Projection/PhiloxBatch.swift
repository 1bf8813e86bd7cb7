/// Philox4x32-10 on `width` counters at once, lane by lane the same operations as
/// `Philox4x32.block`, so the words are identical; SIMD only makes it faster.
///
/// Each 32-bit word sits in the low half of a 64-bit lane (the high half is zero), so
/// the 32 x 32 -> 64-bit products need no conversions.
public enum PhiloxBatch {
    /// Blocks per batch.
    public static let width = BatchLanes<UInt64>.scalarCount

    public typealias Words = (BatchLanes<UInt64>, BatchLanes<UInt64>, BatchLanes<UInt64>, BatchLanes<UInt64>)

    /// Blocks `first ..< first + width` of `stream` (block indices below 2^64 - width).
    @inlinable @inline(__always)
    public static func blocks(_ stream: RandomStream, first: UInt64) -> Words {
        var lanes = BatchLanes<UInt64>(repeating: first)
        for lane in 0..<width { lanes[lane] &+= UInt64(lane) }
        return blocks(
            counter: (
                lanes & 0xFFFF_FFFF,
                lanes &>> 32,
                BatchLanes(repeating: UInt64(stream.substream)),
                BatchLanes(repeating: UInt64(stream.purpose.rawValue))
            ),
            key: (UInt32(truncatingIfNeeded: stream.seed), UInt32(truncatingIfNeeded: stream.seed >> 32)))
    }

    /// Philox4x32-10 of `width` counters (32-bit values in 64-bit lanes) under one key.
    @inlinable @inline(__always)
    public static func blocks(counter: Words, key: (UInt32, UInt32)) -> Words {
        let lowMask = BatchLanes<UInt64>(repeating: 0xFFFF_FFFF)
        var c0 = counter.0 & lowMask, c1 = counter.1 & lowMask
        var c2 = counter.2 & lowMask, c3 = counter.3 & lowMask
        var k0 = key.0, k1 = key.1
        let multiplier0 = BatchLanes<UInt64>(repeating: UInt64(Philox4x32.multiplier0))
        let multiplier1 = BatchLanes<UInt64>(repeating: UInt64(Philox4x32.multiplier1))
        for round in 0..<Philox4x32.rounds {
            if round > 0 {
                k0 &+= Philox4x32.keyBump0
                k1 &+= Philox4x32.keyBump1
            }
            let product0 = (c0 & lowMask) &* multiplier0
            let product1 = (c2 & lowMask) &* multiplier1
            c0 = (product1 &>> 32) ^ c1 ^ BatchLanes(repeating: UInt64(k0))
            c1 = product1 & lowMask
            c2 = (product0 &>> 32) ^ c3 ^ BatchLanes(repeating: UInt64(k1))
            c3 = product0 & lowMask
        }
        return (c0, c1, c2, c3)
    }
}

/// The SIMD vector of one batch: as many lanes as the machine handles well.
public typealias BatchLanes<Scalar: SIMDScalar> = SIMD8<Scalar>
