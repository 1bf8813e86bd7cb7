import Foundation

/// Softmax, cross-entropy loss and its gradient on rows of logits, worked in float64.
package enum SoftmaxCrossEntropy {
    /// Loss of one row: log(sum exp(logits)) - logits[label].
    @inline(__always)
    package static func loss(_ logits: UnsafePointer<Float>, classes: Int, label: Int) -> Double {
        var largest = Double(logits[0])
        for j in 1..<classes { largest = max(largest, Double(logits[j])) }
        var sum = 0.0
        for j in 0..<classes { sum += exp(Double(logits[j]) - largest) }
        return log(sum) + largest - Double(logits[label])
    }

    /// Softmax probabilities of one row, into `probabilities`.
    package static func softmax(_ logits: UnsafePointer<Float>, classes: Int, into probabilities: UnsafeMutablePointer<Double>) {
        var largest = Double(logits[0])
        for j in 1..<classes { largest = max(largest, Double(logits[j])) }
        var sum = 0.0
        for j in 0..<classes {
            let value = exp(Double(logits[j]) - largest)
            probabilities[j] = value
            sum += value
        }
        for j in 0..<classes { probabilities[j] /= sum }
    }

    /// Sum of the row losses of a batch, and writes d(loss sum / divisor)/d(logits) into
    /// `gradient` ([batch, classes]); each row is (softmax - onehot(label)) / divisor.
    /// The divisor is the batch size for the mean loss, or the whole batch's size when
    /// `batch` rows are one piece of it.
    package static func lossAndGradient(
        logits: UnsafePointer<Float>, labels: UnsafePointer<Int32>, batch: Int, classes: Int,
        divisor: Int, gradient: UnsafeMutablePointer<Float>
    ) -> (lossSum: Double, correct: Int) {
        var lossSum = 0.0
        var correct = 0
        let scale = 1.0 / Double(divisor)
        var probabilities = [Double](repeating: 0, count: classes)
        probabilities.withUnsafeMutableBufferPointer { probabilities in
            let p = probabilities.baseAddress!
            for row in 0..<batch {
                let line = logits + row * classes
                let label = Int(labels[row])
                softmax(line, classes: classes, into: p)
                lossSum -= log(max(p[label], Double.leastNonzeroMagnitude))
                if argmax(line, count: classes) == label { correct += 1 }
                let target = gradient + row * classes
                for j in 0..<classes {
                    target[j] = Float((p[j] - (j == label ? 1 : 0)) * scale)
                }
            }
        }
        return (lossSum, correct)
    }

    /// Index of the largest number (the first one on ties).
    @inline(__always)
    package static func argmax(_ values: UnsafePointer<Float>, count: Int) -> Int {
        var best = 0
        for j in 1..<count where values[j] > values[best] { best = j }
        return best
    }
}
