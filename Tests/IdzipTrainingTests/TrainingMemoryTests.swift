import IdzipTraining
import IdzipCore
import Testing

/// `TrainingRunSpec.memoryBudget` counts the buffers as the training code allocates them
/// (`TrainingBuffers`); `TrainingMemoryCommandTests` measures real runs against it.
struct TrainingMemoryTests {
    static let residual = try! Architecture(spec: #"""
        {"input_shape": [1, 8, 8], "layers": [
          {"type": "conv2d", "filters": 4, "kernel": 3, "padding": "same"},
          {"type": "conv2d", "filters": 4, "kernel": 3, "padding": "same"}, {"type": "add", "other": 0},
          {"type": "conv2d", "filters": 4, "kernel": 3, "padding": "same"}, {"type": "add", "other": 2},
          {"type": "flatten"}, {"type": "dense", "units": 10}]}
        """#)

    static func spec(_ architecture: Architecture, threads: Int = 4, batchSize: Int = 128) -> TrainingRunSpec {
        TrainingRunSpec(
            model: "net", architecture: architecture, dimension: nil, seed: 1,
            configuration: TrainingConfiguration(epochs: 1, batchSize: batchSize, threads: threads))
    }

    static func item(_ budget: MemoryBudget, _ prefix: String) throws -> MemoryBudget.Item {
        try #require(budget.items.first { $0.what.hasPrefix(prefix) }, "\(budget.items.map(\.what))")
    }

    @Test func aBatchNormNetworkIsOnePieceOfTheWholeBatch() throws {
        let plan = try NetworkPlan(try Architecture(spec: "mnist-bn"))
        let layout = TrainingBuffers.batchGradient(plan, batchSize: 128, pieceSize: 8)
        #expect(layout.pieces == 1 && layout.pieceSize == 128)
        #expect(layout.floats >= TrainingBuffers.networkGradientFloats(plan, batchCapacity: 128))
        // Without batch norm: pieces of 8, each with its buffers, and a gradient per further piece.
        let residual = try NetworkPlan(Self.residual)
        let pieces = TrainingBuffers.batchGradient(residual, batchSize: 128, pieceSize: 8)
        #expect(pieces.pieces == 16 && pieces.pieceSize == 8)
        #expect(pieces.floats >= 16 * TrainingBuffers.networkGradientFloats(residual, batchCapacity: 8) + 15 * residual.parameterCount)
        let budget = Self.spec(try Architecture(spec: "mnist-bn")).memoryBudget()
        #expect(try Self.item(budget, "training step buffers").what.contains("batch of 128 in 1 piece of 128"))
        #expect(try Self.item(budget, "training step buffers").bytes == 4 * layout.floats)
    }

    @Test func aNetworkGradientHoldsTwiceItsOutputsAndItsIm2colMatrices() throws {
        let plan = try NetworkPlan(Self.residual)
        // Per example: outputs 3 x 256 (conv) + 2 x 256 (add) + 256 (flatten of a channel-major add) + 10, input 64,
        // im2col 3 x 9 x 64 (first conv 1 x 9 x 64).
        let outputs = plan.outputCounts.enumerated().filter { !plan.aliasesSource[$0.offset] }.reduce(0) { $0 + $1.element }
        let floats = TrainingBuffers.networkGradientFloats(plan, batchCapacity: 10)
        #expect(floats >= 10 * (64 + 2 * outputs + 9 * 64 + 2 * 36 * 64))
        #expect(floats >= Predictor.passFloats(plan, batchCapacity: 10) + 10 * outputs)
    }

    @Test func beforeTheDataIsKnownEveryThreadIsCountedWithAFullEvaluationBatch() throws {
        let plan = try NetworkPlan(Self.residual)
        let spec = Self.spec(Self.residual, threads: 4)
        let before = spec.memoryBudget()
        let evaluation = try Self.item(before, "evaluation activations")
        // Four passes of 500 examples: what the trainer's evaluator allocates on a large test set.
        #expect(evaluation.bytes == 4 * TrainingBuffers.evaluationFloats(plan, examples: 2000, batchSize: 500, threads: 4))
        #expect(evaluation.bytes >= 4 * 4 * 500 * ForwardPass.floatsPerExample(plan, keepsOutputs: false))
        // With the data known, never more than before (but for the data itself).
        let known = spec.memoryBudget(testExamples: 10_000, trainExamples: 60_000, dataBytes: 0)
        let order = try Self.item(known, "example order").bytes
        #expect(known.totalBytes - order <= before.totalBytes)
        #expect(try Self.item(known, "evaluation activations").bytes == evaluation.bytes)
        // A small test set: one pass of its size (sealing evaluates the training set in batches of 256).
        let small = spec.memoryBudget(testExamples: 100, trainExamples: 100)
        #expect(try Self.item(small, "evaluation activations").bytes
            == 4 * TrainingBuffers.evaluationFloats(plan, examples: 100, batchSize: 256, threads: 4))
        #expect(try Self.item(small, "training step buffers").what.contains("batch of 100"))
    }

    @Test func adamKeepsTwoSlotsAndTheCheckpointIsCounted() throws {
        let architecture = try Architecture(spec: "fc:784-200-200-10")
        let count = try architecture.parameterCount()
        let budget = Self.spec(architecture).memoryBudget()
        #expect(try Self.item(budget, "optimiser state").bytes == 4 * 2 * count)
        #expect(try Self.item(budget, "checkpoint").bytes == 4 * 6 * count)
    }
}
