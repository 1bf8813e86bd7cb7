import Foundation
import IdzipCore

/// Backward passes of `ActivationKernels`, elementwise (PyTorch's formulas):
/// leaky ReLU dx = dy (x > 0 ? 1 : slope); GELU dx = dy (Phi(x) + x phi(x)) with
/// phi(x) = exp(-x^2 / 2) / sqrt(2 pi); tanh dx = dy (1 - y^2); sigmoid dx = dy y (1 - y).
package enum ActivationGradient {
    /// - Parameters:
    ///   - input: the forward pass's input x (read by leaky ReLU and GELU).
    ///   - output: the forward pass's output y (read by tanh and sigmoid).
    ///   - outputGradient: dL/dy.
    ///   - inputGradient: dL/dx, overwritten; may be `outputGradient`.
    package static func backward(
        _ function: ActivationKernels.Function, input: UnsafePointer<Float>, output: UnsafePointer<Float>,
        outputGradient: UnsafePointer<Float>, inputGradient: UnsafeMutablePointer<Float>, count: Int, threads: Int
    ) {
        WorkSplit(count: count, grain: 16_384).forEach(threads: threads) { range in
            switch function {
            case .leakyReLU(let slope):
                for i in range { inputGradient[i] = input[i] > 0 ? outputGradient[i] : outputGradient[i] * slope }
            case .gelu:
                for i in range {
                    let x = input[i]
                    let cdf = 0.5 * (1 + erf(x * ActivationKernels.inverseSquareRootTwo))
                    let pdf = exp(-0.5 * x * x) * inverseSquareRootTwoPi
                    inputGradient[i] = outputGradient[i] * (cdf + x * pdf)
                }
            case .tanh:
                for i in range {
                    let y = output[i]
                    inputGradient[i] = outputGradient[i] * (1 - y * y)
                }
            case .sigmoid:
                for i in range {
                    let y = output[i]
                    inputGradient[i] = outputGradient[i] * ((1 - y) * y)
                }
            }
        }
    }

    /// 1 / sqrt(2 pi).
    static let inverseSquareRootTwoPi: Float = 0.39894228040143267794
}
