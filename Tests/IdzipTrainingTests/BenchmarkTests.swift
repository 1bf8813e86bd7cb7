import Foundation
import IdzipCore
import IdzipTraining
import Testing

/// Training speed on MNIST-shaped random data. Runs only with IDZIP_BENCHMARK=1, in release:
/// `IDZIP_BENCHMARK=1 swift test -c release --filter BenchmarkTests`
@Suite(.enabled(if: ProcessInfo.processInfo.environment["IDZIP_BENCHMARK"] == "1"))
struct BenchmarkTests {
    static let threads = Int(ProcessInfo.processInfo.environment["IDZIP_THREADS"] ?? "") ?? 2

    @Test(arguments: ["fc", "lenet"])
    func directTrainingSpeed(_ name: String) throws {
        if let only = ProcessInfo.processInfo.environment["IDZIP_BENCHMARK_ONLY"], only != name { return }
        let architecture = name == "fc"
            ? Architecture.fullyConnected(inputShape: [1, 28, 28], widths: [200, 200, 10])
            : Architecture.leNet()
        let count = 12_800
        let images = TestData.uniform(count * 784, seed: 1).map { UInt8(($0 + 1) * 127) }
        let labels = TestData.labels(count, classes: 10, seed: 2)
        let train = try Dataset(features: .bytes(images), exampleShape: [1, 28, 28], labels: labels, classNames: (0..<10).map(String.init))
        let data = try DatasetPair(name: "random", train: train, test: train.subset(Array(0..<1000)))
        let piece = Int(ProcessInfo.processInfo.environment["IDZIP_PIECE"] ?? "")
        let configuration = TrainingConfiguration(epochs: 3, batchSize: 128, threads: Self.threads, pieceSize: piece, evaluateEveryEpoch: false)
        let trainer = try Trainer(architecture: architecture, theta0Seed: 1, space: .direct, configuration: configuration)
        let cpuBefore = Self.cpuSeconds()
        let reports = try trainer.train(on: data)
        let cpu = Self.cpuSeconds() - cpuBefore
        let best = reports.map(\.examplesPerSecond).max() ?? 0
        print("BENCHMARK \(name) direct, batch 128, piece \(trainer.pieceSize), \(Self.threads) threads: \(reports.map { Int($0.examplesPerSecond) }) examples/s, best \(Int(best)); \(Int(Double(3 * count) / cpu)) examples per CPU-second")
    }

    /// User plus system CPU time of this process.
    static func cpuSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
    }
}

/// Full MNIST training runs for reporting, e.g.
/// `IDZIP_MNIST_RUN=lenet IDZIP_EPOCHS=10 swift test -c release --filter MNISTRuns`
/// (optional IDZIP_LR, IDZIP_DECAY_EVERY, IDZIP_DECAY, IDZIP_BATCH, IDZIP_L2, IDZIP_DATA_SET, IDZIP_SUBSPACE).
@Suite(.enabled(if: ProcessInfo.processInfo.environment["IDZIP_MNIST_RUN"] != nil))
struct MNISTRuns {
    @Test func train() throws {
        let environment = ProcessInfo.processInfo.environment
        let name = environment["IDZIP_MNIST_RUN"] ?? "fc"
        let data = try DatasetCatalog.load(environment["IDZIP_DATA_SET"] ?? "mnist")
        let architecture = name == "lenet"
            ? Architecture.leNet()
            : Architecture.fullyConnected(inputShape: [1, 28, 28], widths: [200, 200, 10])
        let epochs = Int(environment["IDZIP_EPOCHS"] ?? "") ?? 10
        let every = Int(environment["IDZIP_DECAY_EVERY"] ?? "") ?? 0
        let configuration = TrainingConfiguration(
            epochs: epochs, batchSize: Int(environment["IDZIP_BATCH"] ?? "") ?? 128,
            learningRate: Float(environment["IDZIP_LR"] ?? "") ?? 1e-3,
            l2: Float(environment["IDZIP_L2"] ?? "") ?? 0,
            schedule: every > 0 ? .step(every: every, factor: Float(environment["IDZIP_DECAY"] ?? "") ?? 0.5) : .constant,
            seed: 1, threads: BenchmarkTests.threads)
        // IDZIP_SUBSPACE=d trains in a d-dimensional subspace with a dense test projection.
        var space = ParameterSpace.direct
        if let d = Int(environment["IDZIP_SUBSPACE"] ?? "") {
            space = .subspace(MatrixProjection(rows: try architecture.parameterCount(), columns: d, seed: 1))
        }
        let trainer = try Trainer(architecture: architecture, theta0Seed: 1, space: space, configuration: configuration)
        let start = Date()
        try trainer.train(on: data, onEpoch: { report in
            print(String(
                format: "RUN %@ epoch %2d lr %.2e train loss %.4f acc %.4f | test loss %.4f acc %.4f | %.1f s train (%.0f ex/s), %.2f s eval, %.1f s total",
                name, report.epoch + 1, report.learningRate, report.trainLoss, report.trainAccuracy,
                report.test?.meanLoss ?? 0, report.test?.accuracy ?? 0, report.trainingSeconds, report.examplesPerSecond,
                report.evaluationSeconds, Date().timeIntervalSince(start)))
            return .proceed
        })
    }
}
