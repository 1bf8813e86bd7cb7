import Foundation
import IdzipCore
import IdzipTraining
import Testing

/// `ActivationKernels` and `ActivationGradient` against float64 formulas (PyTorch's
/// definitions) and central finite differences of them.
@Suite struct ActivationKernelTests {
    static let functions: [(String, ActivationKernels.Function, @Sendable (Double) -> Double)] = [
        ("leaky ReLU 0.01", .leakyReLU(slope: 0.01), { $0 > 0 ? $0 : 0.01 * $0 }),
        ("leaky ReLU 0.2", .leakyReLU(slope: 0.2), { $0 > 0 ? $0 : 0.2 * $0 }),
        ("GELU", .gelu, { $0 * 0.5 * (1 + erf($0 / 2.0.squareRoot())) }),
        ("tanh", .tanh, { tanh($0) }),
        ("sigmoid", .sigmoid, { 1 / (1 + exp(-$0)) }),
    ]

    @Test(arguments: 0..<functions.count)
    func matchesReferenceAndFiniteDifferences(_ index: Int) {
        let (name, function, reference) = Self.functions[index]
        // Away from the kink of leaky ReLU at 0, where the derivative is one-sided.
        let x = TestData.uniform(2_000, seed: UInt64(index + 1), scale: 6).map { abs($0) < 1e-3 ? $0 + 3e-3 : $0 } + [-20, -8, 20, 8]
        let input = FloatBuffer(x), output = FloatBuffer(count: x.count)
        ActivationKernels.forward(function, input: input.pointer, output: output.pointer, count: x.count, threads: 2)
        let x64 = x.map(Double.init)
        KernelCheck.expectClose(output.array, x64.map(reference), absolute: 1e-6, relative: 1e-6, "\(name) output")

        let dy = TestData.uniform(x.count, seed: UInt64(index + 20))
        let gradient = FloatBuffer(dy), dx = FloatBuffer(count: x.count)
        ActivationGradient.backward(
            function, input: input.pointer, output: output.pointer, outputGradient: gradient.pointer,
            inputGradient: dx.pointer, count: x.count, threads: 2)
        let epsilon = 1e-6
        let numeric = x64.indices.map { k in
            Double(dy[k]) * (reference(x64[k] + epsilon) - reference(x64[k] - epsilon)) / (2 * epsilon)
        }
        KernelCheck.expectClose(dx.array, numeric, absolute: 1e-5, relative: 1e-4, "\(name) dx")

        // In place: the gradient buffer is also the result.
        ActivationGradient.backward(
            function, input: input.pointer, output: output.pointer, outputGradient: gradient.pointer,
            inputGradient: gradient.pointer, count: x.count, threads: 2)
        #expect(gradient.array == dx.array)
    }

    @Test func leakyReluAtZeroTakesTheSlope() {
        let input = FloatBuffer([0, -0.0]), output = FloatBuffer(count: 2)
        ActivationKernels.forward(.leakyReLU(slope: 0.1), input: input.pointer, output: output.pointer, count: 2, threads: 1)
        let gradient = FloatBuffer([1, 1]), dx = FloatBuffer(count: 2)
        ActivationGradient.backward(.leakyReLU(slope: 0.1), input: input.pointer, output: output.pointer,
                                    outputGradient: gradient.pointer, inputGradient: dx.pointer, count: 2, threads: 1)
        #expect(output.array == [0, 0])
        #expect(dx.array == [0.1, 0.1])
    }

    @Test func resultsDoNotDependOnThreadCount() {
        let x = TestData.uniform(100_000, seed: 77, scale: 5)
        let input = FloatBuffer(x)
        for (name, function, _) in Self.functions {
            let bits: [[UInt32]] = [1, 2, 3].map { threads in
                let output = FloatBuffer(count: x.count), dx = FloatBuffer(count: x.count)
                ActivationKernels.forward(function, input: input.pointer, output: output.pointer, count: x.count, threads: threads)
                ActivationGradient.backward(function, input: input.pointer, output: output.pointer, outputGradient: input.pointer,
                                            inputGradient: dx.pointer, count: x.count, threads: threads)
                return KernelCheck.bits(output.array + dx.array)
            }
            #expect(bits[1] == bits[0] && bits[2] == bits[0], "\(name)")
        }
    }
}
