/// theta_d in the precision a `.idz` file stores it (the file lays float32 and float16
/// values out as byte planes: `BytePlanes`).
public enum StoredTheta: Sendable, Equatable {
    case float32([Float])
    /// IEEE-754 binary16 bit patterns.
    case float16([UInt16])
    /// value = Float(q) * scale, computed in float32.
    case int8([Int8], scale: Float)

    /// Which of the three encodings this is.
    public var encoding: ThetaEncoding {
        switch self {
        case .float32: .float32
        case .float16: .float16
        case .int8: .int8
        }
    }

    /// d, the number of stored values.
    public var count: Int {
        switch self {
        case .float32(let values): values.count
        case .float16(let values): values.count
        case .int8(let values, _): values.count
        }
    }

    /// theta_d as float32: float16 is widened exactly, int8 is Float(q) * scale.
    public func decoded() -> [Float] {
        switch self {
        case .float32(let values): values
        case .float16(let values): values.map(HalfFloat.float(fromBits:))
        case .int8(let values, let scale): values.map { Float($0) * scale }
        }
    }

    /// Stores `values` with `encoding`. float16 rounds to nearest, ties to even. int8 is
    /// symmetric: scale = max|x| / 127 (1 if every x is zero), q = round(x / scale) with
    /// ties away from zero, clamped to -127...127; a NaN becomes 0.
    public static func encode(_ values: [Float], as encoding: ThetaEncoding) -> StoredTheta {
        switch encoding {
        case .float32:
            return .float32(values)
        case .float16:
            return .float16(values.map(HalfFloat.bits(from:)))
        case .int8:
            let largest = values.reduce(Float(0)) { $1.isNaN ? $0 : max($0, $1.magnitude) }
            let ratio = largest / 127
            let scale = ratio > 0 ? ratio : 1  // all zero, or so small that max|x| / 127 underflows
            return .int8(values.map { quantize($0, scale: scale) }, scale: scale)
        }
    }

    /// Checks that `encoding` can store every value of `values`: each is finite, and for
    /// float16 does not round beyond float16's largest finite value (65504), where
    /// `encode` would store infinity.
    /// - Throws: `IdzError.invalidValue` naming the value and its index.
    public static func checkRepresentable(_ values: [Float], as encoding: ThetaEncoding) throws(IdzError) {
        if let index = values.firstIndex(where: { !$0.isFinite }) {
            throw IdzError(.invalidValue, "theta_d value \(index) is \(values[index]), not a finite number")
        }
        guard encoding == .float16 else { return }
        if let index = values.firstIndex(where: { HalfFloat.bits(from: $0) & 0x7C00 == 0x7C00 }) {
            throw IdzError(
                .invalidValue,
                "theta_d value \(values[index]) (index \(index)) is out of float16's range (largest 65504); "
                    + "store it as float32 or int8")
        }
    }

    private static func quantize(_ value: Float, scale: Float) -> Int8 {
        let ratio = (value / scale).rounded(.toNearestOrAwayFromZero)
        guard !ratio.isNaN else { return 0 }
        return Int8(min(max(ratio, -127), 127))
    }
}
