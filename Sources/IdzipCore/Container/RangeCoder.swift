/// The entropy coder of codebook theta_d (Formats/idz-v2.md, "The range coder"): an
/// adaptive-frequency range coder over the symbols 0..<K, integer-only and bit-exact.
///
/// - Model: every symbol starts with count 1 (total K); after each coded symbol its count
///   and the total grow by 1; when the total exceeds 2^16 every count c becomes
///   (c + 1) >> 1. Nothing about the model is stored: the decoder rebuilds it as it goes.
/// - Coder: a 32-bit range with byte renormalisation below 2^24 and carry propagation into
///   the bytes already written; the stream ends with the fewest bytes that pin the final
///   interval, and trailing zero bytes are dropped (a decoder reads zeros past the end).
///
/// The encoding is canonical: `decode` rejects a stream with a trailing zero byte, with
/// bytes the decoder never needed, or with a value outside the model's total, so one symbol
/// sequence has exactly one valid stream. Decoding costs O(count · log K) time and reads
/// exactly the given bytes (no hang: it stops after `count` symbols).
public enum RangeCoder {
    /// The largest alphabet (codebook levels) the coder accepts.
    public static let maxAlphabetSize = 4096
    /// Renormalisation threshold: the range is kept >= 2^24.
    static let top: UInt64 = 1 << 24
    /// The adaptive model halves its counts when their total exceeds this.
    static let maxTotal = 1 << 16

    /// The coded bytes of `symbols` (each < `alphabetSize`); their number is not stored.
    /// - Precondition: 1 <= alphabetSize <= `maxAlphabetSize` and every symbol < alphabetSize
    ///   (a violation traps: the container checks both before it encodes).
    public static func encode(_ symbols: [UInt16], alphabetSize: Int) -> [UInt8] {
        precondition(alphabetSize >= 1 && alphabetSize <= maxAlphabetSize, "alphabet size \(alphabetSize)")
        var model = AdaptiveFrequencies(alphabetSize: alphabetSize)
        var low: UInt64 = 0
        var range: UInt64 = 0xFFFF_FFFF
        var out: [UInt8] = []
        out.reserveCapacity(symbols.count / 2 + 8)
        func carry() {
            var index = out.count - 1
            while out[index] == 0xFF {
                out[index] = 0
                index -= 1
            }
            out[index] += 1
        }
        for symbol in symbols {
            let s = Int(symbol)
            precondition(s < alphabetSize, "symbol \(s) >= \(alphabetSize)")
            let r = range / UInt64(model.total)
            low += r * UInt64(model.cumulative(s))
            range = r * UInt64(model.count(s))
            if low >= 1 << 32 {
                low -= 1 << 32
                carry()
            }
            while range < top {
                out.append(UInt8(truncatingIfNeeded: low >> 24))
                low = (low << 8) & 0xFFFF_FFFF
                range <<= 8
            }
            model.update(s)
        }
        // Termination: the value in [low, low + range) with the most trailing zero bytes.
        var bytes = 0
        var value = low
        while bytes <= 4 {
            let step: UInt64 = 1 << (32 - 8 * UInt64(bytes))
            value = (low + step - 1) / step * step
            if value < low + range { break }
            bytes += 1
        }
        if value >= 1 << 32 {
            value -= 1 << 32
            carry()
        }
        for index in 0..<bytes {
            out.append(UInt8(truncatingIfNeeded: value >> (24 - 8 * UInt64(index))))
        }
        while out.last == 0 { out.removeLast() }
        return out
    }

    /// The `count` symbols coded in `stream` with an alphabet of `alphabetSize` symbols.
    /// - Throws: `IdzError` `.invalidValue` when the stream is not the canonical coding of
    ///   `count` symbols (a value beyond the model's total, unused or trailing zero bytes),
    ///   `.limitExceeded` for an alphabet size outside 1...`maxAlphabetSize`.
    public static func decode(_ stream: ArraySlice<UInt8>, count: Int, alphabetSize: Int) throws(IdzError) -> [UInt16] {
        guard alphabetSize >= 1, alphabetSize <= maxAlphabetSize else {
            throw IdzError(.limitExceeded, "codebook of \(alphabetSize) levels; the limit is 1...\(maxAlphabetSize)")
        }
        var model = AdaptiveFrequencies(alphabetSize: alphabetSize)
        var position = stream.startIndex
        var consumed = 0
        func next() -> UInt64 {
            consumed += 1
            guard position < stream.endIndex else { return 0 }
            defer { position += 1 }
            return UInt64(stream[position])
        }
        var code: UInt64 = 0
        for _ in 0..<4 { code = (code << 8) | next() }
        var range: UInt64 = 0xFFFF_FFFF
        var symbols = [UInt16]()
        symbols.reserveCapacity(count)
        for index in 0..<count {
            let total = UInt64(model.total)
            let r = range / total
            let value = code / r
            guard value < total else {
                throw IdzError(.invalidValue, "the coded theta_d stream is corrupt at symbol \(index) of \(count)")
            }
            let (symbol, start) = model.find(Int(value))
            code -= r * UInt64(start)
            range = r * UInt64(model.count(symbol))
            while range < top {
                code = (code << 8) | next()
                range <<= 8
            }
            model.update(symbol)
            symbols.append(UInt16(symbol))
        }
        guard stream.count <= consumed else {
            throw IdzError(.invalidValue, "the coded theta_d stream has \(stream.count) bytes, but its \(count) symbols end after \(consumed)")
        }
        guard stream.last != 0 else {
            throw IdzError(.invalidValue, "the coded theta_d stream ends with a zero byte (not canonical)")
        }
        return symbols
    }

    /// Bytes `encode` would produce, without keeping them.
    public static func codedSize(_ symbols: [UInt16], alphabetSize: Int) -> Int {
        encode(symbols, alphabetSize: alphabetSize).count
    }
}

/// The adaptive symbol counts, as a Fenwick tree for O(log K) cumulative counts and search.
struct AdaptiveFrequencies {
    private var counts: [Int]
    private var tree: [Int]  // 1-based Fenwick tree over counts
    private(set) var total: Int
    private let highestPowerOfTwo: Int

    init(alphabetSize: Int) {
        counts = [Int](repeating: 1, count: alphabetSize)
        tree = [Int](repeating: 0, count: alphabetSize + 1)
        total = alphabetSize
        var power = 1
        while power * 2 <= alphabetSize { power *= 2 }
        highestPowerOfTwo = power
        rebuild()
    }

    func count(_ symbol: Int) -> Int { counts[symbol] }

    /// The sum of the counts of the symbols below `symbol`.
    func cumulative(_ symbol: Int) -> Int {
        var sum = 0
        var index = symbol
        while index > 0 {
            sum += tree[index]
            index &= index - 1
        }
        return sum
    }

    /// The symbol s with cumulative(s) <= value < cumulative(s) + count(s), and cumulative(s).
    /// Requires value < total.
    func find(_ value: Int) -> (symbol: Int, start: Int) {
        var position = 0
        var remaining = value
        var step = highestPowerOfTwo
        while step > 0 {
            let next = position + step
            if next < tree.count, tree[next] <= remaining {
                position = next
                remaining -= tree[next]
            }
            step >>= 1
        }
        return (position, value - remaining)
    }

    mutating func update(_ symbol: Int) {
        counts[symbol] += 1
        total += 1
        if total > RangeCoder.maxTotal {
            total = 0
            for index in counts.indices {
                counts[index] = (counts[index] + 1) >> 1
                total += counts[index]
            }
            rebuild()
        } else {
            var index = symbol + 1
            while index < tree.count {
                tree[index] += 1
                index += index & -index
            }
        }
    }

    private mutating func rebuild() {
        for index in 1..<tree.count { tree[index] = counts[index - 1] }
        for index in 1..<tree.count {
            let parent = index + (index & -index)
            if parent < tree.count { tree[parent] += tree[index] }
        }
    }
}
