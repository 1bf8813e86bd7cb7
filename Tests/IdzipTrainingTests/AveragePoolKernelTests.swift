import IdzipCore
import IdzipTraining
import Testing

/// `AveragePoolKernel` and `AveragePoolGradient` against float64 pooling written from the
/// definitions (PyTorch's `AvgPool2d(size)` and `AdaptiveAvgPool2d(1)` + flatten), and the
/// backward passes against central finite differences.
@Suite struct AveragePoolKernelTests {
    struct Case: Sendable, CustomStringConvertible {
        var channels: Int, height: Int, width: Int, size: Int
        var layout: ActivationLayout
        var batch: Int
        var description: String { "C\(channels) \(height)x\(width) size \(size) \(layout) batch \(batch)" }
    }

    static let cases: [Case] = [
        Case(channels: 3, height: 4, width: 4, size: 2, layout: .channelMajor, batch: 2),
        // Dropped edges.
        Case(channels: 2, height: 5, width: 7, size: 2, layout: .exampleMajor, batch: 3),
        Case(channels: 2, height: 7, width: 6, size: 3, layout: .channelMajor, batch: 2),
        Case(channels: 1, height: 8, width: 8, size: 8, layout: .exampleMajor, batch: 2),
    ]

    static func reference(_ c: Case, _ x: [Double]) -> [Double] {
        let oh = c.height / c.size, ow = c.width / c.size
        var y: [Double] = []
        for plane in 0..<(c.batch * c.channels) {
            for oy in 0..<oh {
                for ox in 0..<ow {
                    var sum = 0.0
                    for dy in 0..<c.size {
                        for dx in 0..<c.size { sum += x[(plane * c.height + oy * c.size + dy) * c.width + ox * c.size + dx] }
                    }
                    y.append(sum / Double(c.size * c.size))
                }
            }
        }
        return y
    }

    @Test(arguments: 0..<cases.count)
    func poolingMatchesReferenceAndFiniteDifferences(_ index: Int) {
        let c = Self.cases[index]
        let shape = AveragePoolKernel.Shape(input: ImageSize(channels: c.channels, height: c.height, width: c.width), size: c.size, layout: c.layout)
        let plane = c.height * c.width, outPlane = shape.output.planeSize
        #expect(shape.output.height == c.height / c.size && shape.output.width == c.width / c.size)
        let logicalX = TestData.uniform(c.batch * c.channels * plane, seed: UInt64(index + 1))
        let logicalW = TestData.uniform(c.batch * c.channels * outPlane, seed: UInt64(index + 50))
        let input = FloatBuffer(KernelCheck.arrange(logicalX, channels: c.channels, planeSize: plane, batch: c.batch, layout: c.layout))
        let output = FloatBuffer(count: c.batch * shape.output.count)
        AveragePoolKernel.forward(shape, input: input.pointer, batch: c.batch, output: output.pointer, threads: 2)
        let x64 = logicalX.map(Double.init)
        KernelCheck.expectClose(
            KernelCheck.logical(output.array, channels: c.channels, planeSize: outPlane, batch: c.batch, layout: c.layout),
            Self.reference(c, x64), absolute: 1e-6, relative: 1e-6, "\(c) output")

        let dy = FloatBuffer(KernelCheck.arrange(logicalW, channels: c.channels, planeSize: outPlane, batch: c.batch, layout: c.layout))
        let dx = FloatBuffer(count: input.count)
        AveragePoolGradient.backward(shape, outputGradient: dy.pointer, batch: c.batch, inputGradient: dx.pointer, threads: 2)
        let w = logicalW.map(Double.init)
        let numeric = KernelCheck.numericGradient(x64) { KernelCheck.dot(w, Self.reference(c, $0)) }
        KernelCheck.expectClose(
            KernelCheck.logical(dx.array, channels: c.channels, planeSize: plane, batch: c.batch, layout: c.layout),
            numeric, absolute: 1e-6, relative: 1e-5, "\(c) dx")
    }

    @Test(arguments: [ActivationLayout.channelMajor, .exampleMajor])
    func globalPoolingMatchesReferenceAndFiniteDifferences(_ layout: ActivationLayout) {
        let image = ImageSize(channels: 5, height: 3, width: 7)
        let batch = 3
        let logicalX = TestData.uniform(batch * image.count, seed: 7)
        let input = FloatBuffer(KernelCheck.arrange(logicalX, channels: 5, planeSize: 21, batch: batch, layout: layout))
        let output = FloatBuffer(count: batch * 5)
        AveragePoolKernel.globalForward(image, layout: layout, input: input.pointer, batch: batch, output: output.pointer, threads: 2)
        func reference(_ x: [Double]) -> [Double] {
            (0..<(batch * 5)).map { row in (0..<21).reduce(0.0) { $0 + x[row * 21 + $1] } / 21 }
        }
        let x64 = logicalX.map(Double.init)
        // Rows [batch, C], whatever the input layout.
        KernelCheck.expectClose(output.array, reference(x64), absolute: 1e-6, relative: 1e-6, "\(layout) output")

        let w = TestData.uniform(batch * 5, seed: 8)
        let dy = FloatBuffer(w), dx = FloatBuffer(count: input.count)
        AveragePoolGradient.globalBackward(image, layout: layout, outputGradient: dy.pointer, batch: batch, inputGradient: dx.pointer, threads: 2)
        let numeric = KernelCheck.numericGradient(x64) { KernelCheck.dot(w.map(Double.init), reference($0)) }
        KernelCheck.expectClose(
            KernelCheck.logical(dx.array, channels: 5, planeSize: 21, batch: batch, layout: layout),
            numeric, absolute: 1e-6, relative: 1e-5, "\(layout) dx")
    }

    /// The same bits on 1, 2 and 3 threads.
    @Test func resultsDoNotDependOnThreadCount() {
        let image = ImageSize(channels: 40, height: 16, width: 16)
        let shape = AveragePoolKernel.Shape(input: image, size: 2, layout: .channelMajor)
        let batch = 9
        let input = FloatBuffer(TestData.uniform(batch * image.count, seed: 3))
        let gradient = FloatBuffer(TestData.uniform(batch * shape.output.count, seed: 4))
        var seen: [[UInt32]] = []
        for threads in [1, 2, 3] {
            let pooled = FloatBuffer(count: batch * shape.output.count), global = FloatBuffer(count: batch * 40)
            let dx = FloatBuffer(count: input.count), globalDx = FloatBuffer(count: input.count)
            AveragePoolKernel.forward(shape, input: input.pointer, batch: batch, output: pooled.pointer, threads: threads)
            AveragePoolKernel.globalForward(image, layout: .channelMajor, input: input.pointer, batch: batch, output: global.pointer, threads: threads)
            AveragePoolGradient.backward(shape, outputGradient: gradient.pointer, batch: batch, inputGradient: dx.pointer, threads: threads)
            AveragePoolGradient.globalBackward(
                image, layout: .channelMajor, outputGradient: global.pointer, batch: batch, inputGradient: globalDx.pointer, threads: threads)
            seen.append(KernelCheck.bits(pooled.array + global.array + dx.array + globalDx.array))
        }
        #expect(seen[1] == seen[0] && seen[2] == seen[0])
    }
}
