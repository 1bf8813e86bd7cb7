/// An `Architecture` compiled for batched execution: one step per layer with every size
/// and parameter offset worked out, and the memory layout of each step's output.
package struct NetworkPlan: Sendable {
    /// One [channels, height, width] activation shape.
    package struct ImageShape: Sendable, Hashable {
        package var channels: Int
        package var height: Int
        package var width: Int
        package var planeSize: Int { height * width }
        package var count: Int { channels * height * width }
    }

    package struct Convolution: Sendable, Hashable {
        package var input: ImageShape
        package var output: ImageShape
        package var kernel: Int
        /// Zero padding on each side.
        package var padding: Int
        package var inputLayout: ActivationLayout
        package var weightOffset: Int
        package var biasOffset: Int
        /// Rows of the im2col matrix: input channels * kernel * kernel.
        package var patchSize: Int { input.channels * kernel * kernel }
        /// Examples per matrix product. Products of at most about 10^6 multiply-adds run
        /// in OpenBLAS's unpacked small-matrix kernels, 2 to 4 times faster for these thin
        /// shapes than one large packed product; large layers go one example at a time.
        package var examplesPerProduct: Int { max(1, 1_000_000 / max(1, output.channels * patchSize * output.planeSize)) }
    }

    package struct Pooling: Sendable, Hashable {
        package var input: ImageShape
        package var output: ImageShape
        package var size: Int
        package var layout: ActivationLayout
    }

    package enum Step: Sendable, Hashable {
        /// y = W x + b on [batch, inputs] rows; `relu` fuses a following ReLU.
        case dense(inputs: Int, outputs: Int, weightOffset: Int, biasOffset: Int, relu: Bool)
        /// Output always channel-major; `relu` fuses a following ReLU.
        case convolution(Convolution, relu: Bool)
        case maxPool(Pooling)
        /// max(0, x) in place, on `count` numbers per example.
        case relu(count: Int)
        /// A ReLU already applied by the step before; nothing to do.
        case fusedRelu
        /// [C, H, W] in `layout` to [batch, C*H*W] rows in C, H, W order.
        case flatten(ImageShape, layout: ActivationLayout)
    }

    package let architecture: Architecture
    package let steps: [Step]
    /// Numbers per example after each step.
    package let outputCounts: [Int]
    /// Numbers per input example.
    package let inputCount: Int
    package let parameterCount: Int
    /// Numbers per example of the last step (the logits).
    package var classCount: Int { outputCounts.last ?? 0 }

    package init(_ architecture: Architecture) throws(InferenceError) {
        let shapes: [[Int]]
        let tensors: [TensorSpec]
        do {
            shapes = try architecture.outputShapes()
            tensors = try architecture.parameterTensors()
        } catch {
            throw .architecture(error.description)
        }
        self.architecture = architecture
        parameterCount = tensors.reduce(0) { $0 + $1.count }
        inputCount = architecture.inputShape.reduce(1, *)

        var steps: [Step] = []
        var counts: [Int] = []
        var layout = ActivationLayout.exampleMajor
        if !architecture.sources.isEmpty {
            throw .unsupported("a layer graph (sources other than the layer before) cannot run yet")
        }
        var tensorIndex = 0
        for (index, layer) in architecture.layers.enumerated() {
            let input = index == 0 ? architecture.inputShape : shapes[index - 1]
            let output = shapes[index]
            let fuseNext = index + 1 < architecture.layers.count && architecture.layers[index + 1] == .relu
            switch layer {
            case .dense(let units):
                steps.append(.dense(
                    inputs: input[0], outputs: units,
                    weightOffset: tensors[tensorIndex].offset, biasOffset: tensors[tensorIndex + 1].offset,
                    relu: fuseNext))
                tensorIndex += 2
            case .conv2d(_, let kernel, let padding):
                steps.append(.convolution(Convolution(
                    input: Self.image(input), output: Self.image(output), kernel: kernel,
                    padding: padding == .same ? (kernel - 1) / 2 : 0, inputLayout: layout,
                    weightOffset: tensors[tensorIndex].offset, biasOffset: tensors[tensorIndex + 1].offset),
                    relu: fuseNext))
                tensorIndex += 2
                layout = .channelMajor
            case .maxPool(let size):
                steps.append(.maxPool(Pooling(input: Self.image(input), output: Self.image(output), size: size, layout: layout)))
            case .relu:
                if index > 0, case .dense = architecture.layers[index - 1] {
                    steps.append(.fusedRelu)
                } else if index > 0, case .conv2d = architecture.layers[index - 1] {
                    steps.append(.fusedRelu)
                } else {
                    steps.append(.relu(count: output.reduce(1, *)))
                }
            case .flatten:
                if input.count == 3 {
                    steps.append(.flatten(Self.image(input), layout: layout))
                } else {
                    steps.append(.flatten(ImageShape(channels: 1, height: 1, width: input.reduce(1, *)), layout: .exampleMajor))
                }
                layout = .exampleMajor
            case .toyGroupSum:
                throw .unsupported("the toy objective has no inputs to run on")
            case .convolution, .batchNorm, .averagePool, .globalAveragePool, .add, .dropout, .activation:
                throw .unsupported("layer type \(layer.typeName) cannot run yet")
            }
            counts.append(output.reduce(1, *))
        }
        // Logits leave as [batch, classes] rows in C, H, W order.
        if let last = shapes.last, last.count == 3, layout == .channelMajor {
            steps.append(.flatten(Self.image(last), layout: .channelMajor))
            counts.append(last.reduce(1, *))
        }
        self.steps = steps
        outputCounts = counts
    }

    private static func image(_ shape: [Int]) -> ImageShape {
        ImageShape(channels: shape[0], height: shape[1], width: shape[2])
    }
}
