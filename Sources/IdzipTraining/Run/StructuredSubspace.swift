import IdzipCore

/// How per-tensor modes are chosen for a run (`idzip train --tensor-mode`, `--direct-small`,
/// `--tensor-scales`), and the learning rates of the numbers trained beside theta_d.
///
/// Modes (Formats/idz-v3.md section 7): `subspace` (theta0 + lambda_t (P theta_d)_t),
/// `direct` (trained as they are and stored, as PRANC and Lotfi et al. 2022 keep small
/// tensors) and `frozen` (= theta0). Every tensor starts in the subspace; then tensors of at
/// most `directSmall` elements become direct; then each rule, in order, sets the mode of the
/// tensors it matches (a later rule wins).
public struct TensorStructureSettings: Sendable, Hashable {
    /// `pattern=mode` rules, in order.
    public var rules: [TensorModeRule]
    /// Tensors with at most this many elements are trained directly; nil: none.
    public var directSmall: Int?
    /// One learned scale lambda_t per subspace tensor (SAID, Aghajanyan et al. 2021, Sec. 3).
    public var scales: Bool
    /// Adam's (or SGD's) base rate for the scales; follows the run's schedule.
    public var scaleLearningRate: Float
    /// The base rate for direct tensors; follows the run's schedule.
    public var directLearningRate: Float

    public static let defaultScaleLearningRate: Float = 0.01
    public static let defaultDirectLearningRate: Float = 0.001

    public init(
        rules: [TensorModeRule] = [], directSmall: Int? = nil, scales: Bool = false,
        scaleLearningRate: Float = TensorStructureSettings.defaultScaleLearningRate,
        directLearningRate: Float = TensorStructureSettings.defaultDirectLearningRate
    ) {
        self.rules = rules
        self.directSmall = directSmall
        self.scales = scales
        self.scaleLearningRate = scaleLearningRate
        self.directLearningRate = directLearningRate
    }

    /// True when the settings change nothing (every tensor in the subspace, no scales).
    public var isPlain: Bool { rules.isEmpty && directSmall == nil && !scales }

    /// The mode of each of `tensors`.
    public func modes(for tensors: [TensorSpec]) -> [TensorMode] {
        tensors.map { tensor in
            var mode: TensorMode = .subspace
            if let directSmall, tensor.count <= directSmall { mode = .direct }
            for rule in rules where rule.matches(tensor.name) { mode = rule.mode }
            return mode
        }
    }

    /// "scales (lr 0.01), direct <= 100, bias=direct (lr 0.001)" for provenance and fingerprints.
    public var summary: String {
        var parts: [String] = []
        if scales { parts.append("scales (lr \(scaleLearningRate))") }
        if let directSmall { parts.append("direct <= \(directSmall)") }
        parts += rules.map(\.text)
        parts.append("direct lr \(directLearningRate)")
        return parts.joined(separator: ", ")
    }
}

/// `PATTERN=MODE`: PATTERN is a glob (`*` any run of characters, `?` one) matched against a
/// tensor's full name (`layers.0.weight`) or its last segment (`bias`, `weight`).
public struct TensorModeRule: Sendable, Hashable {
    public var pattern: String
    public var mode: TensorMode

    public init(pattern: String, mode: TensorMode) {
        self.pattern = pattern
        self.mode = mode
    }

    /// Parses `PATTERN=MODE`; nil when it is not of that form or MODE is unknown.
    public init?(text: String) {
        guard let equals = text.lastIndex(of: "="), let mode = TensorMode(name: String(text[text.index(after: equals)...])) else {
            return nil
        }
        let pattern = String(text[..<equals])
        guard !pattern.isEmpty else { return nil }
        self.init(pattern: pattern, mode: mode)
    }

    public var text: String { "\(pattern)=\(mode.name)" }

    /// Whether the rule applies to the tensor called `name`.
    public func matches(_ name: String) -> Bool {
        let last = name.split(separator: ".").last.map(String.init) ?? name
        return Self.glob(Array(pattern.utf8)[...], Array(name.utf8)[...]) || Self.glob(Array(pattern.utf8)[...], Array(last.utf8)[...])
    }

    /// Iterative glob with one backtrack point (the last `*`): O(pattern x text) time in the
    /// worst case, never exponential, whatever the number of stars.
    private static func glob(_ patternSlice: ArraySlice<UInt8>, _ textSlice: ArraySlice<UInt8>) -> Bool {
        let pattern = Array(patternSlice), text = Array(textSlice)
        var p = 0, t = 0
        var star = -1, resume = 0
        while t < text.count {
            if p < pattern.count, pattern[p] == UInt8(ascii: "*") {
                star = p
                resume = t
                p += 1
            } else if p < pattern.count, pattern[p] == UInt8(ascii: "?") || pattern[p] == text[t] {
                p += 1
                t += 1
            } else if star >= 0 {
                p = star + 1
                resume += 1
                t = resume
            } else {
                return false
            }
        }
        while p < pattern.count, pattern[p] == UInt8(ascii: "*") { p += 1 }
        return p == pattern.count
    }
}

/// The trained vector of a structured subspace and its maths: [theta_d (d), scales (S),
/// direct values (V)], theta from it (the `TensorRowPlan` expansion uses), the gradient of
/// each part from the gradient of theta, and the update with one rate per part.
///
/// With u = P theta_d and g = dL/dtheta: dL/dtheta_d = P^T (lambda ⊙ g restricted to
/// subspace rows); dL/dlambda_t = sum over the tensor's rows of g_i u_i; dL/dv_i = g_i.
/// Scales start at 1 (so theta starts at theta0, and theta_d gets a gradient from the first
/// step; at 0 neither would move), direct values at theta0.
public struct StructuredSubspace: Sendable {
    public let tensors: [TensorSpec]
    public let modes: [TensorMode]
    public let settings: TensorStructureSettings
    /// d.
    public let dimension: Int
    /// S: scales trained (subspace tensors when scaled, else 0).
    public let scaleCount: Int
    /// V: direct values trained.
    public let directCount: Int

    public init(tensors: [TensorSpec], dimension: Int, settings: TensorStructureSettings) {
        self.tensors = tensors
        self.settings = settings
        self.dimension = dimension
        modes = settings.modes(for: tensors)
        scaleCount = settings.scales ? modes.lazy.filter { $0 == .subspace }.count : 0
        directCount = zip(modes, tensors).reduce(0) { $0 + ($1.0 == .direct ? $1.1.count : 0) }
    }

    /// d + S + V: the numbers trained, and stored beside the file's other fields.
    public var trainedCount: Int { dimension + scaleCount + directCount }

    /// theta_d = 0, scales = 1, direct values = theta0.
    public func initialParameters(theta0: [Float]) -> [Float] {
        var values = [Float](repeating: 0, count: dimension) + [Float](repeating: 1, count: scaleCount)
        values.reserveCapacity(trainedCount)
        for (tensor, mode) in zip(tensors, modes) where mode == .direct { values += theta0[tensor.range] }
        return values
    }

    /// The modes, scales and direct values as a file stores them.
    public func tensorModes(parameters: UnsafeBufferPointer<Float>) -> TensorModes {
        let scales = settings.scales ? Array(parameters[dimension..<(dimension + scaleCount)]) : nil
        return TensorModes(modes: modes, scales: scales, directValues: Array(parameters[(dimension + scaleCount)...]))
    }

    package func rowPlan(parameters: UnsafeBufferPointer<Float>) -> TensorRowPlan {
        TensorRowPlan(tensors: tensors, modes: tensorModes(parameters: parameters))
    }

    /// u = P theta_d into `projected` and theta into `theta` (D each), exactly as expansion.
    package func forward(
        parameters: UnsafeBufferPointer<Float>, theta0: [Float], projection: any Projection,
        theta: UnsafeMutableBufferPointer<Float>, projected: UnsafeMutableBufferPointer<Float>, threads: Int
    ) {
        let thetaD = UnsafeBufferPointer(rebasing: parameters[0..<dimension])
        projection.project(thetaD, rows: 0..<theta.count, into: projected)
        let plan = rowPlan(parameters: parameters)
        theta0.withUnsafeBufferPointer { theta0 in
            WorkSplit(count: theta.count, grain: Reparameterization.pieceSize).forEach(threads: threads) { range in
                for i in range { theta[i] = projected[i] }
                plan.combine(theta: theta, theta0: theta0.baseAddress!, first: 0, range: range)
            }
        }
    }

    /// The gradient of the trained vector from g = dL/dtheta (`scratch`: D floats).
    package func backward(
        gradient: UnsafeBufferPointer<Float>, projected: UnsafeBufferPointer<Float>, parameters: UnsafeBufferPointer<Float>,
        projection: any Projection, scratch: UnsafeMutableBufferPointer<Float>, into output: UnsafeMutableBufferPointer<Float>
    ) {
        var scaleIndex = 0
        var directIndex = dimension + scaleCount
        for (tensor, mode) in zip(tensors, modes) {
            switch mode {
            case .subspace:
                let scale: Float = settings.scales ? parameters[dimension + scaleIndex] : 1
                var sum = 0.0
                for i in tensor.range {
                    scratch[i] = scale * gradient[i]
                    sum += Double(gradient[i]) * Double(projected[i])
                }
                if settings.scales {
                    output[dimension + scaleIndex] = Float(sum)
                    scaleIndex += 1
                }
            case .direct:
                for i in tensor.range {
                    scratch[i] = 0
                    output[directIndex] = gradient[i]
                    directIndex += 1
                }
            case .frozen:
                for i in tensor.range { scratch[i] = 0 }
            }
        }
        projection.projectTranspose(UnsafeBufferPointer(scratch), into: UnsafeMutableBufferPointer(rebasing: output[0..<dimension]))
    }

    /// One optimiser step: theta_d at `learningRate`, scales and direct values at their
    /// base rates scaled by the schedule (learningRate / baseRate).
    package func update(
        rule: any UpdateRule, parameters: UnsafeMutableBufferPointer<Float>, gradient: UnsafeBufferPointer<Float>,
        state: inout OptimizerState, learningRate: Float, baseRate: Float, threads: Int
    ) {
        let factor = baseRate > 0 ? learningRate / baseRate : 1
        let groups: [(Range<Int>, Float)] = [
            (0..<dimension, learningRate),
            (dimension..<(dimension + scaleCount), settings.scaleLearningRate * factor),
            ((dimension + scaleCount)..<trainedCount, settings.directLearningRate * factor),
        ]
        state.step += 1
        let step = state.step
        let count = parameters.count
        let slotCount = state.slotCount
        state.storage.withUnsafeMutableBufferPointer { storage in
            let slots = (0..<slotCount).map { storage.baseAddress! + $0 * count }
            for (range, rate) in groups where !range.isEmpty {
                WorkSplit(count: range.count, grain: 1 << 16).forEach(threads: threads) { piece in
                    rule.apply(
                        parameters: parameters.baseAddress!, gradient: gradient.baseAddress!, slots: slots,
                        range: (range.lowerBound + piece.lowerBound)..<(range.lowerBound + piece.upperBound),
                        step: step, learningRate: rate)
                }
            }
        }
    }
}
