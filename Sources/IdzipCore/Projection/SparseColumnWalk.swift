/// The nonzero positions and signs of the very sparse projection, column by column and
/// chunk by chunk (Formats/idz-v1-projections.md, "Sparse").
///
/// Rows are cut into chunks of `chunkLength` rows. In chunk c, column j's nonzeros are
/// found by geometric gaps: draw k uses Philox block (c << 32) | k of stream
/// (seed, sparseProjection, j); u = 1 - U(words 0, 1) in (0, 1];
/// gap = floor(log(u) / log(1 - s)); the position moves by 1 + gap; bit 0 of word 2 is the
/// sign (set: -1).
struct SparseColumnWalk: Sendable {
    /// R: rows per chunk.
    static let chunkLength = 4096

    let rowCount: Int
    let seed: UInt64
    /// log(1 - s), s = 1 / sqrt(D); unused when D == 1 (every entry is then nonzero).
    let logKeep: Double

    init(rowCount: Int, seed: UInt64) {
        self.rowCount = rowCount
        self.seed = seed
        if rowCount > 1 {
            let density = 1 / Double(rowCount).squareRoot()
            logKeep = PortableMath.log(1 - density)
        } else {
            logKeep = 0
        }
    }

    var chunkCount: Int { (rowCount + Self.chunkLength - 1) / Self.chunkLength }

    func rowsInChunk(_ chunk: Int) -> Int {
        min(Self.chunkLength, rowCount - chunk * Self.chunkLength)
    }

    /// Calls `body(position, negative)` for each nonzero of column `column` in chunk
    /// `chunk`, positions (relative to the chunk) ascending.
    @inline(__always)
    func forEachNonzero(column: Int, chunk: Int, _ body: (Int, Bool) -> Void) {
        let stream = RandomStream(seed: seed, purpose: .sparseProjection, substream: UInt32(truncatingIfNeeded: column))
        let length = rowsInChunk(chunk)
        let limit = Double(length)
        let everyEntry = rowCount == 1
        let chunkBase = UInt64(chunk) << 32
        var position = -1
        var draw: UInt64 = 0
        while true {
            let words = stream.block(chunkBase | draw)
            draw += 1
            if !everyEntry {
                let u = 1 - RandomStream.unitInterval(UInt64(words.1) << 32 | UInt64(words.0))
                let gap = (PortableMath.log(u) / logKeep).rounded(.down)
                if gap >= limit { return }
                position += 1 + Int(gap)
            } else {
                position += 1
            }
            if position >= length { return }
            body(position, words.2 & 1 == 1)
        }
    }

    /// Number of nonzeros of column `column` over all chunks.
    func nonzeroCount(column: Int) -> Int {
        var count = 0
        for chunk in 0..<chunkCount {
            forEachNonzero(column: column, chunk: chunk) { _, _ in count += 1 }
        }
        return count
    }
}
