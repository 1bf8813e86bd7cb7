import IdzipCore
#if arch(x86_64)
import _Builtin_intrinsics.intel
#endif

/// One optimiser's update: from the gradient and its per-parameter slots to new parameters.
/// Implementations work element by element, so any split into pieces gives the same bits.
public protocol UpdateRule: Sendable {
    /// Per-parameter buffers the rule keeps.
    var slotCount: Int { get }

    /// Updates `parameters[range]` in place for update number `step` (1 for the first).
    func apply(
        parameters: UnsafeMutablePointer<Float>, gradient: UnsafePointer<Float>,
        slots: [UnsafeMutablePointer<Float>], range: Range<Int>, step: Int, learningRate: Float
    )
}

extension UpdateRule {
    /// Applies one update to all parameters, in parallel pieces, and advances `state.step`.
    public func update(
        parameters: UnsafeMutableBufferPointer<Float>, gradient: UnsafeBufferPointer<Float>,
        state: inout OptimizerState, learningRate: Float, threads: Int
    ) {
        state.step += 1
        let step = state.step
        let count = parameters.count
        let slotCount = state.slotCount
        state.storage.withUnsafeMutableBufferPointer { storage in
            let slots = (0..<slotCount).map { storage.baseAddress! + $0 * count }
            WorkSplit(count: count, grain: 1 << 16).forEach(threads: threads) { range in
                apply(
                    parameters: parameters.baseAddress!, gradient: gradient.baseAddress!, slots: slots,
                    range: range, step: step, learningRate: learningRate)
            }
        }
    }
}

/// SGD with (optionally Nesterov) momentum; no momentum when `momentum` is 0.
public struct MomentumRule: UpdateRule {
    public var momentum: Float
    public var nesterov: Bool

    public init(momentum: Float, nesterov: Bool) {
        self.momentum = momentum
        self.nesterov = nesterov
    }

    public var slotCount: Int { 1 }

    public func apply(
        parameters: UnsafeMutablePointer<Float>, gradient: UnsafePointer<Float>,
        slots: [UnsafeMutablePointer<Float>], range: Range<Int>, step: Int, learningRate: Float
    ) {
        let velocity = slots[0]
        let momentum = momentum
        if nesterov {
            for i in range {
                let v = momentum * velocity[i] + gradient[i]
                velocity[i] = v
                parameters[i] -= learningRate * (gradient[i] + momentum * v)
            }
        } else {
            for i in range {
                let v = momentum * velocity[i] + gradient[i]
                velocity[i] = v
                parameters[i] -= learningRate * v
            }
        }
    }
}

/// Adam: m = b1 m + (1 - b1) g, v = b2 v + (1 - b2) g^2,
/// p -= lr (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps).
public struct AdamRule: UpdateRule {
    public var beta1: Float
    public var beta2: Float
    public var epsilon: Float

    public init(beta1: Float, beta2: Float, epsilon: Float) {
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
    }

    public var slotCount: Int { 2 }

    public func apply(
        parameters: UnsafeMutablePointer<Float>, gradient: UnsafePointer<Float>,
        slots: [UnsafeMutablePointer<Float>], range: Range<Int>, step: Int, learningRate: Float
    ) {
        let first = slots[0], second = slots[1]
        let beta1 = beta1, beta2 = beta2, epsilon = epsilon
        let oneMinusBeta1 = 1 - beta1, oneMinusBeta2 = 1 - beta2
        // Bias corrections in float64, rounded once.
        let stepSize = Float(Double(learningRate) / (1 - Self.power(Double(beta1), step)))
        let secondScale = Float(1 / (1 - Self.power(Double(beta2), step)).squareRoot())
        var i = range.lowerBound
        #if arch(x86_64)
        // Four lanes at a time with SSE; sqrtps and divps round exactly like the scalar tail.
        let vectorEnd = range.lowerBound + (range.count / 4) * 4
        let b1 = _mm_set1_ps(beta1), b2 = _mm_set1_ps(beta2)
        let c1 = _mm_set1_ps(oneMinusBeta1), c2 = _mm_set1_ps(oneMinusBeta2)
        let size = _mm_set1_ps(stepSize), scale = _mm_set1_ps(secondScale), eps = _mm_set1_ps(epsilon)
        while i < vectorEnd {
            let g = _mm_loadu_ps(gradient + i)
            let m = _mm_add_ps(_mm_mul_ps(b1, _mm_loadu_ps(first + i)), _mm_mul_ps(c1, g))
            let v = _mm_add_ps(_mm_mul_ps(b2, _mm_loadu_ps(second + i)), _mm_mul_ps(c2, _mm_mul_ps(g, g)))
            _mm_storeu_ps(first + i, m)
            _mm_storeu_ps(second + i, v)
            let denominator = _mm_add_ps(_mm_mul_ps(_mm_sqrt_ps(v), scale), eps)
            let change = _mm_div_ps(_mm_mul_ps(size, m), denominator)
            _mm_storeu_ps(parameters + i, _mm_sub_ps(_mm_loadu_ps(parameters + i), change))
            i += 4
        }
        #endif
        while i < range.upperBound {
            let g = gradient[i]
            let m = beta1 * first[i] + oneMinusBeta1 * g
            let v = beta2 * second[i] + oneMinusBeta2 * (g * g)
            first[i] = m
            second[i] = v
            parameters[i] -= stepSize * m / (v.squareRoot() * secondScale + epsilon)
            i += 1
        }
    }

    /// base^exponent by repeated squaring (exact and the same on every platform).
    static func power(_ base: Double, _ exponent: Int) -> Double {
        var result = 1.0, factor = base, remaining = exponent
        while remaining > 0 {
            if remaining & 1 == 1 { result *= factor }
            factor *= factor
            remaining >>= 1
        }
        return result
    }
}
