/// Elementary functions built from IEEE-754 `+ - * / sqrt` and integer operations only,
/// each in one fixed order of operations, so that they give the same bits on every
/// machine. libm's `log`, `sin` and `cos` are not correctly rounded and differ between
/// platforms and versions; the random number generators never call them.
public enum PortableMath {
    // ln 2 split so that `e * ln2Hi` is exact for |e| < 2^11 (the fdlibm constants).
    @usableFromInline static let ln2Hi = Double(bitPattern: 0x3FE6_2E42_FEE0_0000)
    @usableFromInline static let ln2Lo = Double(bitPattern: 0x3DEA_39EF_3579_3C76)
    @usableFromInline static let sqrt2 = Double(bitPattern: 0x3FF6_A09E_667F_3BCD)
    @usableFromInline static let halfPi = Double(bitPattern: 0x3FF9_21FB_5444_2D18)

    /// 1/(2k+1) for k = 1...10: the series of atanh.
    @usableFromInline static let atanhCoefficients: [Double] = (1...10).map { 1.0 / Double(2 * $0 + 1) }
    /// (-1)^k / (2k+1)! for k = 1...8.
    @usableFromInline static let sineCoefficients: [Double] = {
        var result: [Double] = []
        var factorial = 1.0
        for k in 1...8 {
            factorial = factorial * Double(2 * k) * Double(2 * k + 1)
            result.append((k % 2 == 0 ? 1.0 : -1.0) / factorial)
        }
        return result
    }()
    /// (-1)^k / (2k)! for k = 1...9.
    @usableFromInline static let cosineCoefficients: [Double] = {
        var result: [Double] = []
        var factorial = 1.0
        for k in 1...9 {
            factorial = factorial * Double(2 * k - 1) * Double(2 * k)
            result.append((k % 2 == 0 ? 1.0 : -1.0) / factorial)
        }
        return result
    }()

    /// Natural logarithm of a positive finite `x` (relative error below 2e-16).
    ///
    /// x = m * 2^e with m in (sqrt(1/2), sqrt(2)]; log m = 2 atanh(s), s = (m-1)/(m+1),
    /// summed by Horner's rule in s^2 up to s^21.
    @inlinable
    public static func log(_ x: Double) -> Double {
        precondition(x > 0 && x.isFinite, "PortableMath.log needs a positive finite argument")
        var bits = x.bitPattern
        var exponent = Int((bits >> 52) & 0x7FF)
        if exponent == 0 {  // subnormal: scale into the normal range exactly
            bits = (x * 0x1p54).bitPattern
            exponent = Int((bits >> 52) & 0x7FF) - 54
        }
        exponent -= 1023
        var mantissa = Double(bitPattern: (bits & 0x000F_FFFF_FFFF_FFFF) | 0x3FF0_0000_0000_0000)
        if mantissa > sqrt2 {
            mantissa = mantissa * 0.5
            exponent += 1
        }
        let s = (mantissa - 1) / (mantissa + 1)
        let z = s * s
        var series = atanhCoefficients[9]
        for k in stride(from: 8, through: 0, by: -1) {
            series = series * z + atanhCoefficients[k]
        }
        let logMantissa = 2 * s + 2 * s * (z * series)
        let e = Double(exponent)
        return e * ln2Hi + (e * ln2Lo + logMantissa)
    }

    /// sin(2 pi t) and cos(2 pi t) for t in [0, 1).
    ///
    /// 4t is split exactly into a quadrant n and a remainder f in [-1/2, 1/2]; the angle
    /// f * pi/2 lies in [-pi/4, pi/4], where Taylor polynomials to degree 17 and 18 are
    /// accurate to double precision.
    @inlinable
    public static func sinCosTwoPi(_ t: Double) -> (sin: Double, cos: Double) {
        let fourT = t * 4
        let quadrant = fourT.rounded(.toNearestOrEven)
        let angle = (fourT - quadrant) * halfPi
        let a2 = angle * angle
        var sinSeries = sineCoefficients[7]
        for k in stride(from: 6, through: 0, by: -1) {
            sinSeries = sinSeries * a2 + sineCoefficients[k]
        }
        let sinA = angle + angle * (a2 * sinSeries)
        var cosSeries = cosineCoefficients[8]
        for k in stride(from: 7, through: 0, by: -1) {
            cosSeries = cosSeries * a2 + cosineCoefficients[k]
        }
        let cosA = 1 + a2 * cosSeries
        switch Int(quadrant) & 3 {
        case 0: return (sinA, cosA)
        case 1: return (cosA, -sinA)
        case 2: return (-sinA, -cosA)
        default: return (-cosA, sinA)
        }
    }
}
