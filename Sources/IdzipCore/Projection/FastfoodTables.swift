/// The random diagonals and permutations of the Fastfood blocks: for block b, the signs
/// B_b, the permutation Pi_b, the Gaussian diagonal G_b and the scale s_b.
///
/// Signs are kept as the stream's own 32-bit words: sign k is bit (k mod 32) of word
/// k / 32, a set bit meaning -1 (see `RandomStream.sign`).
struct FastfoodTables: Sendable {
    let blockLength: Int
    let blockCount: Int
    let signWordsPerBlock: Int
    let signWords: [UInt32]
    let permutations: [UInt32]
    let gaussians: [Float]
    let scales: [Float]

    /// Bytes the cached tables of a D x d Fastfood projection take.
    static func byteCount(blockLength: Int, blockCount: Int) -> Int {
        blockCount * (blockLength * 8 + signWordCount(blockLength: blockLength) * 4 + 4)
    }

    static func signWordCount(blockLength: Int) -> Int {
        (blockLength + 31) / 32
    }

    /// All blocks' tables, generated in parallel (each block on its own, so the result does
    /// not depend on the threads).
    init(rowCount: Int, blockLength: Int, blockCount: Int, seed: UInt64, threads: Int) {
        self.blockLength = blockLength
        self.blockCount = blockCount
        let wordsPerBlock = Self.signWordCount(blockLength: blockLength)
        signWordsPerBlock = wordsPerBlock
        var scales = [Float](repeating: 0, count: blockCount)
        var signWords = [UInt32](repeating: 0, count: blockCount * wordsPerBlock)
        var permutations = [UInt32](repeating: 0, count: blockCount * blockLength)
        var gaussians = [Float](repeating: 0, count: blockCount * blockLength)
        scales.withUnsafeMutableBufferPointer { scaleBuffer in
            signWords.withUnsafeMutableBufferPointer { signBuffer in
                permutations.withUnsafeMutableBufferPointer { permutationBuffer in
                    gaussians.withUnsafeMutableBufferPointer { gaussianBuffer in
                        ParallelLoop.forEach(pieces: blockCount, threads: threads) { block in
                            scaleBuffer[block] = Self.generate(
                                block: block, rowCount: rowCount, blockLength: blockLength, seed: seed,
                                signWords: UnsafeMutableBufferPointer(
                                    rebasing: signBuffer[(block * wordsPerBlock)..<((block + 1) * wordsPerBlock)]),
                                permutation: UnsafeMutableBufferPointer(
                                    rebasing: permutationBuffer[(block * blockLength)..<((block + 1) * blockLength)]),
                                gaussian: UnsafeMutableBufferPointer(
                                    rebasing: gaussianBuffer[(block * blockLength)..<((block + 1) * blockLength)]))
                        }
                    }
                }
            }
        }
        self.signWords = signWords
        self.permutations = permutations
        self.gaussians = gaussians
        self.scales = scales
    }

    /// Writes block `block`'s signs, permutation and Gaussian diagonal into the buffers
    /// (signWordCount, blockLength and blockLength entries) and returns its scale
    /// s_b = Float(1 / sqrt(gg_b * D)), gg_b = sum of Double(G_b[k])^2 in ascending k.
    static func generate(
        block: Int, rowCount: Int, blockLength: Int, seed: UInt64,
        signWords: UnsafeMutableBufferPointer<UInt32>,
        permutation: UnsafeMutableBufferPointer<UInt32>,
        gaussian: UnsafeMutableBufferPointer<Float>
    ) -> Float {
        let substream = UInt32(truncatingIfNeeded: block)
        generateSignWords(RandomStream(seed: seed, purpose: .fastfoodSigns, substream: substream), into: signWords)
        let gaussians = UnsafeMutableBufferPointer(rebasing: gaussian[0..<blockLength])
        NormalBatch.fillFloatNormals(
            RandomStream(seed: seed, purpose: .fastfoodGaussian, substream: substream), first: 0, into: gaussians,
            summingSquares: false)
        // gg_b is summed alongside the permutation's swaps (the same order, ascending k).
        let squaredNorm = RandomKernels.permutation(
            RandomStream(seed: seed, purpose: .fastfoodPermutation, substream: substream),
            into: UnsafeMutableBufferPointer(rebasing: permutation[0..<blockLength]),
            summingSquaresOf: UnsafeBufferPointer(gaussians))
        return Float(1 / (squaredNorm * Double(rowCount)).squareRoot())
    }

    /// Words 0 ..< output.count of the stream.
    static func generateSignWords(_ stream: RandomStream, into output: UnsafeMutableBufferPointer<UInt32>) {
        let wholeWords = output.count & ~3
        if wholeWords > 0 {
            RandomKernels.blocks(stream, first: 0, into: UnsafeMutableBufferPointer(rebasing: output[0..<wholeWords]))
        }
        for word in wholeWords..<output.count { output[word] = stream.word(UInt64(word)) }
    }
}
