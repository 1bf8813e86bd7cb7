/// Philox4x32-10, the counter-based generator of Random123 (Salmon et al., SC 2011).
///
/// A pure function of a 128-bit counter and a 64-bit key: the same inputs give the same
/// four words on every machine, and any block can be computed on its own.
public enum Philox4x32 {
    public static let multiplier0: UInt32 = 0xD251_1F53
    public static let multiplier1: UInt32 = 0xCD9E_8D57
    public static let keyBump0: UInt32 = 0x9E37_79B9
    public static let keyBump1: UInt32 = 0xBB67_AE85
    public static let rounds = 10

    /// One block: four output words for `counter` under `key`.
    @inlinable @inline(__always)
    public static func block(
        counter: (UInt32, UInt32, UInt32, UInt32),
        key: (UInt32, UInt32)
    ) -> (UInt32, UInt32, UInt32, UInt32) {
        var c0 = counter.0, c1 = counter.1, c2 = counter.2, c3 = counter.3
        var k0 = key.0, k1 = key.1
        for round in 0..<rounds {
            if round > 0 {
                k0 &+= keyBump0
                k1 &+= keyBump1
            }
            let product0 = UInt64(multiplier0) &* UInt64(c0)
            let product1 = UInt64(multiplier1) &* UInt64(c2)
            let hi0 = UInt32(truncatingIfNeeded: product0 >> 32)
            let lo0 = UInt32(truncatingIfNeeded: product0)
            let hi1 = UInt32(truncatingIfNeeded: product1 >> 32)
            let lo1 = UInt32(truncatingIfNeeded: product1)
            c0 = hi1 ^ c1 ^ k0
            c1 = lo1
            c2 = hi0 ^ c3 ^ k1
            c3 = lo0
        }
        return (c0, c1, c2, c3)
    }
}
