import IdzipCore

extension Predictor {
    /// Accuracy, loss and confusion matrix of the network on a data set's features as
    /// training scales them (bytes / 255, floats as they are).
    public func evaluate(_ dataset: Dataset) throws(InferenceError) -> Evaluation {
        guard dataset.featureCount == inputCount else {
            throw .inputCount(expected: inputCount, actual: dataset.featureCount)
        }
        return try evaluate(labels: dataset.labels) { range, buffer in dataset.fill(range: range, into: buffer) }
    }

    /// Accuracy, loss and confusion matrix on a data set's raw features (as its files store
    /// them) through the predictor's preprocessing, as `idzip eval` reports them.
    public func evaluate(raw dataset: Dataset) throws(InferenceError) -> Evaluation {
        guard dataset.featureCount == inputCount else {
            throw .inputCount(expected: inputCount, actual: dataset.featureCount)
        }
        return try evaluateRaw(labels: dataset.labels) { range, buffer in dataset.fillRaw(range: range, into: buffer) }
    }

    /// The predicted class of every example of a data set's raw features.
    public func predictions(raw dataset: Dataset) throws(InferenceError) -> [Int] {
        switch dataset.features {
        case .bytes(let values): return try predictions(raw: values)
        case .floats(let values): return try predictions(raw: values)
        }
    }
}
