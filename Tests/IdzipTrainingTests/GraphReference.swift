import Foundation
import IdzipCore

/// A plain float64 forward pass of a layer graph on a whole batch (batch normalisation
/// needs the batch), activations per example in [C, H, W] C order, written from the layer
/// definitions (PyTorch's formulas) without the engine's kernels: the yardstick for the
/// graph engine (`NetworkPlan`, `ForwardPass`, `NetworkGradient`).
enum GraphReference {
    struct Mode {
        /// Batch statistics (and running averages updated in `buffers`), dropout masks;
        /// otherwise running statistics and no dropout.
        var training: Bool
        /// The dropout mask of dropout layer j: `mask(j, example, count)` gives the
        /// multipliers (0 or 1 / (1 - rate)) of one example.
        var mask: (Int, Int, Int) -> [Double] = { _, _, count in [Double](repeating: 1, count: count) }
    }

    /// Logits [batch][classes] (flattened in C order); updates `buffers` in training mode.
    static func logits(
        _ architecture: Architecture, theta: [Double], buffers: inout [Double], inputs: [[Double]], mode: Mode
    ) throws -> [[Double]] {
        let tensors = try architecture.parameterTensors()
        let bufferTensors = try architecture.bufferTensors()
        let shapes = try architecture.layerShapes()
        var outputs: [[[Double]]] = []
        var tensorIndex = 0
        var bufferIndex = 0
        var dropoutIndex = 0
        func value(_ step: Int) -> [[Double]] { step < 0 ? inputs : outputs[step] }
        for (index, layer) in architecture.layers.enumerated() {
            let x = value(architecture.source(of: index))
            let input = shapes.inputs[index], output = shapes.outputs[index]
            let batch = x.count
            var y: [[Double]]
            switch layer {
            case .dense(let units):
                let w = tensors[tensorIndex].offset, b = tensors[tensorIndex + 1].offset
                tensorIndex += 2
                y = x.map { row in
                    (0..<units).map { o in
                        var sum = theta[b + o]
                        for i in 0..<input[0] { sum += theta[w + o * input[0] + i] * row[i] }
                        return sum
                    }
                }
            case .conv2d, .convolution:
                let c = layer.convolutionParameters!
                let w = tensors[tensorIndex].offset
                let b: Int? = c.bias ? tensors[tensorIndex + 1].offset : nil
                tensorIndex += c.bias ? 2 : 1
                let (channels, h, wd) = (input[0], input[1], input[2])
                let (oh, ow) = (output[1], output[2])
                let groupIn = channels / c.groups, groupOut = c.filters / c.groups
                y = x.map { row in
                    var result = [Double](repeating: 0, count: c.filters * oh * ow)
                    for f in 0..<c.filters {
                        let group = f / groupOut
                        for oy in 0..<oh {
                            for ox in 0..<ow {
                                var sum = b.map { theta[$0 + f] } ?? 0
                                for gc in 0..<groupIn {
                                    let ch = group * groupIn + gc
                                    for ki in 0..<c.kernel {
                                        for kj in 0..<c.kernel {
                                            let iy = oy * c.stride + ki - c.padding, ix = ox * c.stride + kj - c.padding
                                            guard iy >= 0, iy < h, ix >= 0, ix < wd else { continue }
                                            sum += theta[w + ((f * groupIn + gc) * c.kernel + ki) * c.kernel + kj] * row[(ch * h + iy) * wd + ix]
                                        }
                                    }
                                }
                                result[(f * oh + oy) * ow + ox] = sum
                            }
                        }
                    }
                    return result
                }
            case .batchNorm(let epsilon, let momentum):
                let gamma = tensors[tensorIndex].offset, beta = tensors[tensorIndex + 1].offset
                tensorIndex += 2
                let channels = input[0]
                let plane = input.count == 3 ? input[1] * input[2] : 1
                let meanOffset = bufferTensors[bufferIndex].offset, varianceOffset = bufferTensors[bufferIndex + 1].offset
                bufferIndex += 2
                y = x
                for ch in 0..<channels {
                    var mean = 0.0, variance = 0.0
                    let n = Double(batch * plane)
                    if mode.training {
                        for row in x { for p in 0..<plane { mean += row[ch * plane + p] } }
                        mean /= n
                        for row in x { for p in 0..<plane { variance += (row[ch * plane + p] - mean) * (row[ch * plane + p] - mean) } }
                        let unbiased = n > 1 ? variance / (n - 1) : variance / n
                        variance /= n
                        let m = Double(momentum)
                        buffers[meanOffset + ch] = (1 - m) * buffers[meanOffset + ch] + m * mean
                        buffers[varianceOffset + ch] = (1 - m) * buffers[varianceOffset + ch] + m * unbiased
                    } else {
                        mean = buffers[meanOffset + ch]
                        variance = buffers[varianceOffset + ch]
                    }
                    let scale = 1 / (variance + Double(epsilon)).squareRoot()
                    for e in 0..<batch {
                        for p in 0..<plane {
                            y[e][ch * plane + p] = (x[e][ch * plane + p] - mean) * scale * theta[gamma + ch] + theta[beta + ch]
                        }
                    }
                }
            case .maxPool(let size), .averagePool(let size):
                let (channels, h, wd) = (input[0], input[1], input[2])
                let (oh, ow) = (output[1], output[2])
                let isMax: Bool = if case .maxPool = layer { true } else { false }
                y = x.map { row in
                    var result = [Double](repeating: 0, count: channels * oh * ow)
                    for ch in 0..<channels {
                        for oy in 0..<oh {
                            for ox in 0..<ow {
                                var best = -Double.infinity, sum = 0.0
                                for dy in 0..<size {
                                    for dx in 0..<size {
                                        let v = row[(ch * h + oy * size + dy) * wd + ox * size + dx]
                                        best = max(best, v)
                                        sum += v
                                    }
                                }
                                result[(ch * oh + oy) * ow + ox] = isMax ? best : sum / Double(size * size)
                            }
                        }
                    }
                    return result
                }
            case .globalAveragePool:
                let plane = input[1] * input[2]
                y = x.map { row in (0..<input[0]).map { ch in row[(ch * plane)..<((ch + 1) * plane)].reduce(0, +) / Double(plane) } }
            case .add(let other):
                let second = value(other)
                y = zip(x, second).map { zip($0, $1).map { $0 + $1 } }
            case .relu:
                y = x.map { $0.map { max($0, 0) } }
            case .flatten:
                y = x
            case .dropout:
                if mode.training {
                    let j = dropoutIndex
                    y = x.enumerated().map { e, row in zip(row, mode.mask(j, e, row.count)).map { $0 * $1 } }
                } else {
                    y = x
                }
                dropoutIndex += 1
            case .activation(let activation):
                y = x.map { row in
                    row.map { v in
                        switch activation {
                        case .leakyReLU(let slope): v > 0 ? v : Double(slope) * v
                        case .gelu: v * 0.5 * (1 + erf(v / 2.0.squareRoot()))
                        case .tanh: Foundation.tanh(v)
                        case .sigmoid: 1 / (1 + exp(-v))
                        }
                    }
                }
            case .toyGroupSum:
                fatalError("not a data network")
            }
            outputs.append(y)
        }
        return outputs.last!
    }

    /// Mean cross-entropy of the batch.
    static func loss(
        _ architecture: Architecture, theta: [Double], buffers: [Double], inputs: [[Double]], labels: [Int], mode: Mode
    ) throws -> Double {
        var scratch = buffers
        let logits = try logits(architecture, theta: theta, buffers: &scratch, inputs: inputs, mode: mode)
        var total = 0.0
        for (z, label) in zip(logits, labels) {
            let largest = z.max()!
            total += log(z.reduce(0) { $0 + exp($1 - largest) }) + largest - z[label]
        }
        return total / Double(inputs.count)
    }
}
