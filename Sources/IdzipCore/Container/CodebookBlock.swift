/// The bytes of a codebook theta_d after its encoding byte (and, in the sections layout,
/// its u64 count): varint K, u8 level format (0 = float32, 1 = float16), K levels
/// little-endian, then the range-coded symbols to the end of the field (Formats/idz-v2.md,
/// "Codebook theta_d").
enum CodebookBlock {
    static let float32Levels: UInt8 = 0
    static let float16Levels: UInt8 = 1

    /// Bytes the levels take: 2 per level when every level is exactly a float16, else 4.
    static func levelBytes(_ levels: [Float]) -> Int {
        levels.count * (storesAsHalf(levels) ? 2 : 4)
    }

    static func storesAsHalf(_ levels: [Float]) -> Bool {
        levels.allSatisfy { HalfFloat.float(fromBits: HalfFloat.bits(from: $0)).bitPattern == $0.bitPattern }
    }

    /// Requires a checked codebook (1...4096 finite levels, symbols in range).
    static func write(_ writer: inout ByteWriter, levels: [Float], symbols: [UInt16]) {
        writer.varint(levels.count)
        if storesAsHalf(levels) {
            writer.u8(float16Levels)
            for level in levels { writer.u16(HalfFloat.bits(from: level)) }
        } else {
            writer.u8(float32Levels)
            for level in levels { writer.f32(level) }
        }
        writer.raw(RangeCoder.encode(symbols, alphabetSize: levels.count))
    }

    /// Reads the block to the end of `reader`; `count` is d.
    static func read(_ reader: inout ByteReader, count: Int) throws(IdzError) -> StoredTheta {
        let levelCount = try reader.varintCount("codebook level count", limit: StoredTheta.maxCodebookLevels)
        guard levelCount >= 1 else { throw IdzError(.invalidValue, "the codebook has no levels") }
        let format = try reader.u8("codebook level format")
        let levels: [Float]
        switch format {
        case float32Levels:
            try reader.checkRoom(for: levelCount, of: 4, "codebook levels")
            var values: [Float] = []
            for _ in 0..<levelCount { values.append(try reader.f32("codebook level")) }
            levels = values
        case float16Levels:
            try reader.checkRoom(for: levelCount, of: 2, "codebook levels")
            var values: [Float] = []
            for _ in 0..<levelCount { values.append(HalfFloat.float(fromBits: try reader.u16("codebook level"))) }
            levels = values
        default:
            throw IdzError(.unknownValue, "unknown codebook level format \(format)")
        }
        if let index = levels.firstIndex(where: { !$0.isFinite }) {
            throw IdzError(.invalidValue, "codebook level \(index) is \(levels[index]), not a finite number")
        }
        let symbols = try RangeCoder.decode(reader.rest(), count: count, alphabetSize: levelCount)
        return .codebook(levels: levels, symbols: symbols)
    }
}
