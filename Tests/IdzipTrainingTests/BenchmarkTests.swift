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
        let configuration = TrainingConfiguration(epochs: 3, batchSize: 128, threads: Self.threads, evaluateEveryEpoch: false)
        let trainer = try Trainer(architecture: architecture, theta0Seed: 1, space: .direct, configuration: configuration)
        let reports = try trainer.train(on: data)
        let best = reports.map(\.examplesPerSecond).max() ?? 0
        print("BENCHMARK \(name) direct, batch 128, \(Self.threads) threads: \(reports.map { Int($0.examplesPerSecond) }) examples/s, best \(Int(best))")
    }
}
