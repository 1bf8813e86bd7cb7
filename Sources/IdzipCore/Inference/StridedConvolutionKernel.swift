/// Forward pass of a general 2-D convolution on a batch (PyTorch's `Conv2d` with integer
/// `stride`, integer zero `padding`, `groups` and optional bias): im2col, then one matrix
/// product per group. Depthwise convolution is `groups == input channels`. The backward
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

    /// Fills `columns`, a [patchSize, batch * outH * outW] matrix whose row (c, ki, kj) holds
    /// input[c, y stride + ki - padding, x stride + kj - padding] (zero outside the input)
    /// for every output position (example, y, x). One piece of work per row.
    package static func im2col(
        _ shape: Shape, input: UnsafePointer<Float>, batch: Int,
        columns: UnsafeMutablePointer<Float>, threads: Int
    ) {
        let channels = shape.input.channels
        let height = shape.input.height, width = shape.input.width
        let outHeight = shape.output.height, outWidth = shape.output.width
        let kernel = shape.kernel, pad = shape.padding, stride = shape.stride
        let columnCount = batch * outHeight * outWidth
        let planeSize = height * width
        let layout = shape.inputLayout
        ParallelLoop.forEach(pieces: shape.patchSize, threads: threads) { row in
            let channel = row / (kernel * kernel)
            let ki = (row / kernel) % kernel
            let kj = row % kernel
            let xs = shape.validRange(offset: kj, side: width, outSide: outWidth)
            let ys = shape.validRange(offset: ki, side: height, outSide: outHeight)
            var target = columns + row * columnCount
            for example in 0..<batch {
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

    /// output[filters, batch * outH * outW] (channel-major) = W columns (group by group),
    /// plus the bias when `shape.bias`, then max(0, .) when `relu`.
    ///
    /// - Parameters:
    ///   - columns: `im2col` of the input, or the input itself when `shape.columnsAreInput`.
    ///   - weight: `shape.weightCount` numbers, [filters, C / groups, k, k].
    ///   - bias: `filters` numbers when `shape.bias` (otherwise not read; may be nil).
    package static func forward(
        _ shape: Shape, columns: UnsafePointer<Float>, batch: Int,
        weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?, relu: Bool,
        output: UnsafeMutablePointer<Float>, threads: Int
    ) {
        let plane = shape.output.planeSize
        let columnCount = batch * plane
        let groupFilters = shape.groupFilters, groupPatch = shape.groupPatchSize
        let chunk = shape.examplesPerProduct
        for group in 0..<shape.groups {
            var first = 0
            while first < batch {
                let offset = first * plane
                Gemm.multiply(
                    transposeA: false, transposeB: false, m: groupFilters, n: min(chunk, batch - first) * plane, k: groupPatch,
                    a: weight + group * groupFilters * groupPatch, lda: groupPatch,
                    b: columns + group * groupPatch * columnCount + offset, ldb: columnCount, beta: 0,
                    c: output + group * groupFilters * columnCount + offset, ldc: columnCount)
                first += chunk
            }
        }
        let addsBias = shape.bias && bias != nil
        guard addsBias || relu else { return }
        let split = WorkSplit(count: shape.output.channels * columnCount, grain: 32_768)
        split.forEach(threads: threads) { range in
            var index = range.lowerBound
            while index < range.upperBound {
                let filter = index / columnCount
                let end = min(range.upperBound, (filter + 1) * columnCount)
                let value: Float = addsBias ? bias![filter] : 0
                if relu {
                    for i in index..<end { output[i] = max(output[i] + value, 0) }
                } else {
                    for i in index..<end { output[i] += value }
                }
                index = end
            }
        }
    }
}
