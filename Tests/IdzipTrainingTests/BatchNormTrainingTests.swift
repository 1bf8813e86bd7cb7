import Foundation
import IdzipCore
import IdzipTraining
import Testing

/// Training networks with batch normalisation and dropout: the running statistics move
/// every step, evaluation uses them, the bits do not depend on the thread count, and a
/// checkpoint keeps them so that a resumed run ends where an uninterrupted one does.
@Suite(.serialized) struct BatchNormTrainingTests {
    static let data: DatasetPair? = {
        guard let pair = try? DatasetCatalog.load("mnist") else { return nil }
        return try? DatasetPair(name: "mnist-tiny", train: pair.train.subset(Array(0..<400)), test: pair.test.subset(Array(0..<200)))
    }()

    /// conv-bn-relu, maxpool, a residual conv-bn with a strided projection shortcut,
    /// global average pooling, dropout, dense.
    static let network = Architecture(
        inputShape: [1, 28, 28],
        layers: [
            .convolution(Convolution2D(filters: 4, kernel: 3, padding: 1, bias: false)), .standardBatchNorm, .relu, // 0-2
            .maxPool(size: 2), // 3
            .convolution(Convolution2D(filters: 6, kernel: 3, stride: 2, padding: 1, bias: false)), .standardBatchNorm, // 4-5
            .convolution(Convolution2D(filters: 6, kernel: 1, stride: 2, bias: false)), .standardBatchNorm, // 6-7 (from 3)
            .add(other: 5), .relu, .globalAveragePool, .dropout(rate: 0.2), .dense(units: 10), // 8-12
        ],
        sources: [-1, 0, 1, 2, 3, 4, 3, 6, 7, 8, 9, 10, 11])

    static func trainer(threads: Int, epochs: Int = 2, space: ParameterSpace = .direct) throws -> Trainer {
        let configuration = TrainingConfiguration(epochs: epochs, batchSize: 50, seed: 5, threads: threads)
        return try Trainer(architecture: network, theta0Seed: 3, space: space, configuration: configuration)
    }

    @Test func runningStatisticsMoveAndEvaluationUsesThem() throws {
        let data = try #require(Self.data)
        let trainer = try Self.trainer(threads: 2)
        let initial = try Self.network.initialBuffers()
        #expect(trainer.buffers == initial && trainer.batchesTracked == 0)
        let reports = try trainer.train(on: data)
        #expect(trainer.batchesTracked == 2 * 8)
        #expect(trainer.buffers.count == 2 * (4 + 6 + 6) && trainer.buffers != initial)
        // The trainer's test evaluation is the predictor's with the running statistics.
        let predictor = try Predictor(architecture: Self.network, theta: trainer.theta(), threads: 2, buffers: trainer.buffers)
        #expect(try predictor.evaluate(data.test) == reports.last?.test)
        #expect(reports.last!.trainLoss < reports.first!.trainLoss, "training lowers the loss")
    }

    @Test func sameBitsWhateverTheThreads() throws {
        let data = try #require(Self.data)
        var results: [([Float], [Float], [Double])] = []
        for threads in [1, 2] {
            let trainer = try Self.trainer(threads: threads)
            let reports = try trainer.train(on: data)
            results.append((trainer.parameters, trainer.buffers, reports.map(\.trainLoss)))
        }
        #expect(results[0].0.map(\.bitPattern) == results[1].0.map(\.bitPattern))
        #expect(results[0].1.map(\.bitPattern) == results[1].1.map(\.bitPattern))
        #expect(results[0].2 == results[1].2)
    }

    @Test func subspaceTrainingSameBitsWhateverTheThreads() throws {
        let data = try #require(Self.data)
        let count = try Self.network.parameterCount()
        var results: [([Float], [Float])] = []
        for threads in [1, 2] {
            let projection = trainingProjection(kind: .fastfood, rowCount: count, columnCount: 50, seed: 8, threads: threads)
            let trainer = try Self.trainer(threads: threads, epochs: 1, space: .subspace(projection))
            try trainer.train(on: data)
            results.append((trainer.parameters, trainer.buffers))
        }
        #expect(results[0].0.map(\.bitPattern) == results[1].0.map(\.bitPattern))
        #expect(results[0].1.map(\.bitPattern) == results[1].1.map(\.bitPattern))
    }

    @Test func checkpointKeepsTheRunningStatistics() throws {
        let data = try #require(Self.data)
        let straight = try Self.trainer(threads: 2, epochs: 3)
        try straight.train(on: data)

        let first = try Self.trainer(threads: 2, epochs: 3)
        var saved: [UInt8] = []
        try first.train(on: data, onEpoch: { report in
            saved = first.checkpoint().serialized()
            return report.epoch == 1 ? .stop : .proceed
        })
        let checkpoint = try TrainingCheckpoint(serialized: saved)
        #expect(checkpoint.buffers == first.buffers && checkpoint.batchesTracked == 16)
        let resumed = try Self.trainer(threads: 2, epochs: 3)
        try resumed.restore(checkpoint)
        try resumed.train(on: data)
        #expect(resumed.parameters.map(\.bitPattern) == straight.parameters.map(\.bitPattern))
        #expect(resumed.buffers.map(\.bitPattern) == straight.buffers.map(\.bitPattern))
        #expect(resumed.batchesTracked == straight.batchesTracked)
        // A checkpoint without the statistics does not fit this network.
        var stripped = checkpoint
        stripped.buffers = []
        #expect(throws: TrainingError.self) { try Self.trainer(threads: 2, epochs: 3).restore(stripped) }
    }
}
