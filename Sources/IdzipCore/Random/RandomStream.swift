/// One addressable stream of random numbers: Philox4x32-10 under a 64-bit seed, with the
/// counter laid out as (index low, index high, sub-stream, purpose).
///
/// Every value is a pure function of (seed, purpose, sub-stream, position), so any value
/// can be produced on its own, in any order, on any thread. How each kind of value maps
/// to positions is fixed by Formats/idz-v1.md, section "Randomness":
///
/// - word n: word n mod 4 of block n / 4;
/// - 64-bit value n: block n / 2, words 2(n mod 2) (low half) and 2(n mod 2)+1 (high half);
/// - float32 uniform n: (word n >> 8) * 2^-24, in [0, 1);
/// - float64 uniform n: (64-bit value n >> 11) * 2^-53, in [0, 1);
/// - sign n: bit n mod 32 of word n / 32; a set bit is -1, a clear bit +1;
/// - normal n: Box-Muller on block n / 2, cosine for even n, sine for odd n.
public struct RandomStream: Sendable, Hashable {
    public let seed: UInt64
    public let purpose: StreamPurpose
    public let substream: UInt32

    public init(seed: UInt64, purpose: StreamPurpose, substream: UInt32 = 0) {
        self.seed = seed
        self.purpose = purpose
        self.substream = substream
    }

    /// The Philox block at `index`.
    @inlinable @inline(__always)
    public func block(_ index: UInt64) -> (UInt32, UInt32, UInt32, UInt32) {
        Philox4x32.block(
            counter: (
                UInt32(truncatingIfNeeded: index), UInt32(truncatingIfNeeded: index >> 32),
                substream, purpose.rawValue
            ),
            key: (UInt32(truncatingIfNeeded: seed), UInt32(truncatingIfNeeded: seed >> 32))
        )
    }

    @inlinable
    public func word(_ n: UInt64) -> UInt32 {
        let words = block(n >> 2)
        switch n & 3 {
        case 0: return words.0
        case 1: return words.1
        case 2: return words.2
        default: return words.3
        }
    }

    @inlinable
    public func uint64(_ n: UInt64) -> UInt64 {
        let words = block(n >> 1)
        return n & 1 == 0
            ? UInt64(words.1) << 32 | UInt64(words.0)
            : UInt64(words.3) << 32 | UInt64(words.2)
    }

    @inlinable
    public func uniformFloat(_ n: UInt64) -> Float {
        Float(word(n) >> 8) * 0x1p-24
    }

    @inlinable
    public func uniformDouble(_ n: UInt64) -> Double {
        Self.unitInterval(uint64(n))
    }

    /// +1 or -1.
    @inlinable
    public func sign(_ n: UInt64) -> Float {
        (word(n >> 5) >> UInt32(n & 31)) & 1 == 1 ? -1 : 1
    }

    /// A uniform integer in 0..<bound: the high 64 bits of (64-bit value n) * bound.
    /// The bias is below bound / 2^64 and there is no rejection, so each draw uses exactly
    /// one position.
    @inlinable
    public func integer(_ n: UInt64, below bound: UInt64) -> UInt64 {
        uint64(n).multipliedFullWidth(by: bound).high
    }

    /// A standard normal number.
    @inlinable
    public func normal(_ n: UInt64) -> Double {
        let pair = Self.normalPair(block(n >> 1))
        return n & 1 == 0 ? pair.0 : pair.1
    }

    /// A uniformly random permutation of 0..<count by Fisher-Yates: for k = count-1 down
    /// to 1, swap entries k and `integer(count-1-k, below: k+1)`.
    public func permutation(count: Int) -> [UInt32] {
        precondition(count >= 0 && UInt64(count) <= UInt64(UInt32.max) + 1)
        var result = (0..<count).map { UInt32(truncatingIfNeeded: $0) }
        result.withUnsafeMutableBufferPointer { buffer in
            var k = count - 1
            while k >= 1 {
                let j = Int(integer(UInt64(count - 1 - k), below: UInt64(k + 1)))
                buffer.swapAt(k, j)
                k -= 1
            }
        }
        return result
    }

    // MARK: Bulk generation

    /// Writes normals start..<start+buffer.count, each times `scale`, rounded to float32
    /// (vectorised by `RandomKernels`; the same bits as `Float(normal(n) * scale)`).
    public func fillNormals(_ buffer: UnsafeMutableBufferPointer<Float>, start: UInt64, scale: Double = 1) {
        NormalBatch.fillFloatNormals(self, first: start, scale: scale, into: buffer, summingSquares: false)
    }

    // MARK: Conversions

    /// (bits >> 11) * 2^-53, in [0, 1).
    @inlinable @inline(__always)
    public static func unitInterval(_ bits: UInt64) -> Double {
        Double(bits >> 11) * 0x1p-53
    }

    /// Box-Muller: u1 = 1 - U(words 0, 1) in (0, 1], u2 = U(words 2, 3) in [0, 1);
    /// r = sqrt(-2 log u1); returns (r cos 2 pi u2, r sin 2 pi u2).
    @inlinable @inline(__always)
    public static func normalPair(_ words: (UInt32, UInt32, UInt32, UInt32)) -> (Double, Double) {
        let u1 = 1 - unitInterval(UInt64(words.1) << 32 | UInt64(words.0))
        let u2 = unitInterval(UInt64(words.3) << 32 | UInt64(words.2))
        let radius = (-2 * PortableMath.log(u1)).squareRoot()
        let angle = PortableMath.sinCosTwoPi(u2)
        return (radius * angle.cos, radius * angle.sin)
    }
}
