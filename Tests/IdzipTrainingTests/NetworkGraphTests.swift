import Foundation
import IdzipCore
@testable import IdzipTraining
import Testing

/// The graph engine (`NetworkPlan`, `ForwardPass`, `NetworkGradient`) on networks with
/// version 3 layers, against the float64 `GraphReference`: gradients by central finite
/// differences, training and inference forward passes, running statistics, thread counts.
@Suite struct NetworkGraphTests {
    /// A ResNet basic block with a strided 1x1 projection shortcut (He et al. 2016,
    /// option B): conv-bn-relu, conv(stride 2)-bn-relu-conv-bn, shortcut conv 1x1 stride
    /// 2 - bn reading the first relu, add, relu, global average pooling, dense.
    static let residualBlock = Architecture(
        inputShape: [2, 6, 6],
        layers: [
            .convolution(Convolution2D(filters: 3, kernel: 3, padding: 1, bias: false)), .standardBatchNorm, .relu, // 0-2
            .convolution(Convolution2D(filters: 4, kernel: 3, stride: 2, padding: 1, bias: false)), .standardBatchNorm, .relu, // 3-5
            .convolution(Convolution2D(filters: 4, kernel: 3, padding: 1, bias: false)), .standardBatchNorm, // 6-7
            .convolution(Convolution2D(filters: 4, kernel: 1, stride: 2, bias: false)), .standardBatchNorm, // 8-9 (from 2)
            .add(other: 7), .relu, .globalAveragePool, .dense(units: 3), // 10-13
        ],
        sources: [-1, 0, 1, 2, 3, 4, 5, 6, 2, 8, 9, 10, 11, 12])

    /// Every other new layer: depthwise and grouped-free strided convolutions, average
    /// pooling, the activations, dropout, 1-D batch norm, an add of the block's input
    /// (an output read by two layers), flatten and dense.
    static let mixed = Architecture(
        inputShape: [2, 8, 8],
        layers: [
            .convolution(Convolution2D(filters: 4, kernel: 3, stride: 1, padding: 1, groups: 2)), // 0 depthwise x2
            .activation(.leakyReLU(slope: 0.1)), // 1
            .convolution(Convolution2D(filters: 4, kernel: 3, padding: 1)).canonical, // 2 (conv2d same)
            .activation(.gelu), // 3
            .add(other: 1), // 4: reads 3 and 1
            .averagePool(size: 2), // 5
            .activation(.tanh), // 6
            .dropout(rate: 0.25), // 7
            .flatten, // 8
            .dense(units: 6), .standardBatchNorm, .activation(.sigmoid), .dense(units: 3), // 9-12
        ])

    static let networks: [(String, Architecture)] = [("residual block", residualBlock), ("mixed layers", mixed)]

    static func rows(_ inputs: [Float], count: Int, batch: Int) -> [[Double]] {
        (0..<batch).map { row in inputs[(row * count)..<((row + 1) * count)].map(Double.init) }
    }

    /// The reference's dropout masks: the engine's kernel applied to ones.
    static func mask(plan: NetworkPlan, context: ForwardPass.TrainingContext) -> (Int, Int, Int) -> [Double] {
        let rates: [Float] = plan.steps.compactMap { if case .dropout(_, _, let rate, _) = $0 { rate } else { nil } }
        return { layer, example, count in
            var ones = [Float](repeating: 1, count: count)
            var context = context
            context.firstExample += example
            ones.withUnsafeMutableBufferPointer { buffer in
                DropoutKernel.apply(
                    ImageSize(channels: count, height: 1, width: 1), layout: .exampleMajor, input: buffer.baseAddress!, batch: 1,
                    rate: rates[layer], stream: ForwardPass.dropoutStream(context),
                    start: ForwardPass.dropoutStart(context, layer: layer, count: count), output: buffer.baseAddress!, threads: 1)
            }
            return ones.map(Double.init)
        }
    }

    /// The engine's training-mode gradient (and updated buffers) of one batch.
    static func gradient(
        plan: NetworkPlan, theta: [Float], buffers: [Float], inputs: [Float], labels: [Int32],
        context: ForwardPass.TrainingContext, threads: Int
    ) throws -> (gradient: [Float], buffers: [Float], loss: Double) {
        let batch = labels.count
        let network = try NetworkGradient(plan: plan, batchCapacity: batch)
        var gradient = [Float](repeating: .nan, count: plan.parameterCount)
        var buffers = buffers
        network.context = context
        inputs.withUnsafeBufferPointer { network.forward.input.baseAddress!.update(from: $0.baseAddress!, count: $0.count) }
        let result = theta.withUnsafeBufferPointer { theta in
            labels.withUnsafeBufferPointer { labels in
                gradient.withUnsafeMutableBufferPointer { gradient in
                    buffers.withUnsafeMutableBufferPointer { buffers in
                        network.buffers = buffers.baseAddress
                        defer { network.buffers = nil }
                        return network.compute(
                            theta: theta.baseAddress!, labels: labels.baseAddress!, batch: batch,
                            gradient: gradient.baseAddress!, threads: threads)
                    }
                }
            }
        }
        return (gradient, buffers, result.lossSum / Double(batch))
    }

    @Test(arguments: 0..<networks.count)
    func backpropagationThroughTheGraphMatchesFiniteDifferences(_ index: Int) throws {
        let (name, architecture) = Self.networks[index]
        let plan = try NetworkPlan(architecture)
        let batch = 4
        let theta = try TestData.theta(architecture, seed: UInt64(31 + index))
        let buffers = try architecture.initialBuffers()
        let inputs = TestData.uniform(batch * plan.inputCount, seed: UInt64(41 + index))
        let labels = TestData.labels(batch, classes: plan.classCount, seed: UInt64(51 + index))
        let context = ForwardPass.TrainingContext(dropoutSeed: 7, step: 3)
        let engine = try Self.gradient(
            plan: plan, theta: theta, buffers: buffers, inputs: inputs, labels: labels, context: context, threads: 2)
        let rows = Self.rows(inputs, count: plan.inputCount, batch: batch)
        let mode = GraphReference.Mode(training: true, mask: Self.mask(plan: plan, context: context))
        let thetaDouble = theta.map(Double.init), bufferDouble = buffers.map(Double.init)
        let labelInts = labels.map(Int.init)
        let loss = try GraphReference.loss(architecture, theta: thetaDouble, buffers: bufferDouble, inputs: rows, labels: labelInts, mode: mode)
        #expect(abs(engine.loss - loss) <= 1e-5 * max(1, abs(loss)), "\(name): loss \(engine.loss) vs \(loss)")
        let epsilon = 1e-5
        var worst = 0.0
        for k in theta.indices {
            var plus = thetaDouble, minus = thetaDouble
            plus[k] += epsilon
            minus[k] -= epsilon
            let numeric = (try GraphReference.loss(architecture, theta: plus, buffers: bufferDouble, inputs: rows, labels: labelInts, mode: mode)
                - GraphReference.loss(architecture, theta: minus, buffers: bufferDouble, inputs: rows, labels: labelInts, mode: mode)) / (2 * epsilon)
            let error = abs(Double(engine.gradient[k]) - numeric)
            worst = max(worst, error / (1e-4 + abs(numeric)))
            #expect(error <= 5e-5 + 5e-3 * abs(numeric), "\(name): parameter \(k): \(engine.gradient[k]) vs \(numeric)")
        }
        #expect(worst.isFinite)
    }

    /// Training mode normalises with the batch's statistics and moves the running ones
    /// (unbiased variance, momentum); inference mode normalises with the running ones.
    @Test func batchNormRunningStatisticsAndInference() throws {
        let architecture = Self.residualBlock
        let plan = try NetworkPlan(architecture)
        let batch = 5
        let theta = try TestData.theta(architecture, seed: 61)
        var buffers = try architecture.initialBuffers()
        let noise = TestData.uniform(buffers.count, seed: 62, scale: 0.3)
        for i in buffers.indices { buffers[i] += noise[i] }  // variances stay positive (1 +- 0.3)
        let inputs = TestData.uniform(batch * plan.inputCount, seed: 63)
        let labels = TestData.labels(batch, classes: 3, seed: 64)
        let rows = Self.rows(inputs, count: plan.inputCount, batch: batch)

        // Training: the updated running statistics.
        let engine = try Self.gradient(
            plan: plan, theta: theta, buffers: buffers, inputs: inputs, labels: labels,
            context: ForwardPass.TrainingContext(), threads: 2)
        var expected = buffers.map(Double.init)
        _ = try GraphReference.logits(architecture, theta: theta.map(Double.init), buffers: &expected, inputs: rows, mode: .init(training: true))
        for (index, value) in engine.buffers.enumerated() {
            #expect(abs(Double(value) - expected[index]) <= 1e-5 * max(1, abs(expected[index])), "buffer \(index)")
        }
        #expect(engine.buffers != buffers)

        // Inference: the predictor with the running statistics gives the reference's logits.
        let predictor = try Predictor(architecture: architecture, theta: theta, threads: 2, buffers: engine.buffers)
        let logits = try predictor.logits(inputs)
        var fixed = engine.buffers.map(Double.init)
        let reference = try GraphReference.logits(architecture, theta: theta.map(Double.init), buffers: &fixed, inputs: rows, mode: .init(training: false))
        for (row, z) in reference.enumerated() {
            for (k, value) in z.enumerated() {
                #expect(abs(Double(logits[row * 3 + k]) - value) <= 1e-4 * max(1, abs(value)), "example \(row) logit \(k)")
            }
        }
        #expect(fixed == engine.buffers.map(Double.init), "inference leaves the statistics alone")
        // A model with batch norm needs its statistics.
        #expect(throws: InferenceError.self) { try Predictor(architecture: architecture, theta: theta) }
    }

    /// Inference equals the training-mode maths with the running statistics in place of
    /// the batch's: for a batch whose statistics are the running ones, both agree.
    @Test func inferenceIsTrainingMathsWithRunningStatistics() throws {
        let architecture = Architecture(inputShape: [3], layers: [.standardBatchNorm, .dense(units: 2)])
        let plan = try NetworkPlan(architecture)
        let inputs: [Float] = [1, 2, 3, 3, 2, 5]  // two examples
        // The batch's mean and biased variance per feature.
        let mean: [Float] = [2, 2, 4], variance: [Float] = [1, 0.25, 1]
        let theta = try TestData.theta(architecture, seed: 65)
        let training = try Self.gradient(
            plan: plan, theta: theta, buffers: mean + variance, inputs: inputs, labels: [0, 1],
            context: ForwardPass.TrainingContext(updateRunningStatistics: false), threads: 1)
        #expect(training.buffers == mean + variance)
        let pass = try ForwardPass(plan: plan, batchCapacity: 2)
        var trainingLogits: [Float] = []
        var inferenceLogits: [Float] = []
        var buffers = mean + variance
        theta.withUnsafeBufferPointer { theta in
            buffers.withUnsafeMutableBufferPointer { buffers in
                inputs.withUnsafeBufferPointer { pass.input.baseAddress!.update(from: $0.baseAddress!, count: 6) }
                pass.run(theta: theta.baseAddress!, batch: 2, threads: 1, buffers: buffers.baseAddress, training: .init(updateRunningStatistics: false))
                trainingLogits = Array(pass.logits)
                inputs.withUnsafeBufferPointer { pass.input.baseAddress!.update(from: $0.baseAddress!, count: 6) }
                pass.run(theta: theta.baseAddress!, batch: 2, threads: 1, buffers: buffers.baseAddress)
                inferenceLogits = Array(pass.logits)
            }
        }
        for (a, b) in zip(trainingLogits, inferenceLogits) { #expect(abs(a - b) <= 1e-5 * max(1, abs(a))) }
    }

    /// The same gradient and running statistics, bit for bit, on 1 and 2 threads.
    @Test(arguments: 0..<networks.count)
    func threadCountDoesNotChangeTheBits(_ index: Int) throws {
        let architecture = Self.networks[index].1
        let plan = try NetworkPlan(architecture)
        let theta = try TestData.theta(architecture, seed: 71)
        let inputs = TestData.uniform(6 * plan.inputCount, seed: 72)
        let labels = TestData.labels(6, classes: plan.classCount, seed: 73)
        let context = ForwardPass.TrainingContext(dropoutSeed: 9, step: 11)
        let one = try Self.gradient(
            plan: plan, theta: theta, buffers: try architecture.initialBuffers(), inputs: inputs, labels: labels, context: context, threads: 1)
        let two = try Self.gradient(
            plan: plan, theta: theta, buffers: try architecture.initialBuffers(), inputs: inputs, labels: labels, context: context, threads: 2)
        #expect(one.gradient.map(\.bitPattern) == two.gradient.map(\.bitPattern))
        #expect(one.buffers.map(\.bitPattern) == two.buffers.map(\.bitPattern))
        #expect(one.loss.bitPattern == two.loss.bitPattern)
    }

    /// ResNet-20 at its real sizes, whose convolutions run one example per product: a batch
    /// of 20 is 20 pieces in the forward pass and 16 in the backward pass (pieces of one
    /// and two examples); 1, 2 and 3 threads give the same bits.
    @Test func resNet20ThreadCountDoesNotChangeTheBits() throws {
        let architecture = Architecture.resNet20()
        let plan = try NetworkPlan(architecture)
        let theta = try TestData.theta(architecture, seed: 81)
        let batch = 20
        let inputs = TestData.uniform(batch * plan.inputCount, seed: 82)
        let labels = TestData.labels(batch, classes: plan.classCount, seed: 83)
        let results = try [1, 2, 3].map { threads in
            try Self.gradient(
                plan: plan, theta: theta, buffers: try architecture.initialBuffers(), inputs: inputs, labels: labels,
                context: ForwardPass.TrainingContext(), threads: threads)
        }
        #expect(results[0].gradient.allSatisfy(\.isFinite) && results[0].gradient.contains { $0 != 0 })
        for result in results.dropFirst() {
            #expect(result.gradient.map(\.bitPattern) == results[0].gradient.map(\.bitPattern))
            #expect(result.buffers.map(\.bitPattern) == results[0].buffers.map(\.bitPattern))
            #expect(result.loss.bitPattern == results[0].loss.bitPattern)
        }
    }

    /// The plan: a ReLU after a batch norm or an add with one reader is fused; the block's
    /// input (read twice) is not overwritten; the add reads both operands.
    @Test func planFusesAndKeepsSharedOutputs() throws {
        let plan = try NetworkPlan(Self.residualBlock)
        guard case .batchNorm(_, _, _, _, let fused) = plan.steps[1] else { Issue.record("step 1"); return }
        #expect(fused)
        #expect(plan.steps[2] == .fusedRelu && plan.aliasesSource[2])
        guard case .add(_, _, _, _, let addFused) = plan.steps[10] else { Issue.record("step 10"); return }
        #expect(addFused && plan.steps[11] == .fusedRelu)
        #expect(plan.sources[8] == 2 && plan.others[10] == 7)
        #expect(plan.readers(of: 2) == [3, 8])
        #expect(plan.bufferCount == 2 * (3 + 4 + 4 + 4))
        let mixed = try NetworkPlan(Self.mixed)
        // Layer 1's output is read by layers 2 and 4: nothing works in place on it.
        #expect(mixed.readers(of: 1) == [2, 4])
        #expect(!mixed.aliasesSource[2])
        // Dropout on tanh's output must not overwrite what tanh differentiates from.
        #expect(!mixed.aliasesSource[7])
    }
}
