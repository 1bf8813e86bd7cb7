import IdzipCore

extension Predictor {
    /// Accuracy, loss and confusion matrix of the network on a data set.
    public func evaluate(_ dataset: Dataset) throws(InferenceError) -> Evaluation {
        guard dataset.featureCount == inputCount else {
            throw .inputCount(expected: inputCount, actual: dataset.featureCount)
        }
        return try evaluate(labels: dataset.labels) { range, buffer in dataset.fill(range: range, into: buffer) }
    }
}
