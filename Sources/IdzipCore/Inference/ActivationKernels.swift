import Foundation

/// The activations beside ReLU, elementwise on float32 (any layout), forward passes; the
/// backward passes are IdzipTraining's `ActivationGradient`. Formulas are PyTorch's
/// (`LeakyReLU`, `GELU()` in its erf form, `Tanh`, `Sigmoid`). GELU, tanh and sigmoid call
/// the platform's erff, tanhf and expf: inference activations need not be bit-exact across
/// platforms (issue 12); on one platform they are the same on every run and thread count.
package enum ActivationKernels {
    package enum Function: Sendable, Hashable {
        /// x for x > 0, slope * x otherwise (PyTorch's default slope 0.01).
        case leakyReLU(slope: Float)
        /// x * Phi(x) = x * 0.5 * (1 + erf(x / sqrt 2)) (Hendrycks and Gimpel 2016).
        case gelu
        case tanh
        /// 1 / (1 + exp(-x)).
        case sigmoid
    }

    /// output[i] = f(input[i]) for `count` numbers; `output` may be `input`.
    package static func forward(
        _ function: Function, input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, count: Int, threads: Int
    ) {
        WorkSplit(count: count, grain: 16_384).forEach(threads: threads) { range in
            switch function {
            case .leakyReLU(let slope):
                for i in range {
                    let x = input[i]
                    output[i] = x > 0 ? x : x * slope
                }
            case .gelu:
                for i in range { output[i] = gelu(input[i]) }
            case .tanh:
                for i in range { output[i] = tanh(input[i]) }
            case .sigmoid:
                for i in range { output[i] = sigmoid(input[i]) }
            }
        }
    }

    /// 1 / sqrt(2).
    package static let inverseSquareRootTwo: Float = 0.70710678118654752440

    @inline(__always)
    package static func gelu(_ x: Float) -> Float {
        x * 0.5 * (1 + erf(x * inverseSquareRootTwo))
    }

    @inline(__always)
    package static func sigmoid(_ x: Float) -> Float {
        1 / (1 + exp(-x))
    }
}
