import CIdzipKernels
import IdzipCore

/// Backward pass of `StridedConvolutionKernel` (strides, zero padding, groups, optional bias).
package enum StridedConvolutionGradient {
    /// Most pieces of work of one backward pass: each piece's weight gradient is a separate
    /// sum (`partialFloats`), added in piece order at the end.
    package static let maxPieces = 16

    /// The fixed pieces of a backward pass: consecutive runs of chunks
    /// (`StridedConvolutionKernel.chunk`), at most `maxPieces`, from the batch alone.
    @inline(__always)
    static func pieces(_ shape: StridedConvolutionKernel.Shape, batch: Int) -> (chunk: Int, chunks: Int, pieces: Int) {
        let chunk = StridedConvolutionKernel.chunk(shape, batch: batch)
        let chunks = (batch + chunk - 1) / chunk
        return (chunk, chunks, min(chunks, maxPieces))
    }

    /// Numbers of the `partials` scratch of a batch of up to `batchCapacity` examples: the
    /// weight gradients of pieces 1, 2, ... (piece 0 writes `weightGradient`), then the
    /// flipped weights of the transposed convolution.
    package static func partialFloats(_ shape: StridedConvolutionKernel.Shape, batchCapacity: Int) -> Int {
        MemoryBudget.product([pieces(shape, batch: max(1, batchCapacity)).pieces, shape.weightCount])
    }

    /// The stride-1 convolution whose output is the input gradient: the output gradient
    /// correlated with the flipped weights (`flipped`), padding k - 1 - padding; nil where
    /// the input gradient goes through col2im instead.
    static func transposed(_ shape: StridedConvolutionKernel.Shape) -> StridedConvolutionKernel.Shape? {
        guard shape.stride == 1, shape.padding <= shape.kernel - 1,
              shape.inputLayout == .channelMajor, !shape.columnsAreInput else { return nil }
        return StridedConvolutionKernel.Shape(
            input: shape.output, filters: shape.input.channels, kernel: shape.kernel, stride: 1,
            padding: shape.kernel - 1 - shape.padding, groups: shape.groups, bias: false, inputLayout: .channelMajor)
    }

    /// Numbers of one worker's `workspace` slot: a chunk's im2col matrix and its gradient
    /// (or the transposed convolution's im2col matrix).
    package static func workspaceFloats(_ shape: StridedConvolutionKernel.Shape, batchCapacity: Int) -> Int {
        let chunk = StridedConvolutionKernel.chunk(shape, batch: max(1, batchCapacity))
        var gradient = shape.columnsAreInput ? 0 : MemoryBudget.product([shape.patchSize, chunk, shape.output.planeSize])
        if let transposed = transposed(shape) {
            gradient = max(gradient, MemoryBudget.product([transposed.patchSize, chunk, transposed.output.planeSize]))
        }
        return MemoryBudget.sum(StridedConvolutionKernel.chunkColumnFloats(shape, batchCapacity: batchCapacity), gradient)
    }

    /// Per group g: dW_g = dOut_g columns_g^T; db = row sums of dOut when `shape.bias`;
    /// columns = im2col(input), rebuilt here chunk by chunk (`StridedConvolutionKernel.chunk`
    /// examples; the forward pass keeps no im2col matrix); where the shape
    /// `hasDirectWeightGradient`, dW is summed example by example from a zero-bordered copy
    /// of the input instead (`idz_conv3_same_weight_gradient`, no im2col matrix). When `inputGradient` is given:
    /// for a stride-1 convolution of a channel-major input (`transposed`), dInput is the
    /// output gradient convolved with the flipped weights (im2col of dOut and one product
    /// of depth filters * k * k per group, or `StridedConvolutionKernel.directSame` per
    /// example when the transposed convolution `isDirectSame`); otherwise dColumns_g =
    /// W_g^T dOut_g, scattered back onto the input by `col2im`.
    ///
    /// Work: the chunks form at most `maxPieces` fixed pieces (runs of consecutive chunks,
    /// from the batch size alone), each on one thread with its worker's `workspace` slot:
    /// per chunk, im2col, the weight-gradient product (summed over the piece's chunks in
    /// order by the matrix library, beta = 1) and the chunk's input gradient. The pieces'
    /// weight gradients are then added in piece order. So the bits depend on the batch
    /// size, never on the thread count.
    ///
    /// - Parameters:
    ///   - outputGradient: dL/dOut, channel-major [filters, batch, outH, outW].
    ///   - input: the forward pass's input, `batch` examples in `shape.inputLayout`.
    ///   - weightGradient: `shape.weightCount` numbers, overwritten.
    ///   - biasGradient: `filters` numbers, overwritten when `shape.bias`.
    ///   - inputGradient: dL/dInput in `shape.inputLayout`, overwritten when given; not `input`.
    ///   - partials: `partialFloats(shape, batchCapacity: batch)` numbers of scratch.
    ///   - workspace: slots of at least `workspaceFloats(shape, batchCapacity: batch)`
    ///     numbers; reserved here for the workers used.
    package static func backward(
        _ shape: StridedConvolutionKernel.Shape, outputGradient: UnsafePointer<Float>, input: UnsafePointer<Float>,
        batch: Int, weight: UnsafePointer<Float>,
        weightGradient: UnsafeMutablePointer<Float>, biasGradient: UnsafeMutablePointer<Float>?,
        inputGradient: UnsafeMutablePointer<Float>?, partials: UnsafeMutablePointer<Float>?,
        workspace: ConvolutionWorkspace, threads: Int
    ) {
        let plane = shape.output.planeSize
        let columnCount = batch * plane
        let groupFilters = shape.groupFilters, groupPatch = shape.groupPatchSize
        let weightCount = shape.weightCount
        let (chunk, chunks, pieces) = Self.pieces(shape, batch: batch)
        precondition(workspace.floatsPerWorker >= workspaceFloats(shape, batchCapacity: batch), "convolution workspace too small")
        precondition(pieces == 1 || partials != nil, "a backward pass of several pieces needs its partials scratch")
        let columnFloats = StridedConvolutionKernel.chunkColumnFloats(shape, batchCapacity: batch)
        let workers = ParallelLoop.workers(pieces: pieces, threads: threads)
        workspace.reserve(workers: workers)
        let transposed = inputGradient == nil ? nil : Self.transposed(shape)
        let flipped = partials.map { $0 + (pieces - 1) * weightCount }
        if transposed != nil, let flipped {
            // W'[g cg + c][f][a][b] = W[g gf + f][c][k-1-a][k-1-b].
            let k = shape.kernel, cg = shape.groupChannels, gf = groupFilters
            for group in 0..<shape.groups {
                for c in 0..<cg {
                    for f in 0..<gf {
                        for a in 0..<k {
                            for b in 0..<k {
                                flipped[(((group * cg + c) * gf + f) * k + a) * k + b] =
                                    weight[(((group * gf + f) * cg + c) * k + (k - 1 - a)) * k + (k - 1 - b)]
                            }
                        }
                    }
                }
            }
        }
        // Parallel over pieces: the matrix library runs on one thread.
        if workers > 1 { Gemm.setThreadCount(1) }
        ParallelLoop.forEachWithWorker(pieces: pieces, threads: threads) { piece, worker in
            let scratch = workspace.slot(worker)
            let columnScratch = scratch, gradientScratch = scratch + columnFloats
            let target = piece == 0 ? weightGradient : partials! + (piece - 1) * weightCount
            let runs = (chunks * piece / pieces)..<(chunks * (piece + 1) / pieces)
            for chunkIndex in runs {
                let examples = (chunkIndex * chunk)..<min(batch, (chunkIndex + 1) * chunk)
                let offset = examples.lowerBound * plane
                let count = examples.count * plane
                if shape.hasDirectWeightGradient {
                    for example in examples {
                        idz_conv_same_pad(
                            input, shape.inputLayout == .channelMajor ? 1 : 0, shape.input.channels, batch,
                            shape.input.height, shape.input.width, 1, example, columnScratch)
                        let first = chunkIndex == runs.lowerBound && example == examples.lowerBound
                        idz_conv3_same_weight_gradient(
                            columnScratch, shape.input.channels, shape.input.height, shape.input.width,
                            outputGradient + example * plane, shape.output.channels, columnCount, target, first ? 0 : 1)
                    }
                } else {
                    let (columns, rowLength) = StridedConvolutionKernel.chunkColumns(
                        shape, input: input, batch: batch, examples: examples, scratch: columnScratch)
                    for group in 0..<shape.groups {
                        Gemm.multiply(
                            transposeA: false, transposeB: true, m: groupFilters, n: groupPatch, k: count,
                            a: outputGradient + group * groupFilters * columnCount + offset, lda: columnCount,
                            b: columns + group * groupPatch * rowLength, ldb: rowLength,
                            beta: chunkIndex == runs.lowerBound ? 0 : 1, c: target + group * groupFilters * groupPatch, ldc: groupPatch)
                    }
                }
                guard let inputGradient else { continue }
                if let transposed, let flipped {
                    let inPlane = shape.input.planeSize
                    let inCount = examples.count * inPlane, inColumns = batch * inPlane
                    if transposed.isDirectSame {
                        for example in examples {
                            StridedConvolutionKernel.directSame(
                                transposed, input: outputGradient, batch: batch, example: example, weight: flipped,
                                padded: gradientScratch, output: inputGradient + example * inPlane, filterStride: inColumns)
                        }
                        continue
                    }
                    StridedConvolutionKernel.im2col(transposed, input: outputGradient, batch: batch, examples: examples, columns: gradientScratch)
                    let tPatch = transposed.groupPatchSize, cg = shape.groupChannels
                    for group in 0..<shape.groups {
                        Gemm.multiply(
                            transposeA: false, transposeB: false, m: cg, n: inCount, k: tPatch,
                            a: flipped + group * cg * tPatch, lda: tPatch,
                            b: gradientScratch + group * tPatch * inCount, ldb: inCount, beta: 0,
                            c: inputGradient + group * cg * inColumns + examples.lowerBound * inPlane, ldc: inColumns)
                    }
                    continue
                }
                // dColumns straight into the input gradient for a 1x1 (its columns are the input).
                let (columnGradient, gradientRow, gradientStart): (UnsafeMutablePointer<Float>, Int, Int) = shape.columnsAreInput
                    ? (inputGradient, columnCount, offset) : (gradientScratch, count, 0)
                for group in 0..<shape.groups {
                    Gemm.multiply(
                        transposeA: true, transposeB: false, m: groupPatch, n: count, k: groupFilters,
                        a: weight + group * groupFilters * groupPatch, lda: groupPatch,
                        b: outputGradient + group * groupFilters * columnCount + offset, ldb: columnCount, beta: 0,
                        c: columnGradient + group * groupPatch * gradientRow + gradientStart, ldc: gradientRow)
                }
                if !shape.columnsAreInput {
                    col2im(shape, columns: gradientScratch, batch: batch, examples: examples, output: inputGradient)
                }
            }
        }
        if pieces > 1, let partials {
            WorkSplit(count: weightCount, grain: 16_384).forEach(threads: threads) { range in
                for piece in 1..<pieces {
                    SIMDMemory.add(
                        partials + (piece - 1) * weightCount + range.lowerBound, into: weightGradient + range.lowerBound,
                        count: range.count)
                }
            }
        }
        if shape.bias, let biasGradient {
            ParallelLoop.forEach(pieces: shape.output.channels, threads: threads) { filter in
                biasGradient[filter] = VectorSum.sum(outputGradient + filter * columnCount, count: columnCount)
            }
        }
    }

    /// Writes the input gradient of the examples `examples` from `columns`, the gradient
    /// of their im2col matrix ([patchSize, examples.count * outH * outW]): every column
    /// entry added back onto the input position it was copied from (zero-padding positions
    /// dropped), each plane zeroed first. Per input number the entries come in (ki, kj)
    /// order. One thread.
    ///
    /// CIdzipKernels' `idz_col2im`: the same additions in the same order as `referenceCol2im`.
    @inline(__always)
    package static func col2im(
        _ shape: StridedConvolutionKernel.Shape, columns: UnsafePointer<Float>, batch: Int, examples: Range<Int>,
        output: UnsafeMutablePointer<Float>
    ) {
        idz_col2im(
            columns, shape.inputLayout == .channelMajor ? 1 : 0, shape.input.channels, batch,
            shape.input.height, shape.input.width, shape.kernel, shape.stride, shape.padding,
            shape.output.height, shape.output.width, examples.lowerBound, examples.count, output)
    }

    /// `col2im` written out in Swift: the definition the C kernel is tested against.
    package static func referenceCol2im(
        _ shape: StridedConvolutionKernel.Shape, columns: UnsafePointer<Float>, batch: Int, examples: Range<Int>,
        output: UnsafeMutablePointer<Float>
    ) {
        let channels = shape.input.channels
        let height = shape.input.height, width = shape.input.width
        let outHeight = shape.output.height, outWidth = shape.output.width
        let kernel = shape.kernel, pad = shape.padding, stride = shape.stride
        let outPlane = outHeight * outWidth
        let rowLength = examples.count * outPlane
        let planeSize = height * width
        let layout = shape.inputLayout
        for (index, example) in examples.enumerated() {
            for channel in 0..<channels {
                let plane = output + layout.planeOffset(channel: channel, example: example, channels: channels, batch: batch, planeSize: planeSize)
                plane.update(repeating: 0, count: planeSize)
                for ki in 0..<kernel {
                    let ys = shape.validRange(offset: ki, side: height, outSide: outHeight)
                    for kj in 0..<kernel {
                        let row = (channel * kernel + ki) * kernel + kj
                        let xs = shape.validRange(offset: kj, side: width, outSide: outWidth)
                        guard !xs.isEmpty, !ys.isEmpty else { continue }
                        let source = columns + row * rowLength + index * outPlane
                        for y in ys {
                            let line = plane + (y * stride + ki - pad) * width + (kj - pad)
                            let values = source + y * outWidth
                            if stride == 1 {
                                SIMDMemory.add(values + xs.lowerBound, into: line + xs.lowerBound, count: xs.count)
                            } else {
                                for x in xs { line[x * stride] += values[x] }
                            }
                        }
                    }
                }
            }
        }
    }
}
