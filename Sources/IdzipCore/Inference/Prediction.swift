/// The model's answer for one example: the predicted class (the first largest logit, as
/// `Predictor.predictions` and `idzip eval --predictions` pick it) and the softmax
/// probabilities of every class (float64, summing to 1).
public struct Prediction: Sendable, Equatable {
    public var predictedClass: Int
    public var probabilities: [Double]

    public init(predictedClass: Int, probabilities: [Double]) {
        self.predictedClass = predictedClass
        self.probabilities = probabilities
    }

    /// The `k` most probable classes with their probabilities, the most probable first (ties:
    /// the lower class first); the predicted class leads.
    public func top(_ k: Int) -> [(class: Int, probability: Double)] {
        let others = probabilities.indices.filter { $0 != predictedClass }
            .sorted { probabilities[$0] > probabilities[$1] || (probabilities[$0] == probabilities[$1] && $0 < $1) }
        return ([predictedClass] + others).prefix(max(0, k)).map { ($0, probabilities[$0]) }
    }
}

extension Predictor {
    /// The prediction for each example of raw float inputs (rows of `inputCount`), after the
    /// model's preprocessing.
    /// - Throws: `InferenceError.inputCount` when raw.count is not a multiple of inputCount.
    public func classify(raw: [Float]) throws(InferenceError) -> [Prediction] {
        let classes = classCount
        let all = try logits(raw: raw)
        return all.withUnsafeBufferPointer { all in
            (0..<(all.count / classes)).map { row in
                let logits = all.baseAddress! + row * classes
                var probabilities = [Double](repeating: 0, count: classes)
                probabilities.withUnsafeMutableBufferPointer {
                    SoftmaxCrossEntropy.softmax(logits, classes: classes, into: $0.baseAddress!)
                }
                return Prediction(predictedClass: SoftmaxCrossEntropy.argmax(logits, count: classes), probabilities: probabilities)
            }
        }
    }
}
