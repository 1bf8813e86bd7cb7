import IdzipCore
import IdzipTraining
import Testing

/// `StridedConvolutionKernel` and `StridedConvolutionGradient` (stride, zero padding, groups,
/// depthwise, 1x1, optional bias) against a plain float64 convolution written from PyTorch's
/// `Conv2d` definition, and the backward pass against its central finite differences.
@Suite struct StridedConvolutionKernelTests {
    struct Case: Sendable, CustomStringConvertible {
        var channels: Int, height: Int, width: Int
        var filters: Int, kernel: Int, stride: Int, padding: Int, groups: Int
        var bias: Bool
        var layout: ActivationLayout
        var batch: Int
        var description: String {
            "C\(channels) \(height)x\(width) F\(filters) k\(kernel) s\(stride) p\(padding) g\(groups) bias \(bias) \(layout) batch \(batch)"
        }

        var shape: StridedConvolutionKernel.Shape {
            StridedConvolutionKernel.Shape(
                input: ImageSize(channels: channels, height: height, width: width), filters: filters, kernel: kernel,
                stride: stride, padding: padding, groups: groups, bias: bias, inputLayout: layout)
        }
    }

    static let cases: [Case] = [
        // ResNet's downsampling 3x3 convolution: stride 2, padding 1, no bias.
        Case(channels: 2, height: 7, width: 7, filters: 4, kernel: 3, stride: 2, padding: 1, groups: 1, bias: false, layout: .channelMajor, batch: 3),
        Case(channels: 2, height: 6, width: 5, filters: 3, kernel: 3, stride: 2, padding: 1, groups: 1, bias: true, layout: .exampleMajor, batch: 2),
        // Depthwise.
        Case(channels: 4, height: 6, width: 6, filters: 4, kernel: 3, stride: 1, padding: 1, groups: 4, bias: true, layout: .channelMajor, batch: 2),
        // Depthwise with a channel multiplier, strided, on the network input.
        Case(channels: 3, height: 7, width: 6, filters: 6, kernel: 3, stride: 2, padding: 0, groups: 3, bias: false, layout: .exampleMajor, batch: 2),
        // Grouped, a dropped edge.
        Case(channels: 4, height: 5, width: 5, filters: 6, kernel: 2, stride: 2, padding: 0, groups: 2, bias: true, layout: .channelMajor, batch: 2),
        // 1x1 on a channel-major input: no im2col (columns are the input).
        Case(channels: 3, height: 4, width: 5, filters: 4, kernel: 1, stride: 1, padding: 0, groups: 1, bias: true, layout: .channelMajor, batch: 3),
        // ResNet's 1x1 stride-2 projection shortcut.
        Case(channels: 3, height: 6, width: 6, filters: 5, kernel: 1, stride: 2, padding: 0, groups: 1, bias: false, layout: .channelMajor, batch: 2),
        // Large window and padding, stride 3.
        Case(channels: 2, height: 8, width: 9, filters: 2, kernel: 5, stride: 3, padding: 2, groups: 1, bias: true, layout: .channelMajor, batch: 2),
        // Padding larger than the window reach: whole zero rows and columns.
        Case(channels: 1, height: 3, width: 3, filters: 2, kernel: 2, stride: 1, padding: 2, groups: 1, bias: true, layout: .exampleMajor, batch: 2),
        // Same padding, stride 1.
        Case(channels: 2, height: 5, width: 5, filters: 3, kernel: 3, stride: 1, padding: 1, groups: 1, bias: true, layout: .channelMajor, batch: 2),
    ]

    /// Float64 Conv2d on logical [batch][C][H][W]; returns logical [batch][F][OH][OW].
    static func reference(_ c: Case, x: [Double], weight: [Double], bias: [Double]) -> [Double] {
        let shape = c.shape
        let oh = shape.output.height, ow = shape.output.width
        let cg = c.channels / c.groups, fg = c.filters / c.groups
        var y = [Double](repeating: 0, count: c.batch * c.filters * oh * ow)
        for e in 0..<c.batch {
            for f in 0..<c.filters {
                let g = f / fg
                for oy in 0..<oh {
                    for ox in 0..<ow {
                        var sum = c.bias ? bias[f] : 0
                        for ci in 0..<cg {
                            let channel = g * cg + ci
                            for ki in 0..<c.kernel {
                                for kj in 0..<c.kernel {
                                    let iy = oy * c.stride + ki - c.padding, ix = ox * c.stride + kj - c.padding
                                    guard iy >= 0, iy < c.height, ix >= 0, ix < c.width else { continue }
                                    sum += weight[((f * cg + ci) * c.kernel + ki) * c.kernel + kj]
                                        * x[((e * c.channels + channel) * c.height + iy) * c.width + ix]
                                }
                            }
                        }
                        y[((e * c.filters + f) * oh + oy) * ow + ox] = sum
                    }
                }
            }
        }
        return y
    }

    struct Result {
        var output: [Float]
        var weightGradient: [Float]
        var biasGradient: [Float]
        var inputGradient: [Float]
    }

    /// Forward then backward; `x` in the case's layout, outputs channel-major.
    static func run(_ c: Case, x: [Float], weight: [Float], bias: [Float], outputGradient: [Float], threads: Int) -> Result {
        let shape = c.shape
        let columnCount = c.batch * shape.output.planeSize
        let input = FloatBuffer(x)
        let w = FloatBuffer(weight), b = FloatBuffer(bias)
        let output = FloatBuffer(count: c.filters * columnCount)
        let forwardSpace = ConvolutionWorkspace(floatsPerWorker: StridedConvolutionKernel.chunkColumnFloats(shape, batchCapacity: c.batch))
        StridedConvolutionKernel.forward(
            shape, input: input.pointer, batch: c.batch, weight: w.pointer, bias: c.bias ? b.pointer : nil, relu: false,
            output: output.pointer, workspace: forwardSpace, threads: threads)
        let dy = FloatBuffer(outputGradient)
        let dw = FloatBuffer(count: shape.weightCount), db = FloatBuffer(count: c.bias ? c.filters : 0)
        let partials = FloatBuffer(count: StridedConvolutionGradient.partialFloats(shape, batchCapacity: c.batch))
        let backwardSpace = ConvolutionWorkspace(floatsPerWorker: StridedConvolutionGradient.workspaceFloats(shape, batchCapacity: c.batch))
        let dx = FloatBuffer(count: x.count)
        StridedConvolutionGradient.backward(
            shape, outputGradient: dy.pointer, input: input.pointer, batch: c.batch, weight: w.pointer,
            weightGradient: dw.pointer, biasGradient: c.bias ? db.pointer : nil, inputGradient: dx.pointer,
            partials: partials.pointer, workspace: backwardSpace, threads: threads)
        #expect(input.array == x, "the backward pass leaves its input alone")
        return Result(output: output.array, weightGradient: dw.array, biasGradient: db.array, inputGradient: dx.array)
    }

    /// With `sampled`, finite differences at 40 inputs and 40 weights only (large cases).
    static func check(_ c: Case, seed: UInt64, sampled: Bool = false) {
        let shape = c.shape
        #expect(shape.isValid)
        let inputCount = c.batch * c.channels * c.height * c.width
        let outputCount = c.batch * shape.output.count
        let logicalX = TestData.uniform(inputCount, seed: seed)
        let weight = TestData.uniform(shape.weightCount, seed: seed + 1)
        let bias = TestData.uniform(c.filters, seed: seed + 2)
        let logicalW = TestData.uniform(outputCount, seed: seed + 3)
        let plane = c.height * c.width, outPlane = shape.output.planeSize
        let x = KernelCheck.arrange(logicalX, channels: c.channels, planeSize: plane, batch: c.batch, layout: c.layout)
        let dy = KernelCheck.arrange(logicalW, channels: c.filters, planeSize: outPlane, batch: c.batch, layout: .channelMajor)
        let result = Self.run(c, x: x, weight: weight, bias: bias, outputGradient: dy, threads: 2)

        let x64 = logicalX.map(Double.init), w64 = weight.map(Double.init), b64 = bias.map(Double.init)
        let expected = Self.reference(c, x: x64, weight: w64, bias: b64)
        let output = KernelCheck.logical(result.output, channels: c.filters, planeSize: outPlane, batch: c.batch, layout: .channelMajor)
        KernelCheck.expectClose(output, expected, absolute: 1e-5, relative: 1e-5, "\(c) output")

        let loss = logicalW.map(Double.init)
        let xs = sampled ? KernelCheck.sample(40, below: x64.count, seed: seed) : Array(x64.indices)
        let ws = sampled ? KernelCheck.sample(40, below: w64.count, seed: seed + 1) : Array(w64.indices)
        let dx = KernelCheck.numericGradient(x64, at: xs) { KernelCheck.dot(loss, Self.reference(c, x: $0, weight: w64, bias: b64)) }
        let dw = KernelCheck.numericGradient(w64, at: ws) { KernelCheck.dot(loss, Self.reference(c, x: x64, weight: $0, bias: b64)) }
        let inputGradient = KernelCheck.logical(result.inputGradient, channels: c.channels, planeSize: plane, batch: c.batch, layout: c.layout)
        KernelCheck.expectClose(xs.map { inputGradient[$0] }, dx, absolute: 1e-5, relative: 1e-4, "\(c) dx")
        KernelCheck.expectClose(ws.map { result.weightGradient[$0] }, dw, absolute: 1e-5, relative: 1e-4, "\(c) dW")
        if c.bias {
            let db = KernelCheck.numericGradient(b64) { KernelCheck.dot(loss, Self.reference(c, x: x64, weight: w64, bias: $0)) }
            KernelCheck.expectClose(result.biasGradient, db, absolute: 1e-5, relative: 1e-4, "\(c) db")
        }
    }

    @Test(arguments: 0..<cases.count)
    func matchesReferenceAndFiniteDifferences(_ index: Int) {
        Self.check(Self.cases[index], seed: UInt64(100 * index + 1))
    }

    /// Products over several chunks of examples (examplesPerProduct < batch), grouped.
    @Test func chunkedProductsMatchReference() {
        let c = Case(channels: 8, height: 20, width: 20, filters: 64, kernel: 3, stride: 1, padding: 1, groups: 2,
                     bias: true, layout: .channelMajor, batch: 3)
        #expect(c.shape.examplesPerProduct < c.batch)
        Self.check(c, seed: 9001, sampled: true)
    }

    /// ResNet-20's first-stage shape: the direct forward pass, the direct transposed input
    /// gradient and the direct weight gradient (`hasDirectWeightGradient`), over pieces of
    /// one example each.
    @Test func directWeightGradientMatchesReference() {
        let c = Self.directStage
        #expect(c.shape.hasDirectWeightGradient)
        Self.check(c, seed: 9201, sampled: true)
    }

    static let directStage = Case(channels: 3, height: 32, width: 32, filters: 8, kernel: 3, stride: 1, padding: 1, groups: 1,
                                  bias: true, layout: .channelMajor, batch: 3)

    /// More chunks than backward pieces (`StridedConvolutionGradient.maxPieces`): pieces
    /// of several chunks and their weight gradients added at the end.
    @Test func piecesOfSeveralChunksMatchReference() {
        let c = Self.manyChunks
        #expect(c.shape.examplesPerProduct == 1)
        #expect(c.batch > StridedConvolutionGradient.maxPieces)
        Self.check(c, seed: 9101, sampled: true)
    }

    /// One example per product, more chunks than backward pieces; stride 1 on a
    /// channel-major input, so the input gradient is the transposed convolution.
    static let manyChunks = Case(channels: 8, height: 12, width: 12, filters: 64, kernel: 3, stride: 1, padding: 1, groups: 1,
                                 bias: true, layout: .channelMajor, batch: 18)

    /// The same bits on 1, 2, 3 and 4 threads: one chunk (grouped, strided: the input
    /// gradient through col2im), and pieces of one and two chunks (the transposed
    /// convolution).
    @Test(arguments: [
        Case(channels: 6, height: 9, width: 9, filters: 6, kernel: 3, stride: 2, padding: 1, groups: 3,
             bias: true, layout: .exampleMajor, batch: 4),
        manyChunks,
        Case(channels: 2, height: 32, width: 32, filters: 4, kernel: 3, stride: 1, padding: 1, groups: 1,
             bias: false, layout: .channelMajor, batch: 19),
    ])
    func resultsDoNotDependOnThreadCount(_ c: Case) {
        let shape = c.shape
        let x = TestData.uniform(c.batch * c.channels * c.height * c.width, seed: 5)
        let weight = TestData.uniform(shape.weightCount, seed: 6), bias = TestData.uniform(c.filters, seed: 7)
        let dy = TestData.uniform(c.batch * shape.output.count, seed: 8)
        let results = [1, 2, 3, 4].map { Self.run(c, x: x, weight: weight, bias: bias, outputGradient: dy, threads: $0) }
        for result in results.dropFirst() {
            #expect(KernelCheck.bits(result.output) == KernelCheck.bits(results[0].output))
            #expect(KernelCheck.bits(result.inputGradient) == KernelCheck.bits(results[0].inputGradient))
            #expect(KernelCheck.bits(result.weightGradient) == KernelCheck.bits(results[0].weightGradient))
            #expect(KernelCheck.bits(result.biasGradient) == KernelCheck.bits(results[0].biasGradient))
        }
    }

    /// Output sizes are PyTorch's floor((H + 2p - k) / s) + 1, and impossible shapes are
    /// reported as invalid.
    @Test func outputSizesAndValidity() {
        let image = ImageSize(channels: 16, height: 32, width: 32)
        let down = StridedConvolutionKernel.Shape(input: image, filters: 32, kernel: 3, stride: 2, padding: 1, groups: 1, bias: false, inputLayout: .channelMajor)
        #expect(down.output == ImageSize(channels: 32, height: 16, width: 16))
        let projection = StridedConvolutionKernel.Shape(input: image, filters: 32, kernel: 1, stride: 2, padding: 0, groups: 1, bias: false, inputLayout: .channelMajor)
        #expect(projection.output == ImageSize(channels: 32, height: 16, width: 16))
        let odd = StridedConvolutionKernel.Shape(input: ImageSize(channels: 1, height: 28, width: 27), filters: 1, kernel: 5, stride: 3, padding: 0, inputLayout: .exampleMajor)
        #expect(odd.output == ImageSize(channels: 1, height: 8, width: 8))
        #expect(down.isValid && projection.isValid && odd.isValid)
        #expect(!StridedConvolutionKernel.Shape(input: image, filters: 32, kernel: 3, groups: 3, inputLayout: .channelMajor).isValid)
        #expect(!StridedConvolutionKernel.Shape(input: image, filters: 30, kernel: 3, groups: 4, inputLayout: .channelMajor).isValid)
        #expect(!StridedConvolutionKernel.Shape(input: ImageSize(channels: 1, height: 2, width: 2), filters: 1, kernel: 5, inputLayout: .channelMajor).isValid)
    }
}
