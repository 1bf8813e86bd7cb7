import Foundation
import IdzipCore
import IdzipTraining
import Testing

/// `Predictor` applies a model's preprocessing to raw inputs exactly once. On MNIST it
/// gives the bits of the path `idzip eval` used before for a stored preprocessing (features
/// scaled by training's 1/255, multiplied back by 255, then (raw * scale - mean) / std),
/// since b / 255 * 255 == b in float32 for every byte b. (For the default preprocessing
/// `idzip eval` used to pass b / 255 itself, which differs from the spec's b * (1/255) in
/// the last bit for some bytes.)
struct RawInputTests {
    static let architecture = Architecture.leNet()

    static func mnistSample(count: Int) throws -> Dataset {
        try DatasetCatalog.load("mnist").test.subset(Array(0..<count))
    }

    /// The old CLI path: the data set's x = b / 255, raw = 255 x, then the formula.
    static func oldPath(_ dataset: Dataset, _ preprocessing: Preprocessing) -> [Float] {
        var features = dataset.floatFeatures()
        let channels = architecture.inputShape[0]
        let perChannel = dataset.featureCount / channels
        for i in 0..<features.count {
            let channel = preprocessing.mean.count == 1 ? 0 : (i % dataset.featureCount) / perChannel
            let raw = features[i] * 255
            features[i] = (raw * preprocessing.inputScale - preprocessing.mean[channel]) / preprocessing.standardDeviation[channel]
        }
        return features
    }

    @Test func everyByteSurvivesTheOldRoundTrip() {
        for byte in 0...255 {
            #expect(Float(byte) / 255 * 255 == Float(byte), "byte \(byte)")
        }
    }

    @Test(arguments: [
        Preprocessing(),
        Preprocessing(inputScale: 1.0 / 255, mean: [0.1307], standardDeviation: [0.3081]),
        Preprocessing(inputScale: 1, mean: [33.3], standardDeviation: [78.6]),
    ])
    func rawInputsMatchTheOldPath(_ preprocessing: Preprocessing) throws {
        let dataset = try Self.mnistSample(count: 300)
        let theta = try TestData.theta(Self.architecture, seed: 12)
        let predictor = try Predictor(architecture: Self.architecture, theta: theta, preprocessing: preprocessing, batchSize: 64, threads: 2)
        let old = Self.oldPath(dataset, preprocessing)
        guard case .bytes(let bytes) = dataset.features else {
            Issue.record("MNIST is stored as bytes")
            return
        }
        #expect(try predictor.preprocessed(bytes).map(\.bitPattern) == old.map(\.bitPattern))
        #expect(try predictor.preprocessed(bytes.map(Float.init)).map(\.bitPattern) == old.map(\.bitPattern))
        let logits = try predictor.logits(old)
        #expect(try predictor.logits(raw: bytes) == logits)
        #expect(try predictor.predictions(raw: bytes) == predictor.predictions(old))
        #expect(try predictor.predictions(raw: dataset) == predictor.predictions(old))
        let evaluation = try predictor.evaluate(inputs: old, labels: dataset.labels)
        #expect(try predictor.evaluate(raw: bytes, labels: dataset.labels) == evaluation)
        #expect(try predictor.evaluate(raw: bytes.map(Float.init), labels: dataset.labels) == evaluation)
        #expect(try predictor.evaluate(raw: dataset) == evaluation)
        // The result does not depend on the thread count.
        let single = try Predictor(architecture: Self.architecture, theta: theta, preprocessing: preprocessing, batchSize: 64, threads: 1)
        #expect(try single.evaluate(raw: dataset) == evaluation)
    }

    @Test func perChannelPreprocessing() throws {
        let architecture = Architecture.fullyConnected(inputShape: [2, 8, 8], widths: [3])
        let theta = try TestData.theta(architecture, seed: 5)
        let preprocessing = Preprocessing(inputScale: 0.5, mean: [1, -2], standardDeviation: [2, 4])
        let predictor = try Predictor(architecture: architecture, theta: theta, preprocessing: preprocessing, threads: 1)
        let raw: [UInt8] = (0..<256).map { UInt8($0) }
        let expected = raw.enumerated().map { index, byte -> Float in
            let channel = (index % 128) / 64
            return (Float(byte) * 0.5 - preprocessing.mean[channel]) / preprocessing.standardDeviation[channel]
        }
        #expect(try predictor.preprocessed(raw) == expected)
    }

    @Test func preprocessingThatDoesNotFitIsRejected() throws {
        let theta = try TestData.theta(Self.architecture, seed: 1)
        for bad in [
            Preprocessing(mean: [0, 0], standardDeviation: [1, 1]),
            Preprocessing(mean: [0], standardDeviation: [0]),
            Preprocessing(inputScale: .nan),
        ] {
            let error = #expect(throws: InferenceError.self) { try Predictor(architecture: Self.architecture, theta: theta, preprocessing: bad) }
            if case .preprocessing = error {} else { Issue.record("expected a preprocessing error, got \(String(describing: error))") }
        }
        let predictor = try Predictor(architecture: Self.architecture, theta: theta)
        #expect(throws: InferenceError.inputCount(expected: 784, actual: 5)) { try predictor.preprocessed([UInt8](repeating: 0, count: 5)) }
    }
}
