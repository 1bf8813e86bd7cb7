import Foundation
import IdzipCore
@testable import IdzipTraining
import Testing

/// Issue 12: an inference `ForwardPass` (`keepsOutputs: false`, as `ParallelEvaluator`
/// runs it for eval, predict and training's evaluations) reuses a buffer once the last
/// reader of its value ran (skip connections included): the same logits bit for bit as a
/// pass that keeps every output, in the memory of the widest live set.
struct InferenceBufferReuseTests {
    /// A chain of `blocks` residual blocks (same-padded 3x3 convolution added to its input),
    /// then flatten and dense: legacy `conv2d` layers, so every convolution has an im2col matrix.
    static func deepChain(blocks: Int, side: Int = 8) throws -> Architecture {
        var layers = [#"{"type": "conv2d", "filters": 4, "kernel": 3, "padding": "same"}"#]
        for _ in 0..<blocks {
            let previous = layers.count - 1
            layers.append(#"{"type": "conv2d", "filters": 4, "kernel": 3, "padding": "same"}"#)
            layers.append(#"{"type": "add", "other": \#(previous)}"#)
        }
        layers += [#"{"type": "relu"}"#, #"{"type": "flatten"}"#, #"{"type": "dense", "units": 10}"#]
        return try Architecture(spec: #"{"input_shape": [1, \#(side), \#(side)], "layers": [\#(layers.joined(separator: ", "))]}"#)
    }

    static func networks() throws -> [(String, Architecture)] {
        [
            ("residual block", NetworkGraphTests.residualBlock), ("mixed layers", NetworkGraphTests.mixed),
            ("deep chain", try deepChain(blocks: 12)), ("resnet20:1x12x12", try Architecture(spec: "resnet20:1x12x12")),
            ("mnist-bn:1x12x12:10", try Architecture(spec: "mnist-bn:1x12x12:10")), ("lenet", try Architecture(spec: "lenet")),
            ("fc:64-16-16-10", try Architecture(spec: "fc:64-16-16-10")),
        ]
    }

    /// Logits of `batch` examples through a pass built with `keepsOutputs`, run twice (the
    /// second run sees the first one's values in the reused buffers).
    static func logits(_ plan: NetworkPlan, theta: [Float], buffers: [Float], inputs: [Float], batch: Int, keepsOutputs: Bool) throws -> [Float] {
        let pass = try ForwardPass(plan: plan, batchCapacity: batch, keepsOutputs: keepsOutputs)
        var result: [Float] = []
        var buffers = buffers
        for round in 0..<2 {
            theta.withUnsafeBufferPointer { theta in
                buffers.withUnsafeMutableBufferPointer { buffers in
                    inputs.withUnsafeBufferPointer { pass.input.baseAddress!.update(from: $0.baseAddress!, count: $0.count) }
                    pass.run(theta: theta.baseAddress!, batch: batch, threads: 2, buffers: buffers.baseAddress)
                }
            }
            let logits = Array(pass.logits)
            if round == 1 { #expect(logits.elementsEqual(result) { $0.bitPattern == $1.bitPattern }, "a second run gives the same bits") }
            result = logits
        }
        return result
    }

    @Test func reusedBuffersGiveTheSameLogitsBitForBit() throws {
        for (name, architecture) in try Self.networks() {
            let plan = try NetworkPlan(architecture)
            let theta = try TestData.theta(architecture, seed: 12)
            // Running means and variances: positive numbers near 1.
            let buffers = TestData.uniform(plan.bufferCount, seed: 13, scale: 0.2).map { 1 + $0 }
            let batch = 5
            let inputs = TestData.uniform(batch * plan.inputCount, seed: 14)
            let kept = try Self.logits(plan, theta: theta, buffers: buffers, inputs: inputs, batch: batch, keepsOutputs: true)
            let reused = try Self.logits(plan, theta: theta, buffers: buffers, inputs: inputs, batch: batch, keepsOutputs: false)
            #expect(kept.count == batch * plan.classCount)
            #expect(kept.elementsEqual(reused) { $0.bitPattern == $1.bitPattern }, "\(name): \(kept.prefix(4)) vs \(reused.prefix(4))")
            #expect(ForwardPass.floatsPerExample(plan, keepsOutputs: false) <= ForwardPass.floatsPerExample(plan, keepsOutputs: true), "\(name)")
        }
    }

    /// No step writes a buffer that holds a value still to be read (its own operands, a
    /// skip connection's source), and a deep chain needs a few buffers, not one per layer.
    @Test func aReusedBufferHoldsNoValueThatIsStillRead() throws {
        for (name, architecture) in try Self.networks() + [("deep chain of 120 blocks", try Self.deepChain(blocks: 120))] {
            let plan = try NetworkPlan(architecture)
            let layout = ForwardPass.bufferLayout(plan, keepsOutputs: false)
            let steps = plan.steps.count
            // The last step reading each value (v + 1; the logits: read at the end).
            var lastRead = [Int](repeating: -1, count: steps + 1)
            for index in 0..<steps {
                for operand in [plan.sources[index], plan.others[index]].compactMap({ $0 }) { lastRead[operand + 1] = max(lastRead[operand + 1], index) }
            }
            lastRead[steps] = steps
            for index in 0..<steps where !plan.aliasesSource[index] {
                let buffer = layout.bufferOfValue[index + 1]
                #expect(layout.bufferFloats[buffer] >= plan.outputCounts[index], "\(name): step \(index)'s buffer is too small")
                // Every earlier value still to be read at or after this step lives elsewhere.
                for value in 0...index where lastRead[value] >= index && layout.bufferOfValue[value] == buffer {
                    // Only a value this step writes in its own buffer: itself, or one it aliases (none: it does not alias).
                    Issue.record("\(name): step \(index) overwrites value \(value - 1), still read by step \(lastRead[value])")
                }
            }
            #expect(layout.bufferFloats[layout.bufferOfValue[0]] >= plan.inputCount)
            if name.hasPrefix("deep chain") {
                // A block reads the previous block's sum and the convolution's output: three live values at most.
                #expect(layout.bufferFloats.count <= 4, "\(name): \(layout.bufferFloats.count) buffers")
                #expect(layout.columnFloats.count == 1)
            }
        }
    }

    /// The evaluator's passes are inference passes: their memory estimate is the reused layout's.
    @Test func theEvaluationEstimateCountsTheReusedBuffers() throws {
        let plan = try NetworkPlan(try Self.deepChain(blocks: 120))
        let kept = Predictor.passFloats(plan, batchCapacity: 256, keepsOutputs: true)
        let reused = Predictor.passFloats(plan, batchCapacity: 256, keepsOutputs: false)
        #expect(reused * 20 < kept, "\(reused) vs \(kept)")
        let budget = Predictor.memoryBudget(architecture: plan.architecture, examples: 1000, batchSize: 256, threads: 2)
        #expect(budget.totalBytes >= 2 * 4 * reused && budget.totalBytes < 2 * 4 * reused + 1_000_000)
    }
}
