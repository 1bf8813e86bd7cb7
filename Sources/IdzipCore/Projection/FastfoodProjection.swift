/// Stacked Fastfood blocks (Le, Sarlos, Smola 2013; Li et al. 2018, Sec. S7).
///
/// L is the smallest power of two >= d and there are ceil(D / L) blocks; block b gives
/// rows b L ..< min(D, (b+1) L) of P v = s_b H G_b Pi_b H B_b v (v zero-padded to L),
/// all in float32. See Formats/idz-v1-projections.md for the exact operations.
///
/// With `cachesTables` the per-block signs, permutations and Gaussians are generated once
/// (about 8 D bytes; for training, where P is applied at every step). Without, each call
/// regenerates the blocks it needs, so memory stays O(L) per thread (for expanding a large
/// model once). Both give the same bits.
package struct FastfoodProjection: BaseAddingProjection {
    public var kind: ProjectionKind { .fastfood }
    public let rowCount: Int
    public let columnCount: Int
    public let seed: UInt64
    public let threads: Int
    /// L: the smallest power of two >= d.
    public let blockLength: Int
    /// ceil(D / L).
    public let blockCount: Int
    let tables: FastfoodTables?

    public var cachesTables: Bool { tables != nil }
    public var rowAlignment: Int { blockLength }

    public init(
        rowCount: Int, columnCount: Int, seed: UInt64,
        threads: Int = ParallelLoop.defaultThreads, cachesTables: Bool = true
    ) {
        precondition(columnCount >= 1 && columnCount <= rowCount, "Fastfood needs 1 <= d <= D")
        let blockLength = Self.blockLength(columnCount: columnCount)
        let blockCount = (rowCount + blockLength - 1) / blockLength
        precondition(UInt64(blockCount) <= UInt64(UInt32.max) + 1, "Fastfood block index must fit in 32 bits")
        self.rowCount = rowCount
        self.columnCount = columnCount
        self.seed = seed
        self.threads = max(1, threads)
        self.blockLength = blockLength
        self.blockCount = blockCount
        tables = cachesTables
            ? FastfoodTables(
                rowCount: rowCount, blockLength: blockLength, blockCount: blockCount, seed: seed, threads: self.threads)
            : nil
    }

    /// The smallest power of two >= d.
    public static func blockLength(columnCount: Int) -> Int {
        var length = 1
        while length < columnCount { length <<= 1 }
        return length
    }

    /// Bytes of the cached tables for a D x d projection (about 8 D).
    public static func tableByteCount(rowCount: Int, columnCount: Int) -> Int {
        let length = blockLength(columnCount: columnCount)
        return FastfoodTables.byteCount(blockLength: length, blockCount: (rowCount + length - 1) / length)
    }

    // MARK: Projection

    public func project(_ v: UnsafeBufferPointer<Float>, rows: Range<Int>, into output: UnsafeMutableBufferPointer<Float>) {
        project(v, rows: rows, base: nil, into: output)
    }

    /// `project`, adding base[i] to each output row in the same pass (`BaseAddingProjection`).
    package func project(
        _ v: UnsafeBufferPointer<Float>, rows: Range<Int>, adding base: UnsafePointer<Float>,
        into output: UnsafeMutableBufferPointer<Float>
    ) {
        project(v, rows: rows, base: base, into: output)
    }

    /// Rows `rows` of P v, plus base[i] when a base is given.
    private func project(
        _ v: UnsafeBufferPointer<Float>, rows: Range<Int>, base: UnsafePointer<Float>?,
        into output: UnsafeMutableBufferPointer<Float>
    ) {
        precondition(v.count == columnCount && output.count == rows.count, "Fastfood project: wrong sizes")
        precondition(rows.lowerBound >= 0 && rows.upperBound <= rowCount, "Fastfood project: rows out of range")
        guard !rows.isEmpty, let outputBase = output.baseAddress else { return }
        let length = blockLength
        let firstBlock = rows.lowerBound / length
        let lastBlock = (rows.upperBound - 1) / length
        let pool = makePool()
        let blocks = lastBlock - firstBlock + 1
        let group = Self.groupLength(blocks: blocks, threads: threads)
        withCachedTables { cached in
            ParallelLoop.forEach(pieces: (blocks + group - 1) / group, threads: threads) { piece in
                pool.withScratch { scratch in
                    for block in (firstBlock + piece * group)..<(firstBlock + min(blocks, (piece + 1) * group)) {
                        let blockStart = block * length
                        let first = max(rows.lowerBound, blockStart) - blockStart
                        let last = min(rows.upperBound, blockStart + length) - blockStart
                        let blockTables = self.blockTables(block, cached: cached, scratch: scratch)
                        let offset = blockStart + first - rows.lowerBound
                        Self.forwardBlock(
                            v, tables: blockTables, scratch: scratch,
                            rows: first..<last, adding: base.map { $0 + offset }, into: outputBase + offset)
                    }
                }
            }
        }
    }

    /// Consecutive blocks per parallel piece: 8 pieces a thread balance the load, and a
    /// piece number and a scratch are then taken once per group rather than once per
    /// (small) block. Rows and block contributions are independent, so the bits do not
    /// depend on it.
    static func groupLength(blocks: Int, threads: Int) -> Int {
        max(1, blocks / (8 * max(1, threads)))
    }

    public func projectTranspose(_ g: UnsafeBufferPointer<Float>, into output: UnsafeMutableBufferPointer<Float>) {
        precondition(g.count == rowCount && output.count == columnCount, "Fastfood projectTranspose: wrong sizes")
        let d = columnCount
        // Blocks run in waves; each block's d results are kept until the whole wave is done,
        // then added into the double accumulator in ascending block order (so the wave
        // size never changes the bits). A wave holds as many blocks as about 32 MiB of
        // results allow (at least one per thread): every wave ends in two waits for all
        // threads, which cost more than the memory when blocks are small (training).
        let affordable = max(threads, (1 << 23) / d)
        let waveSize = min(blockCount, affordable)
        let contributions = OwnedBuffer<Float>(count: waveSize * d)
        let sums = OwnedBuffer<Double>(count: d)
        sums.buffer.initialize(repeating: 0)
        let pool = makePool()
        withCachedTables { cached in
            var waveStart = 0
            while waveStart < blockCount {
                let waveCount = min(waveSize, blockCount - waveStart)
                let group = Self.groupLength(blocks: waveCount, threads: threads)
                ParallelLoop.forEach(pieces: (waveCount + group - 1) / group, threads: threads) { piece in
                    pool.withScratch { scratch in
                        for slot in (piece * group)..<min(waveCount, (piece + 1) * group) {
                            let block = waveStart + slot
                            Self.transposeBlock(
                                g, block: block, tables: self.blockTables(block, cached: cached, scratch: scratch),
                                scratch: scratch,
                                into: UnsafeMutableBufferPointer(rebasing: contributions.buffer[(slot * d)..<((slot + 1) * d)]))
                        }
                    }
                }
                Self.accumulate(contributions.buffer, count: waveCount, into: sums.buffer, threads: threads)
                waveStart += waveCount
            }
        }
        let total = sums.buffer
        for j in 0..<d { output[j] = Float(total[j]) }
    }

    /// sums[j] += Double(contribution_s[j]) for s = 0 ..< count in order; the
    /// contributions lie one after another, sums.count floats each. Parallel over columns,
    /// in pieces small enough that a training-sized d (hundreds) still spans both threads.
    static func accumulate(
        _ contributions: UnsafeMutableBufferPointer<Float>, count: Int,
        into sums: UnsafeMutableBufferPointer<Double>, threads: Int
    ) {
        let d = sums.count
        let pieceLength = count >= 64 ? 128 : 4096
        let base = contributions.baseAddress!
        ParallelLoop.forEach(pieces: (d + pieceLength - 1) / pieceLength, threads: threads) { piece in
            let columns = (piece * pieceLength)..<min(d, (piece + 1) * pieceLength)
            for slot in 0..<count {
                let contribution = base + slot * d
                for j in columns { sums[j] += Double(contribution[j]) }
            }
        }
    }

    // MARK: Blocks

    /// One block's tables: views into the cache, or freshly generated into the scratch.
    struct BlockTables {
        let signWords: UnsafePointer<UInt32>
        let permutation: UnsafePointer<UInt32>
        let gaussian: UnsafePointer<Float>
        let scale: Float
    }

    /// Buffers one thread needs for one block.
    final class Scratch {
        let first: OwnedBuffer<Float>
        let second: OwnedBuffer<Float>
        let transformScratch: OwnedBuffer<Float>
        let signWords: OwnedBuffer<UInt32>
        let permutation: OwnedBuffer<UInt32>
        let gaussian: OwnedBuffer<Float>

        init(blockLength: Int, holdsTables: Bool) {
            first = OwnedBuffer(count: blockLength)
            second = OwnedBuffer(count: blockLength)
            transformScratch = OwnedBuffer(count: WalshHadamard.scratchCount(for: blockLength))
            let tableLength = holdsTables ? blockLength : 0
            signWords = OwnedBuffer(count: holdsTables ? FastfoodTables.signWordCount(blockLength: blockLength) : 0)
            permutation = OwnedBuffer(count: tableLength)
            gaussian = OwnedBuffer(count: tableLength)
        }
    }

    func makePool() -> ScratchPool<Scratch> {
        let length = blockLength
        let holdsTables = tables == nil
        return ScratchPool { Scratch(blockLength: length, holdsTables: holdsTables) }
    }

    /// Base addresses of the cached tables, valid inside `withCachedTables`.
    struct CachedPointers {
        let signWords: UnsafePointer<UInt32>
        let permutations: UnsafePointer<UInt32>
        let gaussians: UnsafePointer<Float>
        let scales: UnsafePointer<Float>
        let signWordsPerBlock: Int
    }

    /// Calls `body` with pointers to the cached tables, or nil when they are not cached.
    func withCachedTables<Result>(_ body: (CachedPointers?) -> Result) -> Result {
        guard let tables else { return body(nil) }
        return tables.signWords.withUnsafeBufferPointer { signs in
            tables.permutations.withUnsafeBufferPointer { permutations in
                tables.gaussians.withUnsafeBufferPointer { gaussians in
                    tables.scales.withUnsafeBufferPointer { scales in
                        body(CachedPointers(
                            signWords: signs.baseAddress!, permutations: permutations.baseAddress!,
                            gaussians: gaussians.baseAddress!, scales: scales.baseAddress!,
                            signWordsPerBlock: tables.signWordsPerBlock))
                    }
                }
            }
        }
    }

    /// One block's tables: views into the cache, or freshly generated into the scratch.
    func blockTables(_ block: Int, cached: CachedPointers?, scratch: Scratch) -> BlockTables {
        if let cached {
            return BlockTables(
                signWords: cached.signWords + block * cached.signWordsPerBlock,
                permutation: cached.permutations + block * blockLength,
                gaussian: cached.gaussians + block * blockLength,
                scale: cached.scales[block])
        }
        let scale = FastfoodTables.generate(
            block: block, rowCount: rowCount, blockLength: blockLength, seed: seed,
            signWords: scratch.signWords.buffer, permutation: scratch.permutation.buffer,
            gaussian: scratch.gaussian.buffer)
        return BlockTables(
            signWords: UnsafePointer(scratch.signWords.buffer.baseAddress!),
            permutation: UnsafePointer(scratch.permutation.buffer.baseAddress!),
            gaussian: UnsafePointer(scratch.gaussian.buffer.baseAddress!),
            scale: scale)
    }

    /// Rows `rows` (relative to the block) of s H G Pi H B v, written to `output`; with a
    /// base, each row's float32 value plus base[k - rows.lowerBound] (one more rounding).
    static func forwardBlock(
        _ v: UnsafeBufferPointer<Float>, tables: BlockTables, scratch: Scratch,
        rows: Range<Int>, adding base: UnsafePointer<Float>? = nil, into output: UnsafeMutablePointer<Float>
    ) {
        let x = scratch.first.buffer.baseAddress!
        let y = scratch.second.buffer.baseAddress!
        let length = scratch.first.buffer.count
        let d = v.count
        let input = v.baseAddress!
        let signs = tables.signWords
        let permutation = tables.permutation
        let gaussian = tables.gaussian
        // x = B (v padded with zeros): the padding becomes +0 or -0.
        SignFlip.apply(signs, from: input, count: d, paddedTo: x, count: length)
        WalshHadamard.transform(UnsafeMutableBufferPointer(start: x, count: length), scratch: scratch.transformScratch.buffer)
        FastfoodKernels.gather(y, x, permutation: permutation, gaussian: gaussian, count: length)
        WalshHadamard.transform(UnsafeMutableBufferPointer(start: y, count: length), scratch: scratch.transformScratch.buffer)
        let scale = tables.scale
        let source = y + rows.lowerBound
        let count = rows.count
        // Pointer loops without overflow checks, so that they are vectorised.
        if let base {
            // Two roundings, as `project` and then the addition (Swift never fuses them).
            for i in 0..<count {
                let projected = source[i] * scale
                output[i] = projected + base[i]
            }
        } else {
            for i in 0..<count { output[i] = source[i] * scale }
        }
    }

    /// Block `block`'s contribution B H Pi^T G H (s g_b) to P^T g: d floats into `output`.
    static func transposeBlock(
        _ g: UnsafeBufferPointer<Float>, block: Int, tables: BlockTables, scratch: Scratch,
        into output: UnsafeMutableBufferPointer<Float>
    ) {
        let y = scratch.first.buffer.baseAddress!
        let z = scratch.second.buffer.baseAddress!
        let length = scratch.first.buffer.count
        let d = output.count
        let blockStart = block * length
        let rowsInBlock = min(g.count - blockStart, length)
        let input = g.baseAddress! + blockStart
        let scale = tables.scale
        for k in 0..<rowsInBlock { y[k] = input[k] * scale }
        for k in rowsInBlock..<length { y[k] = 0 }
        WalshHadamard.transform(UnsafeMutableBufferPointer(start: y, count: length), scratch: scratch.transformScratch.buffer)
        let permutation = tables.permutation
        let gaussian = tables.gaussian
        FastfoodKernels.scatter(z, y, permutation: permutation, gaussian: gaussian, count: length)
        WalshHadamard.transform(UnsafeMutableBufferPointer(start: z, count: length), scratch: scratch.transformScratch.buffer)
        SignFlip.apply(tables.signWords, from: z, to: output.baseAddress!, count: d)
    }
}
