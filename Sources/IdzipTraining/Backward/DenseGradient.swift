import IdzipCore

/// Backward pass of a fully connected layer y = x W^T + b on [batch, features] rows.
enum DenseGradient {
    /// Writes dW = dY^T X and db = column sums of dY, and dX = dY W when `inputGradient` is given.
    static func backward(
        outputGradient: UnsafePointer<Float>, input: UnsafePointer<Float>, batch: Int, inputs: Int, outputs: Int,
        weight: UnsafePointer<Float>, weightGradient: UnsafeMutablePointer<Float>, biasGradient: UnsafeMutablePointer<Float>,
        inputGradient: UnsafeMutablePointer<Float>?
    ) {
        Gemm.multiply(
            transposeA: true, transposeB: false, m: outputs, n: inputs, k: batch,
            a: outputGradient, lda: outputs, b: input, ldb: inputs, beta: 0, c: weightGradient, ldc: inputs)
        biasGradient.update(from: outputGradient, count: outputs)
        for row in 1..<max(1, batch) {
            let line = outputGradient + row * outputs
            for j in 0..<outputs { biasGradient[j] += line[j] }
        }
        if let inputGradient {
            Gemm.multiply(
                transposeA: false, transposeB: false, m: batch, n: inputs, k: outputs,
                a: outputGradient, lda: outputs, b: weight, ldb: inputs, beta: 0, c: inputGradient, ldc: inputs)
        }
    }
}
