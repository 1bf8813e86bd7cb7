import IdzipCore
import IdzipTraining
import Testing

/// `AddKernel` (the merge of a residual block) and `AddGradient` (the gradient fan-out to
/// both operands), across layouts.
@Suite struct AddKernelTests {
    static let layouts: [(ActivationLayout, ActivationLayout, ActivationLayout)] = [
        (.channelMajor, .channelMajor, .channelMajor),
        (.exampleMajor, .channelMajor, .channelMajor),
        (.channelMajor, .exampleMajor, .exampleMajor),
        (.exampleMajor, .exampleMajor, .channelMajor),
    ]

    @Test(arguments: 0..<layouts.count)
    func sumAndGradientsAcrossLayouts(_ index: Int) {
        let (firstLayout, secondLayout, outputLayout) = Self.layouts[index]
        let image = ImageSize(channels: 3, height: 3, width: 5)
        let batch = 4
        func arrange(_ values: [Float], _ layout: ActivationLayout) -> [Float] {
            KernelCheck.arrange(values, channels: 3, planeSize: 15, batch: batch, layout: layout)
        }
        func logical(_ values: [Float], _ layout: ActivationLayout) -> [Float] {
            KernelCheck.logical(values, channels: 3, planeSize: 15, batch: batch, layout: layout)
        }
        let a = TestData.uniform(batch * image.count, seed: 1), b = TestData.uniform(batch * image.count, seed: 2)
        let first = FloatBuffer(arrange(a, firstLayout)), second = FloatBuffer(arrange(b, secondLayout))
        let output = FloatBuffer(count: a.count)
        AddKernel.forward(
            image, first: first.pointer, firstLayout: firstLayout, second: second.pointer, secondLayout: secondLayout,
            batch: batch, output: output.pointer, outputLayout: outputLayout, threads: 2)
        #expect(logical(output.array, outputLayout) == zip(a, b).map { $0 + $1 })
        AddKernel.forward(
            image, first: first.pointer, firstLayout: firstLayout, second: second.pointer, secondLayout: secondLayout,
            batch: batch, output: output.pointer, outputLayout: outputLayout, relu: true, threads: 2)
        #expect(logical(output.array, outputLayout) == zip(a, b).map { max($0 + $1, 0) })

        // dL/da = dL/db = dL/dy; the second operand's buffer already holds another
        // consumer's gradient, to which this one is added.
        let dy = TestData.uniform(a.count, seed: 3), other = TestData.uniform(a.count, seed: 4)
        let outputGradient = FloatBuffer(arrange(dy, outputLayout))
        let firstGradient = FloatBuffer(count: a.count), secondGradient = FloatBuffer(arrange(other, secondLayout))
        AddGradient.backward(
            image, outputGradient: outputGradient.pointer, outputLayout: outputLayout, batch: batch,
            inputGradient: firstGradient.pointer, inputLayout: firstLayout, accumulate: false, threads: 2)
        AddGradient.backward(
            image, outputGradient: outputGradient.pointer, outputLayout: outputLayout, batch: batch,
            inputGradient: secondGradient.pointer, inputLayout: secondLayout, accumulate: true, threads: 2)
        #expect(logical(firstGradient.array, firstLayout) == dy)
        #expect(logical(secondGradient.array, secondLayout) == zip(other, dy).map { $0 + $1 })
    }

    /// [C] rows and in-place sums (output = first operand's buffer), on 1 and 3 threads.
    @Test func rowsInPlace() {
        let image = ImageSize(channels: 70_000, height: 1, width: 1)
        let a = TestData.uniform(2 * image.count, seed: 5), b = TestData.uniform(2 * image.count, seed: 6)
        for threads in [1, 3] {
            let first = FloatBuffer(a), second = FloatBuffer(b)
            AddKernel.forward(
                image, first: first.pointer, firstLayout: .exampleMajor, second: second.pointer, secondLayout: .exampleMajor,
                batch: 2, output: first.pointer, outputLayout: .exampleMajor, threads: threads)
            #expect(first.array == zip(a, b).map { $0 + $1 })
        }
    }
}
