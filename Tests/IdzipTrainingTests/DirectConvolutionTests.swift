import CIdzipKernels
import IdzipCore
import IdzipTraining
import Testing

/// CIdzipKernels' direct "same" convolution (`idz_conv_same`, the forward pass and the
/// transposed input gradient of `StridedConvolutionKernel.Shape.isDirectSame` shapes)
/// against its definition: the im2col matrix (`referenceIm2col`) and, per output number,
/// one fused multiply-add per patch row in row order from 0. Bit for bit, on every level,
/// for filter counts that use each block size (16, 8, 4, 1) and widths that use each
/// vector length (16, 8, two 8-wide rows, a masked tail).
@Suite struct DirectConvolutionTests {
    struct Case: CustomStringConvertible {
        var channels: Int, height: Int, width: Int, filters: Int, kernel: Int
        var layout: ActivationLayout
        var batch: Int
        var description: String { "C\(channels) \(height)x\(width) F\(filters) k\(kernel) \(layout) batch \(batch)" }
        var shape: StridedConvolutionKernel.Shape {
            StridedConvolutionKernel.Shape(
                input: ImageSize(channels: channels, height: height, width: width), filters: filters, kernel: kernel,
                stride: 1, padding: (kernel - 1) / 2, groups: 1, bias: false, inputLayout: layout)
        }
    }

    static let cases: [Case] = [
        Case(channels: 3, height: 32, width: 32, filters: 16, kernel: 3, layout: .exampleMajor, batch: 2),
        Case(channels: 16, height: 16, width: 16, filters: 32, kernel: 3, layout: .channelMajor, batch: 2),
        Case(channels: 5, height: 8, width: 8, filters: 29, kernel: 3, layout: .channelMajor, batch: 3),
        Case(channels: 2, height: 7, width: 37, filters: 13, kernel: 3, layout: .channelMajor, batch: 2),
        Case(channels: 1, height: 1, width: 1, filters: 3, kernel: 3, layout: .exampleMajor, batch: 1),
        Case(channels: 3, height: 5, width: 25, filters: 21, kernel: 5, layout: .exampleMajor, batch: 2),
        Case(channels: 4, height: 3, width: 17, filters: 5, kernel: 1, layout: .exampleMajor, batch: 2),
        Case(channels: 2, height: 9, width: 2, filters: 17, kernel: 3, layout: .channelMajor, batch: 4),
        // MNIST-BN's planes (8 + masked 6, masked 7), and 8-wide planes of odd height (two
        // rows per vector, then one).
        Case(channels: 2, height: 14, width: 14, filters: 16, kernel: 3, layout: .channelMajor, batch: 2),
        Case(channels: 4, height: 7, width: 7, filters: 20, kernel: 3, layout: .channelMajor, batch: 2),
        Case(channels: 3, height: 9, width: 8, filters: 24, kernel: 3, layout: .channelMajor, batch: 2),
        Case(channels: 2, height: 5, width: 8, filters: 6, kernel: 5, layout: .exampleMajor, batch: 2),
    ]

    /// The definition: output[f][e][p] = fma chain over the im2col rows in order.
    static func reference(_ c: Case, x: [Float], weight: [Float]) -> [Float] {
        let shape = c.shape
        let plane = shape.output.planeSize, patch = shape.patchSize
        var columns = [Float](repeating: 0, count: patch * c.batch * plane)
        x.withUnsafeBufferPointer { x in
            columns.withUnsafeMutableBufferPointer {
                StridedConvolutionKernel.referenceIm2col(
                    shape, input: x.baseAddress!, batch: c.batch, examples: 0..<c.batch, columns: $0.baseAddress!)
            }
        }
        let n = c.batch * plane
        var output = [Float](repeating: 0, count: c.filters * n)
        for f in 0..<c.filters {
            for column in 0..<n {
                var sum: Float = 0
                for row in 0..<patch { sum = sum.addingProduct(weight[f * patch + row], columns[row * n + column]) }
                output[f * n + column] = sum
            }
        }
        return output
    }

    static func direct(_ c: Case, x: [Float], weight: [Float], level: Int32?) -> [Float] {
        let shape = c.shape
        let plane = shape.output.planeSize
        var output = [Float](repeating: .nan, count: c.filters * c.batch * plane)
        var padded = [Float](repeating: .nan, count: shape.paddedFloats)
        x.withUnsafeBufferPointer { x in
            weight.withUnsafeBufferPointer { weight in
                output.withUnsafeMutableBufferPointer { output in
                    padded.withUnsafeMutableBufferPointer { padded in
                        for example in 0..<c.batch {
                            if let level {
                                idz_conv_same_pad(
                                    x.baseAddress!, c.layout == .channelMajor ? 1 : 0, c.channels, c.batch, c.height, c.width,
                                    shape.padding, example, padded.baseAddress!)
                                idz_conv_same_at_level(
                                    level, padded.baseAddress!, c.channels, c.height, c.width, c.kernel, weight.baseAddress!,
                                    c.filters, output.baseAddress! + example * plane, c.batch * plane)
                            } else {
                                StridedConvolutionKernel.directSame(
                                    shape, input: x.baseAddress!, batch: c.batch, example: example, weight: weight.baseAddress!,
                                    padded: padded.baseAddress!, output: output.baseAddress! + example * plane,
                                    filterStride: c.batch * plane)
                            }
                        }
                    }
                }
            }
        }
        return output
    }

    @Test(arguments: 0..<cases.count)
    func matchesTheFusedMultiplyAddDefinitionOnEveryLevel(_ index: Int) {
        let c = Self.cases[index]
        #expect(c.shape.isDirectSame)
        #expect(c.shape.paddedFloats <= StridedConvolutionKernel.chunkColumnFloats(c.shape, batchCapacity: 1))
        let x = TestData.uniform(c.batch * c.channels * c.height * c.width, seed: UInt64(index + 11))
        let weight = TestData.uniform(c.shape.weightCount, seed: UInt64(index + 31))
        let expected = KernelCheck.bits(Self.reference(c, x: x, weight: weight))
        #expect(KernelCheck.bits(Self.direct(c, x: x, weight: weight, level: nil)) == expected, "\(c) default level")
        for level in [IDZ_KERNELS_PORTABLE, IDZ_KERNELS_AVX2, IDZ_KERNELS_AVX512] {
            #expect(KernelCheck.bits(Self.direct(c, x: x, weight: weight, level: Int32(level))) == expected, "\(c) level \(level)")
        }
    }

    /// The weight gradient's definition (`idz_conv3_same_weight_gradient`): per weight, 16
    /// lanes of fused multiply-adds over the positions (lane = x mod 16), the lanes added
    /// in order; written for the first example, added for the next ones. Every level.
    @Test(arguments: [(3, 32, 32, 16, 2), (16, 32, 32, 16, 2), (5, 4, 48, 7, 3), (2, 1, 16, 1, 1)])
    func weightGradientMatchesItsDefinitionOnEveryLevel(
        _ channels: Int, _ height: Int, _ width: Int, _ filters: Int, _ batch: Int
    ) {
        let c = Case(channels: channels, height: height, width: width, filters: filters, kernel: 3, layout: .channelMajor, batch: batch)
        let shape = c.shape
        let plane = height * width, patch = channels * 9
        let x = TestData.uniform(batch * channels * plane, seed: 41)
        let dy = TestData.uniform(filters * batch * plane, seed: 42)
        var expected = [Float](repeating: 0, count: filters * patch)
        for example in 0..<batch {
            for f in 0..<filters {
                for ch in 0..<channels {
                    for ki in 0..<3 {
                        for kj in 0..<3 {
                            var lanes = [Float](repeating: 0, count: 16)
                            for y in 0..<height {
                                for x0 in stride(from: 0, to: width, by: 16) {
                                    for l in 0..<16 {
                                        let (iy, ix) = (y + ki - 1, x0 + l + kj - 1)
                                        let value = iy >= 0 && iy < height && ix >= 0 && ix < width
                                            ? x[(ch * batch + example) * plane + iy * width + ix] : 0
                                        lanes[l] = lanes[l].addingProduct(dy[(f * batch + example) * plane + y * width + x0 + l], value)
                                    }
                                }
                            }
                            var sum = lanes[0]
                            for l in 1..<16 { sum += lanes[l] }
                            let index = f * patch + (ch * 3 + ki) * 3 + kj
                            expected[index] = example == 0 ? sum : expected[index] + sum
                        }
                    }
                }
            }
        }
        var padded = [Float](repeating: .nan, count: shape.paddedFloats)
        for level in [IDZ_KERNELS_PORTABLE, IDZ_KERNELS_AVX2, IDZ_KERNELS_AVX512] {
            var gradient = [Float](repeating: .nan, count: filters * patch)
            x.withUnsafeBufferPointer { x in
                dy.withUnsafeBufferPointer { dy in
                    for example in 0..<batch {
                        idz_conv_same_pad(x.baseAddress!, 1, channels, batch, height, width, 1, example, &padded)
                        idz_conv3_same_weight_gradient_at_level(
                            Int32(level), padded, channels, height, width, dy.baseAddress! + example * plane, filters,
                            batch * plane, &gradient, example == 0 ? 0 : 1)
                    }
                }
            }
            #expect(KernelCheck.bits(gradient) == KernelCheck.bits(expected), "\(c) level \(level)")
        }
    }

    /// Which shapes take the direct path: stride 1, one group, same-size output, and an
    /// im2col matrix to save (a channel-major 1x1 reads its input as the matrix already).
    @Test func directShapes() {
        let image = ImageSize(channels: 16, height: 32, width: 32)
        func shape(_ k: Int, _ s: Int, _ p: Int, groups: Int = 1, _ layout: ActivationLayout = .channelMajor) -> StridedConvolutionKernel.Shape {
            StridedConvolutionKernel.Shape(input: image, filters: 16, kernel: k, stride: s, padding: p, groups: groups, inputLayout: layout)
        }
        #expect(shape(3, 1, 1).isDirectSame)
        #expect(shape(5, 1, 2, .exampleMajor).isDirectSame)
        #expect(shape(1, 1, 0, .exampleMajor).isDirectSame)
        #expect(!shape(1, 1, 0).isDirectSame)
        #expect(!shape(3, 2, 1).isDirectSame)
        #expect(!shape(3, 1, 0).isDirectSame)
        #expect(!shape(3, 1, 2).isDirectSame)
        #expect(!shape(3, 1, 1, groups: 2).isDirectSame)
        #expect(!shape(2, 1, 1).isDirectSame)
        #expect(shape(3, 1, 1).hasDirectWeightGradient)
        #expect(!shape(5, 1, 2).hasDirectWeightGradient)
        #expect(!shape(3, 2, 1).hasDirectWeightGradient)
        let small = StridedConvolutionKernel.Shape(
            input: ImageSize(channels: 32, height: 16, width: 16), filters: 32, kernel: 3, stride: 1, padding: 1, inputLayout: .channelMajor)
        #expect(small.isDirectSame && !small.hasDirectWeightGradient)
    }
}
