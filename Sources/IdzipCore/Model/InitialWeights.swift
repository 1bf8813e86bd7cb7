/// theta0: the frozen random initialisation, regenerated from its seed.
public enum InitialWeights {
    /// Writes elements `elements` of tensor `tensorIndex` (described by `tensor`) into
    /// `output`, exactly as Formats/idz-v1.md defines.
    public static func fill(
        _ output: UnsafeMutableBufferPointer<Float>,
        tensor: TensorSpec,
        tensorIndex: Int,
        elements: Range<Int>,
        seed: UInt64
    ) {
        precondition(output.count == elements.count)
        let stream = RandomStream(seed: seed, purpose: .theta0, substream: UInt32(truncatingIfNeeded: tensorIndex))
        switch tensor.initScheme {
        case .zeros:
            output.update(repeating: 0)
        case .heNormal:
            stream.fillNormals(output, start: UInt64(elements.lowerBound), scale: (2.0 / Double(tensor.fanIn)).squareRoot())
        case .lecunNormal:
            stream.fillNormals(output, start: UInt64(elements.lowerBound), scale: (1.0 / Double(tensor.fanIn)).squareRoot())
        case .standardNormal:
            stream.fillNormals(output, start: UInt64(elements.lowerBound), scale: 1)
        case .glorotUniform:
            let limit = (6.0 / Double(tensor.fanIn + tensor.fanOut)).squareRoot()
            for (i, k) in elements.enumerated() {
                output[i] = Float((2 * stream.uniformDouble(UInt64(k)) - 1) * limit)
            }
        }
    }

    /// The whole theta0 for a list of tensors (D floats).
    public static func make(tensors: [TensorSpec], seed: UInt64) -> [Float] {
        let total = tensors.reduce(0) { $0 + $1.count }
        var theta = [Float](repeating: 0, count: total)
        theta.withUnsafeMutableBufferPointer { buffer in
            for (index, tensor) in tensors.enumerated() {
                let slice = UnsafeMutableBufferPointer(rebasing: buffer[tensor.range])
                fill(slice, tensor: tensor, tensorIndex: index, elements: 0..<tensor.count, seed: seed)
            }
        }
        return theta
    }
}
