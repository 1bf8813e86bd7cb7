import CIdzipKernels

/// Forward pass of a general 2-D convolution on a batch (PyTorch's `Conv2d` with integer
/// `stride`, integer zero `padding`, `groups` and optional bias): im2col, then one matrix
/// product per group, a few examples at a time (or, for `Shape.isDirectSame`, a direct
/// convolution of each example's zero-bordered copy in the product's summation order). Depthwise convolution is `groups == input channels`. The backward
/// pass is IdzipTraining's `StridedConvolutionGradient`.
///
/// Layouts: the input is in `Shape.inputLayout`; the output is always channel-major
/// [filters, batch, outH, outW], like `ConvolutionKernel`.
package enum StridedConvolutionKernel {
    package struct Shape: Sendable, Hashable {
        package var input: ImageSize
        package var output: ImageSize
        /// k of the k x k window.
        package var kernel: Int
        package var stride: Int
        /// Zero padding on each side.
        package var padding: Int
        /// 1, or up to C with C % groups == 0 and filters % groups == 0.
        package var groups: Int
        package var bias: Bool
        package var inputLayout: ActivationLayout

        /// Output side floor((side + 2 padding - kernel) / stride) + 1, as PyTorch. Call
        /// only with a `valid` combination (see `isValid`).
        package init(
            input: ImageSize, filters: Int, kernel: Int, stride: Int = 1, padding: Int = 0,
            groups: Int = 1, bias: Bool = true, inputLayout: ActivationLayout
        ) {
            self.input = input
            self.kernel = kernel
            self.stride = stride
            self.padding = padding
            self.groups = groups
            self.bias = bias
            self.inputLayout = inputLayout
            let step = max(1, stride)
            output = ImageSize(
                channels: filters,
                height: (input.height + 2 * padding - kernel) / step + 1,
                width: (input.width + 2 * padding - kernel) / step + 1)
        }

        /// Whether the sizes fit together: positive sizes, the window fits in the padded
        /// input, and channels and filters divide into the groups.
        package var isValid: Bool {
            input.channels >= 1 && input.height >= 1 && input.width >= 1 && output.channels >= 1
                && kernel >= 1 && stride >= 1 && padding >= 0 && groups >= 1
                && input.height + 2 * padding >= kernel && input.width + 2 * padding >= kernel
                && input.channels % groups == 0 && output.channels % groups == 0
        }

        /// Input channels per group.
        package var groupChannels: Int { input.channels / groups }
        /// Filters per group.
        package var groupFilters: Int { output.channels / groups }
        /// Rows of one group's block of the im2col matrix: (C / groups) * k * k (also the
        /// length of one filter's weights).
        package var groupPatchSize: Int { groupChannels * kernel * kernel }
        /// Rows of the whole im2col matrix: C * k * k, in (channel, ki, kj) order.
        package var patchSize: Int { input.channels * kernel * kernel }
        /// Weight numbers: filters * (C / groups) * k * k, PyTorch's [filters, C/groups, k, k].
        package var weightCount: Int { output.channels * groupPatchSize }

        /// A 1x1, stride-1, unpadded convolution of a channel-major input: its im2col matrix
        /// is the input itself, so no columns buffer is needed (pass the input as `columns`).
        package var columnsAreInput: Bool {
            kernel == 1 && stride == 1 && padding == 0 && inputLayout == .channelMajor
        }

        /// A stride-1, ungrouped convolution whose output planes are as large as its input's
        /// (odd window, padding (kernel - 1) / 2: ResNet's 3x3 with padding 1) and that needs
        /// an im2col matrix: computed directly from a zero-bordered copy of each example
        /// (`idz_conv_same`), the same sums in the same order as the product with the im2col
        /// matrix, without building or packing that matrix.
        package var isDirectSame: Bool {
            stride == 1 && groups == 1 && kernel % 2 == 1 && 2 * padding == kernel - 1 && !columnsAreInput
        }

        /// An `isDirectSame` 3x3 convolution on planes a multiple of 16 wide and of at least
        /// 1,024 positions (ResNet-20's first stage): its weight gradient is computed directly
        /// from each example's zero-bordered copy (`idz_conv3_same_weight_gradient`, 16 lanes
        /// per weight, then the lanes added) instead of im2col and a matrix product. On smaller
        /// planes the lanes' sums cost more than the matrix library's packing saves.
        package var hasDirectWeightGradient: Bool {
            isDirectSame && kernel == 3 && input.width % 16 == 0 && input.planeSize >= 1_024
        }

        /// Numbers of one example's zero-bordered copy for `isDirectSame`: C (H + 2p) (W + 2p),
        /// never more than the example's im2col matrix (C k^2 H W).
        package var paddedFloats: Int {
            MemoryBudget.product([input.channels, input.height + 2 * padding, input.width + 2 * padding])
        }

        /// Examples per matrix product (as `NetworkPlan.Convolution.examplesPerProduct`:
        /// products of about 10^6 multiply-adds stay in OpenBLAS's small-matrix kernels).
        package var examplesPerProduct: Int {
            max(1, 1_000_000 / max(1, groupFilters * groupPatchSize * output.planeSize))
        }

        /// Output columns x with 0 <= x stride + kj - padding < side, as a range.
        @inline(__always)
        package func validRange(offset kj: Int, side: Int, outSide: Int) -> Range<Int> {
            // x >= ceil((padding - kj) / stride), x <= floor((side - 1 + padding - kj) / stride).
            let low = padding - kj
            let first = low <= 0 ? 0 : (low + stride - 1) / stride
            let high = side - 1 + padding - kj
            let end = high < 0 ? 0 : min(outSide, high / stride + 1)
            return first..<max(first, end)
        }
    }

    /// Fills `columns`, a [patchSize, examples.count * outH * outW] matrix (row length
    /// = that count) whose row (c, ki, kj) holds input[c, y stride + ki - padding,
    /// x stride + kj - padding] (zero outside the input) for every output position
    /// (example, y, x) of the examples `examples` of the batch, in that order. One thread.
    ///
    /// CIdzipKernels' `idz_im2col`: the same numbers as `referenceIm2col`, with one copy
    /// per patch row and plane where a stride-1 convolution keeps the row length.
    @inline(__always)
    package static func im2col(
        _ shape: Shape, input: UnsafePointer<Float>, batch: Int, examples: Range<Int>,
        columns: UnsafeMutablePointer<Float>
    ) {
        idz_im2col(
            input, shape.inputLayout == .channelMajor ? 1 : 0, shape.input.channels, batch,
            shape.input.height, shape.input.width, shape.kernel, shape.stride, shape.padding,
            shape.output.height, shape.output.width, examples.lowerBound, examples.count, columns)
    }

    /// `im2col` written out in Swift, one output row at a time: the definition the C
    /// kernel is tested against (IdzipTraining's `Im2colKernelTests`).
    package static func referenceIm2col(
        _ shape: Shape, input: UnsafePointer<Float>, batch: Int, examples: Range<Int>,
        columns: UnsafeMutablePointer<Float>
    ) {
        let channels = shape.input.channels
        let height = shape.input.height, width = shape.input.width
        let outHeight = shape.output.height, outWidth = shape.output.width
        let kernel = shape.kernel, pad = shape.padding, stride = shape.stride
        let planeSize = height * width
        let layout = shape.inputLayout
        var target = columns
        for row in 0..<shape.patchSize {
            let channel = row / (kernel * kernel)
            let ki = (row / kernel) % kernel
            let kj = row % kernel
            let xs = shape.validRange(offset: kj, side: width, outSide: outWidth)
            let ys = shape.validRange(offset: ki, side: height, outSide: outHeight)
            for example in examples {
                let plane = input + layout.planeOffset(
                    channel: channel, example: example, channels: channels, batch: batch, planeSize: planeSize)
                for y in 0..<outHeight {
                    if !ys.contains(y) || xs.isEmpty {
                        for x in 0..<outWidth { target[x] = 0 }
                    } else {
                        let line = plane + (y * stride + ki - pad) * width + (kj - pad)
                        for x in 0..<xs.lowerBound { target[x] = 0 }
                        if stride == 1 {
                            SIMDMemory.copy(line + xs.lowerBound, target + xs.lowerBound, count: xs.count)
                        } else {
                            for x in xs { target[x] = line[x * stride] }
                        }
                        for x in xs.upperBound..<outWidth { target[x] = 0 }
                    }
                    target += outWidth
                }
            }
        }
    }

    /// Examples per piece of work and per matrix product: `examplesPerProduct`, at most the batch.
    @inline(__always)
    package static func chunk(_ shape: Shape, batch: Int) -> Int { max(1, min(batch, shape.examplesPerProduct)) }

    /// Numbers of one worker's im2col matrix (a chunk of examples); 0 when `columnsAreInput`.
    package static func chunkColumnFloats(_ shape: Shape, batchCapacity: Int) -> Int {
        shape.columnsAreInput ? 0
            : MemoryBudget.product([shape.patchSize, chunk(shape, batch: max(1, batchCapacity)), shape.output.planeSize])
    }

    /// The im2col matrix of one chunk of examples and where its rows start, for the chunk's
    /// products: the input itself (rows of `batch * outPlane`, from the chunk's first
    /// column) when `shape.columnsAreInput`, else `scratch` filled by `im2col` (rows of the
    /// chunk's columns).
    @inline(__always)
    package static func chunkColumns(
        _ shape: Shape, input: UnsafePointer<Float>, batch: Int, examples: Range<Int>, scratch: UnsafeMutablePointer<Float>
    ) -> (columns: UnsafePointer<Float>, rowLength: Int) {
        let plane = shape.output.planeSize
        if shape.columnsAreInput {
            return (input + examples.lowerBound * plane, batch * plane)
        }
        im2col(shape, input: input, batch: batch, examples: examples, columns: scratch)
        return (UnsafePointer(scratch), examples.count * plane)
    }

    /// One example of an `isDirectSame` convolution without bias or ReLU: output[f
    /// filterStride + p] for its filters f and output positions p, from `padded`
    /// (`paddedFloats` numbers of scratch, overwritten). One thread.
    @inline(__always)
    package static func directSame(
        _ shape: Shape, input: UnsafePointer<Float>, batch: Int, example: Int, weight: UnsafePointer<Float>,
        padded: UnsafeMutablePointer<Float>, output: UnsafeMutablePointer<Float>, filterStride: Int
    ) {
        idz_conv_same_pad(
            input, shape.inputLayout == .channelMajor ? 1 : 0, shape.input.channels, batch,
            shape.input.height, shape.input.width, shape.padding, example, padded)
        idz_conv_same(
            padded, shape.input.channels, shape.input.height, shape.input.width, shape.kernel,
            weight, shape.output.channels, output, filterStride)
    }

    /// output[filters, batch * outH * outW] (channel-major) = W im2col(input) (group by
    /// group), plus the bias when `shape.bias`, then max(0, .) when `relu`.
    ///
    /// Work: one piece per chunk of `examplesPerProduct` examples (im2col of the chunk into
    /// the worker's `workspace` slot, one matrix product per group, the bias and ReLU; for
    /// an `isDirectSame` shape, `directSame` per example instead of im2col and the product),
    /// on up to `threads` threads. Every output number comes from the same computation
    /// whatever the thread count, so the bits do not depend on it.
    ///
    /// - Parameters:
    ///   - input: `batch` examples in `shape.inputLayout`.
    ///   - weight: `shape.weightCount` numbers, [filters, C / groups, k, k].
    ///   - bias: `filters` numbers when `shape.bias` (otherwise not read; may be nil).
    ///   - workspace: slots of at least `chunkColumnFloats(shape, batchCapacity: batch)`
    ///     numbers; reserved here for the workers used.
    package static func forward(
        _ shape: Shape, input: UnsafePointer<Float>, batch: Int,
        weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?, relu: Bool,
        output: UnsafeMutablePointer<Float>, workspace: ConvolutionWorkspace, threads: Int
    ) {
        let plane = shape.output.planeSize
        let columnCount = batch * plane
        let groupFilters = shape.groupFilters, groupPatch = shape.groupPatchSize
        let chunk = Self.chunk(shape, batch: batch)
        let chunks = (batch + chunk - 1) / chunk
        precondition(workspace.floatsPerWorker >= chunkColumnFloats(shape, batchCapacity: batch), "convolution workspace too small")
        let workers = ParallelLoop.workers(pieces: chunks, threads: threads)
        workspace.reserve(workers: workers)
        // Parallel over chunks: the matrix library runs on one thread.
        if workers > 1 { Gemm.setThreadCount(1) }
        let addsBias = shape.bias && bias != nil
        ParallelLoop.forEachWithWorker(pieces: chunks, threads: threads) { piece, worker in
            let examples = (piece * chunk)..<min(batch, (piece + 1) * chunk)
            let offset = examples.lowerBound * plane
            let count = examples.count * plane
            if shape.isDirectSame {
                let padded = workspace.slot(worker)
                for example in examples {
                    directSame(shape, input: input, batch: batch, example: example, weight: weight, padded: padded,
                               output: output + example * plane, filterStride: columnCount)
                }
            } else {
                let (columns, rowLength) = chunkColumns(shape, input: input, batch: batch, examples: examples, scratch: workspace.slot(worker))
                for group in 0..<shape.groups {
                    Gemm.multiply(
                        transposeA: false, transposeB: false, m: groupFilters, n: count, k: groupPatch,
                        a: weight + group * groupFilters * groupPatch, lda: groupPatch,
                        b: columns + group * groupPatch * rowLength, ldb: rowLength, beta: 0,
                        c: output + group * groupFilters * columnCount + offset, ldc: columnCount)
                }
            }
            guard addsBias || relu else { return }
            for filter in 0..<shape.output.channels {
                let row = output + filter * columnCount + offset
                let value: Float = addsBias ? bias![filter] : 0
                if relu {
                    for i in 0..<count { row[i] = max(row[i] + value, 0) }
                } else {
                    for i in 0..<count { row[i] += value }
                }
            }
        }
    }
}
