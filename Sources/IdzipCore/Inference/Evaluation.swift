/// Accuracy, loss and confusion counts of a network on a labelled set.
public struct Evaluation: Sendable, Hashable {
    /// Classes (network outputs).
    public let classCount: Int
    /// Examples evaluated.
    public private(set) var exampleCount = 0
    /// Examples whose arg-max output is their label.
    public private(set) var correctCount = 0
    /// Sum over examples of the cross-entropy loss.
    public private(set) var lossSum = 0.0
    /// classCount x classCount counts, row = true class, column = predicted class.
    public private(set) var confusion: [Int]

    package init(classCount: Int) {
        self.classCount = classCount
        confusion = [Int](repeating: 0, count: classCount * classCount)
    }

    /// Fraction of examples predicted correctly (0 for an empty set).
    public var accuracy: Double { exampleCount == 0 ? 0 : Double(correctCount) / Double(exampleCount) }
    /// Mean cross-entropy loss (0 for an empty set).
    public var meanLoss: Double { exampleCount == 0 ? 0 : lossSum / Double(exampleCount) }

    /// Examples of class `actual` predicted as `predicted`.
    public func count(actual: Int, predicted: Int) -> Int { confusion[actual * classCount + predicted] }

    /// Accuracy on each true class; nil for a class with no examples.
    public var perClassAccuracy: [Double?] {
        (0..<classCount).map { actual in
            let row = confusion[(actual * classCount)..<((actual + 1) * classCount)]
            let total = row.reduce(0, +)
            return total == 0 ? nil : Double(row[row.startIndex + actual]) / Double(total)
        }
    }

    /// Adds the counts of another evaluation of the same classes.
    package mutating func add(_ other: Evaluation) {
        exampleCount += other.exampleCount
        correctCount += other.correctCount
        lossSum += other.lossSum
        for index in confusion.indices { confusion[index] += other.confusion[index] }
    }

    /// Adds one example.
    package mutating func record(actual: Int, predicted: Int, loss: Double) {
        exampleCount += 1
        if actual == predicted { correctCount += 1 }
        lossSum += loss
        confusion[actual * classCount + predicted] += 1
    }
}
