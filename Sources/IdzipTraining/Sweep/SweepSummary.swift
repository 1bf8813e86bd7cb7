import Foundation

/// summary.json of a sweep.
public struct SweepSummary: Encodable, Sendable {
    public struct Mean: Encodable, Sendable {
        public var d: Int
        public var mean_performance: Double
        public var runs: Int
    }

    public struct Bootstrap: Encodable, Sendable {
        public var replicates: Int
        public var reached_fraction: Double
        public var mean: Double?
        public var standard_deviation: Double?
        public var lower_2_5: Int?
        public var upper_97_5: Int?

        /// "687.3 +- 18.0, 95% interval 650 to 700", when some replicate reached d_int90.
        public var interval: String? {
            guard let mean, let standard_deviation, let lower_2_5, let upper_97_5 else { return nil }
            return String(format: "%.1f +- %.1f, 95%% interval %d to %d", mean, standard_deviation, lower_2_5, upper_97_5)
        }

        init(_ estimate: IntrinsicDimensionBootstrap) {
            replicates = estimate.replicates
            reached_fraction = estimate.reachedFraction
            mean = estimate.mean
            standard_deviation = estimate.standardDeviation
            lower_2_5 = estimate.lower
            upper_97_5 = estimate.upper
        }
    }

    public var model: String
    public var data: String?
    public var parameters: Int
    public var projection: String
    /// What performance is measured on (`SweepDescription.selectedOn`); nil for the toy problem.
    public var selected_on: String?
    public var baseline_kind: String
    public var baseline: Double
    public var threshold: Double
    /// The estimate at `threshold` (d_int90 at 0.9, and under the same key d_int95 at 0.95;
    /// reports name it for the threshold, `IntrinsicDimensionEstimate.name`).
    public var d_int90: Int?
    public var d_int100: Int?
    /// False when runs stopped early on passing the level: their performance is then a
    /// lower bound, and d_int100 (reaching the baseline) is not measured.
    public var d_int100_measured: Bool
    /// Seeds per d.
    public var runs: Int
    public var dims: [Int]
    public var means: [Mean]
    public var d_int90_bootstrap: Bootstrap?
    /// Training runs behind the result (the baseline's included), how many ended early,
    /// their epochs (steps for the toy problem) and their summed seconds (over every invocation, shards included).
    public var training_runs: Int
    public var stopped_early: Int
    public var epochs_trained: Int
    public var run_seconds: Double
    /// This invocation's wall time.
    public var wall_seconds: Double
    /// The estimate the figures above come from (not encoded).
    public let estimate: IntrinsicDimensionEstimate

    public init(
        description: SweepDescription, baselineKind: SweepBaseline, baseline: Double, threshold: Double,
        runs: Int, records: [SweepRecord], wallSeconds: Double
    ) {
        estimate = IntrinsicDimensionEstimate(records: records, baseline: baseline, threshold: threshold)
        model = description.model
        data = description.data
        parameters = description.parameters
        projection = description.projection
        selected_on = description.selectedOn
        baseline_kind = baselineKind == .local ? "local" : "global"
        self.baseline = baseline
        self.threshold = threshold
        d_int90 = estimate.dInt90
        d_int100_measured = !records.contains { $0.stopped == .passed }
        d_int100 = d_int100_measured ? estimate.dInt100 : nil
        self.runs = runs
        dims = estimate.means.map(\.d)
        means = estimate.means.map { Mean(d: $0.d, mean_performance: $0.mean, runs: $0.runs) }
        d_int90_bootstrap = runs >= 2
            ? Bootstrap(IntrinsicDimensionBootstrap(records: records, baseline: baseline, threshold: threshold)) : nil
        training_runs = records.count
        stopped_early = records.filter { $0.stopped != nil }.count
        epochs_trained = records.reduce(0) { $0 + $1.epochs }
        run_seconds = records.reduce(0) { $0 + $1.seconds }
        wall_seconds = wallSeconds
    }

    enum CodingKeys: String, CodingKey {
        case model, data, parameters, projection, selected_on, baseline_kind, baseline, threshold, d_int90, d_int100, d_int100_measured, runs, dims, means
        case d_int90_bootstrap, training_runs, stopped_early, epochs_trained, run_seconds, wall_seconds
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(model, forKey: .model)
        try container.encodeIfPresent(data, forKey: .data)
        try container.encode(parameters, forKey: .parameters)
        try container.encode(projection, forKey: .projection)
        try container.encodeIfPresent(selected_on, forKey: .selected_on)
        try container.encode(baseline_kind, forKey: .baseline_kind)
        try container.encode(baseline, forKey: .baseline)
        try container.encode(threshold, forKey: .threshold)
        // null when not reached, so readers always find the keys.
        try container.encode(d_int90, forKey: .d_int90)
        try container.encode(d_int100, forKey: .d_int100)
        try container.encode(d_int100_measured, forKey: .d_int100_measured)
        try container.encode(runs, forKey: .runs)
        try container.encode(dims, forKey: .dims)
        try container.encode(means, forKey: .means)
        try container.encodeIfPresent(d_int90_bootstrap, forKey: .d_int90_bootstrap)
        try container.encode(training_runs, forKey: .training_runs)
        try container.encode(stopped_early, forKey: .stopped_early)
        try container.encode(epochs_trained, forKey: .epochs_trained)
        try container.encode(run_seconds, forKey: .run_seconds)
        try container.encode(wall_seconds, forKey: .wall_seconds)
    }

    /// The lines printed for people.
    public var text: [String] {
        var lines = means.map { String(format: "d %8d  mean performance %.6f  (%@)", $0.d, $0.mean_performance, counted($0.runs, "run")) }
        lines.append(
            IntrinsicDimensionEstimate.name(threshold: threshold) + " = " + (d_int90.map { grouped($0) } ?? "not reached")
                + String(format: " (first mean above %.4g = %.4g x baseline %.4g)", threshold * baseline, threshold, baseline)
                + "; d_int100 = " + (d_int100.map { grouped($0) }
                    ?? (d_int100_measured ? "not reached" : "not measured (runs stopped early above the level; --no-early-stop measures it)")))
        if let bootstrap = d_int90_bootstrap, let interval = bootstrap.interval {
            lines.append(String(
                format: "bootstrap over seeds (%d replicates): %@ %@, reached in %.1f%%",
                bootstrap.replicates, IntrinsicDimensionEstimate.name(threshold: threshold), interval, bootstrap.reached_fraction * 100))
        }
        lines.append(String(
            format: "%@ (%d stopped early), %@, %.1f s of training", counted(training_runs, "training run"), stopped_early,
            counted(epochs_trained, data == nil ? "step" : "epoch"), run_seconds))
        if let selected_on { lines.append("performance measured on the \(selected_on)") }
        return lines
    }
}

/// What a sweep trains: the facts its report shows.
public struct SweepDescription: Sendable {
    public var model: String
    public var data: String?
    public var parameters: Int
    public var projection: String
    /// What the runs' performance, and so every decision (early stopping, search, d_int90),
    /// is measured on; nil for the toy problem.
    public var selectedOn: String?

    /// - Parameter data: the data's summary; `selectedOn` is derived from it.
    public init(model: String, data: String?, parameters: Int, projection: String) {
        self.model = model
        self.data = data
        self.parameters = parameters
        self.projection = projection
        selectedOn = data.map { summary in
            let variant = DataSelection(recorded: summary).variant
            if variant.shuffleLabels { return "training set accuracy (shuffled labels: memorisation, the paper's convention)" }
            return variant.validationFraction > 0
                ? "validation set (\(variant.validationFraction) of the training set held out, data seed \(variant.seed)); test accuracy reported beside it"
                : "test set (the paper's convention; --validation-fraction holds out a validation set instead)"
        }
    }
}
