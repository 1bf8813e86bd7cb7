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
        /// max(0, x) on `count` numbers per example: in place when the step aliases its
        /// source (`aliasesSource`), else into its own buffer.
        case relu(count: Int)
        /// A ReLU already applied by the step it reads; nothing to do.
        case fusedRelu
        /// [C, H, W] in `layout` to [batch, C*H*W] rows in C, H, W order.
        case flatten(ImageShape, layout: ActivationLayout)
        /// A convolution with stride, padding, groups or no bias (version 3); output
        /// channel-major; `relu` fuses a following ReLU.
        case stridedConvolution(StridedConvolutionKernel.Shape, weightOffset: Int, biasOffset: Int?, relu: Bool)
        /// Batch normalisation: parameters weight and bias at the offsets, running mean and
        /// variance at `bufferOffset` and `bufferOffset + C` of the buffer vector.
        case batchNorm(BatchNormKernel.Shape, weightOffset: Int, biasOffset: Int, bufferOffset: Int, relu: Bool)
        case averagePool(AveragePoolKernel.Shape)
        /// [C, H, W] planes in `layout` to [batch, C] rows.
        case globalAveragePool(ImageSize, layout: ActivationLayout)
        /// The source's output plus step `others[index]`'s output; each operand in its layout.
        case add(ImageSize, firstLayout: ActivationLayout, secondLayout: ActivationLayout, outputLayout: ActivationLayout, relu: Bool)
        /// Inverted dropout in training, the identity at inference; `layer` numbers the
        /// dropout layers of the network from 0 (its mask's positions, `ForwardPass.TrainingContext`).
        case dropout(ImageSize, layout: ActivationLayout, rate: Float, layer: Int)
        /// An elementwise activation on `count` numbers per example.
        case activation(ActivationKernels.Function, count: Int)
    }

    package let architecture: Architecture
    package let steps: [Step]
    /// The step each step reads (-1: the network input). Step i is layer i; a last
    /// flatten step added after the layers reads the last layer.
    package let sources: [Int]
    /// An add step's second operand (-1: the input); nil for other steps.
    package let others: [Int?]
    /// Whether the step's output lives in its source's buffer (a ReLU or dropout in place,
    /// a fused ReLU, a flatten with nothing to reorder). Only when the source has no other
    /// reader and nothing needs the source's value afterwards.
    package let aliasesSource: [Bool]
    /// Memory order of each step's output ([C] and [features] outputs: example-major).
    package let layouts: [ActivationLayout]
    /// Numbers per example after each step.
    package let outputCounts: [Int]
    /// Numbers per input example.
    package let inputCount: Int
    package let parameterCount: Int
    /// Floats of the buffer vector (running means and variances); 0 without batch norm.
    package let bufferCount: Int
    /// Numbers per example of the last step (the logits).
    package var classCount: Int { outputCounts.last ?? 0 }
    /// Whether any step uses batch statistics in training (batch norm).
    package var hasBatchNorm: Bool {
        steps.contains { if case .batchNorm = $0 { true } else { false } }
    }
    /// Whether any step is a dropout layer.
    package var hasDropout: Bool {
        steps.contains { if case .dropout = $0 { true } else { false } }
    }

    /// The steps that read step `index`'s output (as source or second operand), ascending.
    package func readers(of index: Int) -> [Int] {
        steps.indices.filter { sources[$0] == index || others[$0] == index }
    }

    package init(_ architecture: Architecture) throws(InferenceError) {
        let shapes: (inputs: [[Int]], outputs: [[Int]])
        let tensors: [TensorSpec]
        do {
            shapes = try architecture.layerShapes()
            tensors = try architecture.parameterTensors()
            bufferCount = try architecture.bufferCount()
        } catch {
            throw .architecture(error.description)
        }
        self.architecture = architecture
        parameterCount = tensors.reduce(0) { $0 + $1.count }
        inputCount = architecture.inputShape.reduce(1, *)
        let layers = architecture.layers
        let count = layers.count

        var sources = layers.indices.map { architecture.source(of: $0) }
        var others: [Int?] = layers.map { if case .add(let other) = $0 { other } else { nil } }
        // Readers of each layer's output (the network's output has one more: the loss).
        var readerCount = [Int](repeating: 0, count: count)
        var inputReaders = 0
        for index in 0..<count {
            for operand in [sources[index], others[index]].compactMap({ $0 }) {
                if operand >= 0 { readerCount[operand] += 1 } else { inputReaders += 1 }
            }
        }
        readerCount[count - 1] += 1

        var steps: [Step] = []
        var counts: [Int] = []
        var layouts: [ActivationLayout] = []
        var aliases: [Bool] = []
        var tensorIndex = 0
        var bufferOffset = 0
        var dropoutLayer = 0
        func layout(of source: Int) -> ActivationLayout { source < 0 ? .exampleMajor : layouts[source] }
        /// Whether a step that changes its input in place may work on `source`'s buffer:
        /// nothing else reads it, and no step of the buffer needs the value in its backward
        /// pass (ReLU, tanh and sigmoid differentiate from their outputs).
        func mayOverwrite(_ source: Int) -> Bool {
            guard (source < 0 ? inputReaders : readerCount[source]) == 1 else { return false }
            var step = source
            while step >= 0 {
                switch steps[step] {
                case .relu, .fusedRelu, .activation(.tanh, _), .activation(.sigmoid, _): return false
                default: break
                }
                guard aliases[step] else { break }
                step = sources[step]
            }
            return true
        }
        for (index, layer) in layers.enumerated() {
            let input = shapes.inputs[index]
            let output = shapes.outputs[index]
            let source = sources[index]
            let inputLayout = layout(of: source)
            var outputLayout = inputLayout
            var alias = false
            switch layer {
            case .dense(let units):
                steps.append(.dense(
                    inputs: input[0], outputs: units,
                    weightOffset: tensors[tensorIndex].offset, biasOffset: tensors[tensorIndex + 1].offset,
                    relu: false))
                tensorIndex += 2
                outputLayout = .exampleMajor
            case .conv2d(_, let kernel, let padding):
                steps.append(.convolution(Convolution(
                    input: Self.image(input), output: Self.image(output), kernel: kernel,
                    padding: padding == .same ? (kernel - 1) / 2 : 0, inputLayout: inputLayout,
                    weightOffset: tensors[tensorIndex].offset, biasOffset: tensors[tensorIndex + 1].offset),
                    relu: false))
                tensorIndex += 2
                outputLayout = .channelMajor
            case .convolution(let c):
                let shape = StridedConvolutionKernel.Shape(
                    input: ImageSize(Self.image(input)), filters: c.filters, kernel: c.kernel, stride: c.stride,
                    padding: c.padding, groups: c.groups, bias: c.bias, inputLayout: inputLayout)
                steps.append(.stridedConvolution(
                    shape, weightOffset: tensors[tensorIndex].offset,
                    biasOffset: c.bias ? tensors[tensorIndex + 1].offset : nil, relu: false))
                tensorIndex += c.bias ? 2 : 1
                outputLayout = .channelMajor
            case .batchNorm(let epsilon, let momentum):
                let shape = BatchNormKernel.Shape(
                    channels: input[0], planeSize: input.count == 3 ? input[1] * input[2] : 1,
                    layout: input.count == 3 ? inputLayout : .exampleMajor, epsilon: epsilon, momentum: momentum)
                steps.append(.batchNorm(
                    shape, weightOffset: tensors[tensorIndex].offset, biasOffset: tensors[tensorIndex + 1].offset,
                    bufferOffset: bufferOffset, relu: false))
                tensorIndex += 2
                bufferOffset += 2 * input[0]
            case .maxPool(let size):
                steps.append(.maxPool(Pooling(input: Self.image(input), output: Self.image(output), size: size, layout: inputLayout)))
            case .averagePool(let size):
                steps.append(.averagePool(AveragePoolKernel.Shape(input: ImageSize(Self.image(input)), size: size, layout: inputLayout)))
            case .globalAveragePool:
                steps.append(.globalAveragePool(ImageSize(Self.image(input)), layout: inputLayout))
                outputLayout = .exampleMajor
            case .add:
                let second = layout(of: others[index]!)
                steps.append(.add(Self.size(input), firstLayout: inputLayout, secondLayout: second, outputLayout: inputLayout, relu: false))
            case .relu:
                if source >= 0, readerCount[source] == 1, let fused = Self.fusingRelu(steps[source]) {
                    steps[source] = fused
                    steps.append(.fusedRelu)
                    alias = true
                } else {
                    steps.append(.relu(count: output.reduce(1, *)))
                    alias = mayOverwrite(source)
                }
            case .dropout(let rate):
                steps.append(.dropout(Self.size(input), layout: inputLayout, rate: rate, layer: dropoutLayer))
                dropoutLayer += 1
                alias = mayOverwrite(source)
            case .activation(let activation):
                let function: ActivationKernels.Function = switch activation {
                case .leakyReLU(let slope): .leakyReLU(slope: slope)
                case .gelu: .gelu
                case .tanh: .tanh
                case .sigmoid: .sigmoid
                }
                steps.append(.activation(function, count: output.reduce(1, *)))
            case .flatten:
                if input.count == 3 {
                    steps.append(.flatten(Self.image(input), layout: inputLayout))
                } else {
                    steps.append(.flatten(ImageShape(channels: 1, height: 1, width: input.reduce(1, *)), layout: .exampleMajor))
                }
                outputLayout = .exampleMajor
                // Nothing to reorder: the same numbers, read as rows.
                alias = (input.count != 3 || inputLayout == .exampleMajor) && (source < 0 || readerCount[source] == 1)
            case .toyGroupSum:
                throw .unsupported("the toy objective has no inputs to run on")
            }
            counts.append(output.reduce(1, *))
            layouts.append(outputLayout)
            aliases.append(alias)
        }
        // Logits leave as [batch, classes] rows in C, H, W order.
        if let last = shapes.outputs.last, last.count == 3, layouts.last == .channelMajor {
            steps.append(.flatten(Self.image(last), layout: .channelMajor))
            counts.append(last.reduce(1, *))
            layouts.append(.exampleMajor)
            aliases.append(false)
            sources.append(count - 1)
            others.append(nil)
        }
        self.steps = steps
        self.sources = sources
        self.others = others
        aliasesSource = aliases
        self.layouts = layouts
        outputCounts = counts
    }

    /// `step` with a following ReLU fused into it, if its kernel can apply one.
    private static func fusingRelu(_ step: Step) -> Step? {
        switch step {
        case .dense(let inputs, let outputs, let weightOffset, let biasOffset, false):
            .dense(inputs: inputs, outputs: outputs, weightOffset: weightOffset, biasOffset: biasOffset, relu: true)
        case .convolution(let shape, false):
            .convolution(shape, relu: true)
        case .stridedConvolution(let shape, let weightOffset, let biasOffset, false):
            .stridedConvolution(shape, weightOffset: weightOffset, biasOffset: biasOffset, relu: true)
        case .batchNorm(let shape, let weightOffset, let biasOffset, let bufferOffset, false):
            .batchNorm(shape, weightOffset: weightOffset, biasOffset: biasOffset, bufferOffset: bufferOffset, relu: true)
        case .add(let shape, let firstLayout, let secondLayout, let outputLayout, false):
            .add(shape, firstLayout: firstLayout, secondLayout: secondLayout, outputLayout: outputLayout, relu: true)
        default:
            nil
        }
    }

    /// An activation's shape for the elementwise kernels: [C, H, W], or [C] as C x 1 x 1.
    private static func size(_ shape: [Int]) -> ImageSize {
        shape.count == 3 ? ImageSize(channels: shape[0], height: shape[1], width: shape[2])
            : ImageSize(channels: shape.reduce(1, *), height: 1, width: 1)
    }

    private static func image(_ shape: [Int]) -> ImageShape {
        ImageShape(channels: shape[0], height: shape[1], width: shape[2])
    }
}
