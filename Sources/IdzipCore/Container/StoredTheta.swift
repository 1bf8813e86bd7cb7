/// theta_d in the precision a `.idz` file stores it (the file lays float32 and float16
/// values out as byte planes: `BytePlanes`).
public enum StoredTheta: Sendable, Equatable {
    case float32([Float])
    /// IEEE-754 binary16 bit patterns.
    case float16([UInt16])
    /// value = Float(q) * scale, computed in float32.
    case int8([Int8], scale: Float)
    /// A codebook: value i = levels[symbols[i]] (float32, exact). `levels` holds
    /// 1...`StoredTheta.maxCodebookLevels` finite float32 values (any order, repeats
    /// allowed); every symbol is < levels.count. Stored range coded with an adaptive model
    /// (`RangeCoder`); the levels are stored as float16 when every one is exactly a float16,
    /// else as float32. Only format version 2 holds it (Formats/idz-v2.md): `IdzFile`
    /// writes a version 2 file for it whatever the `ContainerProfile`.
    case codebook(levels: [Float], symbols: [UInt16])

    /// The most levels a codebook may have (the range coder's alphabet limit).
    public static let maxCodebookLevels = RangeCoder.maxAlphabetSize
    /// Levels `encode(_:as: .codebook)` uses.
    public static let defaultCodebookLevels = 16

    /// Which of the three encodings this is.
    public var encoding: ThetaEncoding {
        switch self {
        case .float32: .float32
        case .float16: .float16
        case .int8: .int8
        case .codebook: .codebook
        }
    }

    /// d, the number of stored values.
    public var count: Int {
        switch self {
        case .float32(let values): values.count
        case .float16(let values): values.count
        case .int8(let values, _): values.count
        case .codebook(_, let symbols): symbols.count
        }
    }

    /// theta_d as float32: float16 is widened exactly, int8 is Float(q) * scale, a codebook
    /// value is levels[symbol]. Requires every symbol < levels.count (a checked or decoded
    /// model satisfies it; an unchecked out-of-range symbol decodes to NaN).
    public func decoded() -> [Float] {
        switch self {
        case .float32(let values): values
        case .float16(let values): values.map(HalfFloat.float(fromBits:))
        case .int8(let values, let scale): values.map { Float($0) * scale }
        case .codebook(let levels, let symbols): symbols.map { Int($0) < levels.count ? levels[Int($0)] : .nan }
        }
    }

    /// Stores `values` with `encoding`. float16 rounds to nearest, ties to even. int8 is
    /// symmetric: scale = max|x| / 127 (1 if every x is zero), q = round(x / scale) with
    /// ties away from zero, clamped to -127...127; a NaN becomes 0. codebook is
    /// `quantize(_:levels:)` with `defaultCodebookLevels` levels.
    public static func encode(_ values: [Float], as encoding: ThetaEncoding) -> StoredTheta {
        switch encoding {
        case .codebook:
            return quantize(values, levels: defaultCodebookLevels)
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

    /// Checks the rules a file imposes on stored theta_d: `count == dimension` (d), finite
    /// values (float32, float16), a finite positive int8 scale, and for a codebook
    /// 1...`maxCodebookLevels` finite levels with every symbol < levels.count.
    /// - Throws: `IdzError` `.invalidValue` or `.limitExceeded` naming the broken rule.
    public func check(dimension: Int) throws(IdzError) {
        try IdzModelCheck.checkTheta(self, dimension: dimension)
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

    /// Post-training scalar quantisation of `values` to at most `levels` levels (clamped to
    /// 1...`maxCodebookLevels`): one-dimensional k-means (Lloyd's algorithm, at most 100
    /// rounds) started from the means of `levels` equal-count slices of the sorted values;
    /// each value takes its nearest level (the lower on a tie). The result has levels in
    /// ascending order, distinct, each the float32 mean of its values; fewer levels when
    /// there are fewer distinct values. Non-finite values take level 0's symbol and do not
    /// move any level (`checkRepresentable` rejects them before a model is written).
    /// Deterministic; not part of the format (a decoder only reads levels and symbols).
    public static func quantize(_ values: [Float], levels: Int) -> StoredTheta {
        let finite = values.filter(\.isFinite).map(Double.init).sorted()
        guard !finite.isEmpty else {
            return .codebook(levels: [0], symbols: [UInt16](repeating: 0, count: values.count))
        }
        var distinct: [Double] = []
        for value in finite where distinct.last != value { distinct.append(value) }
        let k = max(1, min(levels, maxCodebookLevels, distinct.count))
        var centres: [Double]
        if k == distinct.count {
            centres = distinct
        } else {
            centres = (0..<k).map { slice in
                let start = slice * finite.count / k, end = max(start + 1, (slice + 1) * finite.count / k)
                return finite[start..<end].reduce(0, +) / Double(end - start)
            }
            // Lloyd rounds over the sorted values: the cells are contiguous slices.
            for _ in 0..<100 {
                var sums = [Double](repeating: 0, count: k), counts = [Int](repeating: 0, count: k)
                var cell = 0
                for value in finite {
                    while cell + 1 < k && abs(centres[cell + 1] - value) < abs(centres[cell] - value) { cell += 1 }
                    sums[cell] += value
                    counts[cell] += 1
                }
                let next = (0..<k).map { counts[$0] > 0 ? sums[$0] / Double(counts[$0]) : centres[$0] }
                if next == centres { break }
                centres = next.sorted()
            }
        }
        var table: [Float] = []
        for centre in centres.map({ Float($0) }).sorted() where table.last != centre { table.append(centre) }
        let symbols = values.map { value -> UInt16 in
            guard value.isFinite else { return 0 }
            return UInt16(nearest(value, in: table))
        }
        return .codebook(levels: table, symbols: symbols)
    }

    /// The index of the level nearest to `value` in ascending `levels` (the lower on a tie).
    private static func nearest(_ value: Float, in levels: [Float]) -> Int {
        var low = 0, high = levels.count - 1
        while low < high {  // first level >= value
            let middle = (low + high) / 2
            if levels[middle] < value { low = middle + 1 } else { high = middle }
        }
        if low > 0 && abs(Double(value) - Double(levels[low - 1])) <= abs(Double(levels[low]) - Double(value)) { return low - 1 }
        return low
    }

    private static func quantize(_ value: Float, scale: Float) -> Int8 {
        let ratio = (value / scale).rounded(.toNearestOrAwayFromZero)
        guard !ratio.isNaN else { return 0 }
        return Int8(min(max(ratio, -127), 127))
    }
}
