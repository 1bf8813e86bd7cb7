/// Multiplication by a diagonal of random signs, done as sign-bit flips (exactly x * +-1
/// for every non-NaN x, zeros included).
///
/// Signs are the bits of 32-bit stream words (bit k mod 32 of word k / 32; set means -1).
/// Eight signs at a time come from one byte through a table of 256 lane masks.
enum SignFlip {
    /// For each byte value, lane i holds 0x8000_0000 if bit i is set.
    static let byteMasks: [SIMD8<UInt32>] = (0..<256).map { byte in
        var mask = SIMD8<UInt32>()
        for lane in 0..<8 where (byte >> lane) & 1 == 1 { mask[lane] = 0x8000_0000 }
        return mask
    }

    /// destination[k] = source[k] * B[k] for k in 0 ..< count. `source` may equal
    /// `destination`.
    static func apply(
        _ signWords: UnsafePointer<UInt32>, from source: UnsafePointer<Float>,
        to destination: UnsafeMutablePointer<Float>, count: Int
    ) {
        byteMasks.withUnsafeBufferPointer { masks in
            var k = 0
            while k + 8 <= count {
                let byte = Int(truncatingIfNeeded: signWords[k >> 5] >> UInt32(k & 31)) & 0xFF
                let bits = UnsafeRawPointer(source + k).loadUnaligned(as: SIMD8<UInt32>.self)
                UnsafeMutableRawPointer(destination + k).storeBytes(of: bits ^ masks[byte], as: SIMD8<UInt32>.self)
                k += 8
            }
            while k < count {
                let bit = (signWords[k >> 5] >> UInt32(k & 31)) & 1
                destination[k] = Float(bitPattern: source[k].bitPattern ^ (bit << 31))
                k += 1
            }
        }
    }
}
