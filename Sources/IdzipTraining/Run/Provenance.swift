import Foundation
import IdzipCore

/// The provenance a trained `.idz` records in its metadata section (Formats/idz-v1.md,
/// section 4.9; metadata never changes the weights): which idzip wrote it and with which
/// training settings. The data set's entries (`dataset`, `dataset.sha256`, `data.variants`,
/// `data.seed`) and the measured figures are added by `TrainingRun`.
///
/// Keys, in the order written:
/// - `producer` (string): "idzip 0.1.0".
/// - `training.optimizer` (string): "adam b1=0.9 b2=0.99" or "sgd momentum=0.9".
/// - `training.learning_rate` (double): the base rate.
/// - `training.schedule` (string): "constant", "cosine to 0.05 of the rate" or
///   "x0.5 every 3 epochs".
/// - `training.batch_size` (int): examples per step (absent for the toy problem, whose
///   steps are full gradient steps).
/// - `training.l2` (double): the penalty l2 * sum(theta^2) on the full theta.
/// - `training.epochs` (int): the epochs configured (`training.steps` for the toy problem);
///   `epochs` / `steps` record how many ran.
public enum Provenance {
    /// The producer and training entries of a run with `configuration`; `toy` leaves out the
    /// batch size and counts steps.
    public static func trainingEntries(_ configuration: TrainingConfiguration, toy: Bool) -> [MetadataEntry] {
        var entries = [
            MetadataEntry(key: "producer", value: .string(IdzipVersion.producer)),
            MetadataEntry(key: "training.optimizer", value: .string(optimizerText(configuration.optimizer))),
            MetadataEntry(key: "training.learning_rate", value: .double(decimal(configuration.learningRate))),
            MetadataEntry(key: "training.schedule", value: .string(scheduleText(configuration.schedule))),
        ]
        if !toy { entries.append(MetadataEntry(key: "training.batch_size", value: .int(Int64(configuration.batchSize)))) }
        entries.append(MetadataEntry(key: "training.l2", value: .double(decimal(configuration.l2))))
        entries.append(MetadataEntry(key: toy ? "training.steps" : "training.epochs", value: .int(Int64(configuration.epochs))))
        return entries
    }

    /// The data set variant's entries: `data.variants` ("none", or "shuffled pixels,
    /// shuffled labels, 0.1 of training set") and `data.seed` (the seed of the variants).
    public static func dataEntries(_ variant: DatasetVariant) -> [MetadataEntry] {
        var parts: [String] = []
        if variant.shufflePixels { parts.append("shuffled pixels") }
        if variant.shuffleLabels { parts.append("shuffled labels") }
        if variant.trainingFraction < 1 { parts.append("\(variant.trainingFraction) of training set") }
        return [
            MetadataEntry(key: "data.variants", value: .string(parts.isEmpty ? "none" : parts.joined(separator: ", "))),
            MetadataEntry(key: "data.seed", value: .int(Int64(bitPattern: variant.seed))),
        ]
    }

    static func optimizerText(_ optimizer: OptimizerKind) -> String {
        switch optimizer {
        case .adam(let beta1, let beta2, _): "adam b1=\(beta1) b2=\(beta2)"
        case .sgd(let momentum, let nesterov): "sgd momentum=\(momentum)" + (nesterov ? " nesterov" : "")
        }
    }

    static func scheduleText(_ schedule: LearningRateSchedule) -> String {
        switch schedule {
        case .constant: "constant"
        case .cosine(let floor): "cosine to \(floor) of the rate"
        case .step(let every, let factor): "x\(factor) every \(every == 1 ? "epoch" : "\(every) epochs")"
        }
    }

    /// A float32 setting as the double people typed (0.1, not 0.10000000149011612).
    static func decimal(_ value: Float) -> Double {
        Double("\(value)") ?? Double(value)
    }
}
