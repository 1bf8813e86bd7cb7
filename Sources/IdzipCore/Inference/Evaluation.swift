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
    /// The non-zero confusion counts, keyed by actual * classCount + predicted: at most one
    /// entry per example, so memory grows with the examples, never with classCount squared
    /// (a model may declare 100,000 outputs).
    private var counts: [Int: Int] = [:]
    /// Examples of each true class, and of those the ones predicted correctly.
    private var classTotals: [Int: Int] = [:]

    package init(classCount: Int) {
        self.classCount = classCount
    }

    /// classCount x classCount counts, row = true class, column = predicted class, built on
    /// demand (classCount squared values: callers bound classCount first).
    public var confusion: [Int] {
        var matrix = [Int](repeating: 0, count: classCount * classCount)
        for (index, count) in counts { matrix[index] = count }
        return matrix
    }

    /// Fraction of examples predicted correctly (0 for an empty set).
    public var accuracy: Double { exampleCount == 0 ? 0 : Double(correctCount) / Double(exampleCount) }
    /// Mean cross-entropy loss (0 for an empty set).
    public var meanLoss: Double { exampleCount == 0 ? 0 : lossSum / Double(exampleCount) }

    /// Examples of class `actual` predicted as `predicted`.
    public func count(actual: Int, predicted: Int) -> Int { counts[actual * classCount + predicted] ?? 0 }

    /// Accuracy on each true class; nil for a class with no examples.
    public var perClassAccuracy: [Double?] {
        (0..<classCount).map { actual in
            guard let total = classTotals[actual], total > 0 else { return nil }
            return Double(count(actual: actual, predicted: actual)) / Double(total)
        }
    }

    /// Adds the counts of another evaluation of the same classes.
    package mutating func add(_ other: Evaluation) {
        exampleCount += other.exampleCount
        correctCount += other.correctCount
        lossSum += other.lossSum
        counts.merge(other.counts, uniquingKeysWith: +)
        classTotals.merge(other.classTotals, uniquingKeysWith: +)
    }

    /// Adds one example.
    package mutating func record(actual: Int, predicted: Int, loss: Double) {
        exampleCount += 1
        if actual == predicted { correctCount += 1 }
        lossSum += loss
        counts[actual * classCount + predicted, default: 0] += 1
        classTotals[actual, default: 0] += 1
    }
}
