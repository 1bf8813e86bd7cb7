/// IEEE-754 binary16 <-> binary32 conversion on bit patterns, written out so that every
/// machine gives the same bits (no dependence on a hardware `Float16`).
package enum HalfFloat {
    /// The exact float32 value of a binary16 bit pattern; subnormals, infinities and NaNs
    /// included (a NaN keeps its sign and payload, shifted into the float32 mantissa).
    package static func float(fromBits half: UInt16) -> Float {
        let sign = UInt32(half & 0x8000) << 16
        let exponent = UInt32(half >> 10) & 0x1F
        let mantissa = UInt32(half & 0x03FF)
        switch exponent {
        case 0x1F:  // infinity or NaN
            return Float(bitPattern: sign | 0x7F80_0000 | mantissa << 13)
        case 0:
            // Zero or subnormal: mantissa * 2^-24, exact in float32.
            let magnitude = Float(mantissa) * 0x1p-24
            return Float(bitPattern: sign | magnitude.bitPattern)
        default:
            // Rebias the exponent from 15 to 127.
            return Float(bitPattern: sign | (exponent + 112) << 23 | mantissa << 13)
        }
    }

    /// The binary16 bit pattern nearest to `value`, ties to even; values beyond the
    /// largest half (65504) round to infinity as IEEE-754 defines, NaN stays NaN.
    package static func bits(from value: Float) -> UInt16 {
        let bits = value.bitPattern
        let sign = UInt16(truncatingIfNeeded: (bits >> 16) & 0x8000)
        let exponent = Int((bits >> 23) & 0xFF)
        let mantissa = bits & 0x007F_FFFF

        if exponent == 0xFF {  // infinity or NaN
            guard mantissa != 0 else { return sign | 0x7C00 }
            // Keep the top payload bits and force a quiet NaN.
            return sign | 0x7E00 | UInt16(truncatingIfNeeded: mantissa >> 13)
        }
        let halfExponent = exponent - 127 + 15
        if halfExponent >= 0x1F {
            return sign | 0x7C00
        }
        if halfExponent >= 1 {
            // Normal half: drop 13 mantissa bits with round-to-nearest-even. A carry out of
            // the mantissa correctly bumps the exponent (up to infinity).
            let truncated = UInt32(halfExponent) << 10 | mantissa >> 13
            let rounded = roundedShift(truncated, droppedBits: mantissa & 0x1FFF, halfway: 0x1000)
            return sign | UInt16(truncatingIfNeeded: rounded)
        }
        // Subnormal half (or zero): the value is significand * 2^(exponent - 150), and the
        // result is that divided by 2^-24, i.e. significand >> (126 - exponent).
        guard exponent != 0 else { return sign }  // float32 subnormals are far below half's
        let significand = mantissa | 0x0080_0000
        let shift = 126 - exponent  // >= 14
        guard shift <= 24 else { return sign }  // below half the smallest subnormal
        let dropMask = (UInt32(1) << shift) - 1
        let rounded = roundedShift(significand >> shift, droppedBits: significand & dropMask, halfway: UInt32(1) << (shift - 1))
        return sign | UInt16(truncatingIfNeeded: rounded)
    }

    /// `kept` rounded to nearest, ties to even, given the dropped low bits.
    private static func roundedShift(_ kept: UInt32, droppedBits: UInt32, halfway: UInt32) -> UInt32 {
        if droppedBits > halfway || (droppedBits == halfway && kept & 1 == 1) {
            return kept + 1
        }
        return kept
    }
}
