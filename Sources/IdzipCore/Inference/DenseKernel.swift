/// Forward pass of a fully connected layer on a batch of rows.
package enum DenseKernel {
    /// y[batch, outputs] = x[batch, inputs] W^T + b, then max(0, .) when `relu`.
    /// W is [outputs, inputs], as in PyTorch.
    package static func forward(
        input: UnsafePointer<Float>, batch: Int, inputs: Int, outputs: Int,
        weight: UnsafePointer<Float>, bias: UnsafePointer<Float>, relu: Bool,
        output: UnsafeMutablePointer<Float>, threads: Int
    ) {
        Gemm.multiply(
            transposeA: false, transposeB: true, m: batch, n: outputs, k: inputs,
            a: input, lda: inputs, b: weight, ldb: inputs, beta: 0, c: output, ldc: outputs)
        let split = WorkSplit(count: batch, grain: max(1, 32_768 / max(1, outputs)))
        split.forEach(threads: threads) { rows in
            for row in rows {
                let line = output + row * outputs
                if relu {
                    for j in 0..<outputs { line[j] = max(line[j] + bias[j], 0) }
                } else {
                    for j in 0..<outputs { line[j] += bias[j] }
                }
            }
        }
    }
}
