import Foundation
import IdzipCore

/// The paper's toy problem (Sec. 2): theta has groups * size entries (D = 1000 for 10
/// groups of 100); the loss asks each of the consecutive groups to sum to its target
/// (1, 2, ..., groups): loss = sum_g (sum of group g - g)^2. Performance is exp(-loss).
///
/// The loss is linear least squares in theta, so in a subspace theta = theta0 + P theta_d
/// it is a convex quadratic in theta_d: with d >= groups (and P generic) it reaches 0, with
/// d < groups it cannot, which makes d_int90 = d_int100 = groups exactly.
public struct ToyObjective: Sendable, Hashable {
    public let groups: Int
    public let size: Int

    public init(groups: Int = 10, size: Int = 100) {
        self.groups = groups
        self.size = size
    }

    /// The objective of a toy architecture (`Architecture.toy()`), nil for any other network.
    public init?(_ architecture: Architecture) {
        guard architecture.layers.count == 1, case .toyGroupSum(let groups, let size) = architecture.layers[0] else { return nil }
        self.init(groups: groups, size: size)
    }

    /// D.
    public var parameterCount: Int { groups * size }

    /// The target sum of group `group` (0-based): group + 1.
    public func target(_ group: Int) -> Double { Double(group + 1) }

    /// sum_g (sum of group g - target)^2, summed in float64.
    public func loss(_ theta: UnsafeBufferPointer<Float>) -> Double {
        var total = 0.0
        for group in 0..<groups {
            let residual = groupSum(theta, group) - target(group)
            total += residual * residual
        }
        return total
    }

    public func loss(_ theta: [Float]) -> Double {
        theta.withUnsafeBufferPointer { loss($0) }
    }

    /// exp(-loss), in [0, 1]; 1 at the optimum.
    public static func performance(loss: Double) -> Double { loss.isFinite ? exp(-loss) : 0 }

    /// Writes d loss / d theta (every entry of group g is 2 (sum_g - target_g)) into
    /// `gradient` and returns the loss.
    @discardableResult
    public func gradient(_ theta: UnsafeBufferPointer<Float>, into gradient: UnsafeMutableBufferPointer<Float>) -> Double {
        var total = 0.0
        for group in 0..<groups {
            let residual = groupSum(theta, group) - target(group)
            total += residual * residual
            let value = Float(2 * residual)
            for i in group * size..<(group + 1) * size { gradient[i] = value }
        }
        return total
    }

    private func groupSum(_ theta: UnsafeBufferPointer<Float>, _ group: Int) -> Double {
        var sum = 0.0
        for i in group * size..<(group + 1) * size { sum += Double(theta[i]) }
        return sum
    }
}
