import IdzipCore
import IdzipTraining
import Testing

/// Backpropagated float32 gradients against central finite differences of the float64
/// reference network.
@Suite struct GradientCheckTests {
    static let networks: [(String, Architecture)] = [
        ("dense", Architecture(inputShape: [5], layers: [.dense(units: 4)])),
        ("dense relu dense", Architecture(inputShape: [6], layers: [.dense(units: 5), .relu, .dense(units: 3)])),
        ("relu on input", Architecture(inputShape: [6], layers: [.relu, .dense(units: 3)])),
        ("conv valid", Architecture(inputShape: [2, 6, 6], layers: [
            .conv2d(filters: 3, kernel: 3, padding: .valid), .flatten, .dense(units: 3)])),
        ("conv same relu pool", Architecture(inputShape: [1, 6, 6], layers: [
            .conv2d(filters: 2, kernel: 3, padding: .same), .relu, .maxPool(size: 2), .flatten, .dense(units: 3)])),
        ("pool with dropped edge, separate relu", Architecture(inputShape: [2, 7, 7], layers: [
            .conv2d(filters: 2, kernel: 1, padding: .valid), .maxPool(size: 2), .relu, .flatten, .dense(units: 3)])),
        ("conv on conv", Architecture(inputShape: [2, 7, 7], layers: [
            .conv2d(filters: 3, kernel: 3, padding: .same), .relu,
            .conv2d(filters: 2, kernel: 3, padding: .valid), .flatten, .dense(units: 4)])),
        ("pool on input", Architecture(inputShape: [2, 8, 8], layers: [
            .maxPool(size: 2), .conv2d(filters: 2, kernel: 3, padding: .valid), .flatten, .dense(units: 3)])),
        ("convolution logits", Architecture(inputShape: [1, 4, 4], layers: [.conv2d(filters: 3, kernel: 4, padding: .valid)])),
        ("small LeNet", Architecture(inputShape: [1, 12, 12], layers: [
            .conv2d(filters: 3, kernel: 3, padding: .same), .relu, .maxPool(size: 2),
            .conv2d(filters: 4, kernel: 3, padding: .valid), .relu, .maxPool(size: 2),
            .flatten, .dense(units: 6), .relu, .dense(units: 4)])),
    ]

    @Test(arguments: 0..<networks.count)
    func backpropagationMatchesFiniteDifferences(_ index: Int) throws {
        let (name, architecture) = Self.networks[index]
        let plan = try NetworkPlan(architecture)
        let batch = 3
        let theta = try TestData.theta(architecture, seed: UInt64(index + 1))
        let inputs = TestData.uniform(batch * plan.inputCount, seed: UInt64(100 + index))
        let labels = TestData.labels(batch, classes: plan.classCount, seed: UInt64(index))
        let analytic = try Self.gradient(plan: plan, theta: theta, inputs: inputs, labels: labels)

        let rows = (0..<batch).map { row in inputs[(row * plan.inputCount)..<((row + 1) * plan.inputCount)].map(Double.init) }
        let thetaDouble = theta.map(Double.init)
        let epsilon = 1e-5
        for k in theta.indices {
            var plus = thetaDouble, minus = thetaDouble
            plus[k] += epsilon
            minus[k] -= epsilon
            let numeric = (try ReferenceNetwork.loss(architecture, theta: plus, inputs: rows, labels: labels.map(Int.init))
                - ReferenceNetwork.loss(architecture, theta: minus, inputs: rows, labels: labels.map(Int.init))) / (2 * epsilon)
            #expect(abs(Double(analytic[k]) - numeric) <= 2e-5 + 2e-3 * abs(numeric), "\(name): parameter \(k)")
        }
    }

    /// A convolution large enough that its products run over several chunks of examples;
    /// a sample of parameters is checked.
    @Test func chunkedConvolutionMatchesFiniteDifferences() throws {
        let architecture = Architecture(inputShape: [1, 20, 20], layers: [
            .conv2d(filters: 40, kernel: 5, padding: .valid), .relu, .flatten, .dense(units: 3)])
        let plan = try NetworkPlan(architecture)
        guard case .convolution(let shape, _) = plan.steps[0] else { Issue.record("no convolution"); return }
        let batch = 7
        #expect(shape.examplesPerProduct < batch)
        let theta = try TestData.theta(architecture, seed: 21)
        let inputs = TestData.uniform(batch * plan.inputCount, seed: 22)
        let labels = TestData.labels(batch, classes: 3, seed: 23)
        let analytic = try Self.gradient(plan: plan, theta: theta, inputs: inputs, labels: labels)
        let rows = (0..<batch).map { row in inputs[(row * plan.inputCount)..<((row + 1) * plan.inputCount)].map(Double.init) }
        let thetaDouble = theta.map(Double.init)
        let stream = RandomStream(seed: 24, purpose: .subsetSelection)
        let sample = (0..<16).map { Int(stream.integer(UInt64($0), below: 1000)) } + [1000, 1020, 1039, 1040, 1041, plan.parameterCount - 1]
        for k in sample {
            var plus = thetaDouble, minus = thetaDouble
            plus[k] += 1e-5
            minus[k] -= 1e-5
            let numeric = (try ReferenceNetwork.loss(architecture, theta: plus, inputs: rows, labels: labels.map(Int.init))
                - ReferenceNetwork.loss(architecture, theta: minus, inputs: rows, labels: labels.map(Int.init))) / 2e-5
            #expect(abs(Double(analytic[k]) - numeric) <= 2e-5 + 2e-3 * abs(numeric), "parameter \(k)")
        }
    }

    /// The subspace gradient P^T grad_theta against finite differences in theta_d.
    @Test func subspaceGradientMatchesFiniteDifferences() throws {
        let architecture = Self.networks.last!.1
        let plan = try NetworkPlan(architecture)
        let theta0 = try TestData.theta(architecture, seed: 7)
        let projection = MatrixProjection(rows: plan.parameterCount, columns: 5, seed: 3)
        let thetaD = TestData.uniform(5, seed: 8, scale: 0.5)
        var theta = [Float](repeating: 0, count: plan.parameterCount)
        thetaD.withUnsafeBufferPointer { v in
            theta.withUnsafeMutableBufferPointer { projection.project(v, rows: 0..<plan.parameterCount, into: $0) }
        }
        for i in theta.indices { theta[i] += theta0[i] }
        let batch = 4
        let inputs = TestData.uniform(batch * plan.inputCount, seed: 9)
        let labels = TestData.labels(batch, classes: plan.classCount, seed: 10)
        let gradientTheta = try Self.gradient(plan: plan, theta: theta, inputs: inputs, labels: labels)
        var analytic = [Float](repeating: 0, count: 5)
        gradientTheta.withUnsafeBufferPointer { g in
            analytic.withUnsafeMutableBufferPointer { projection.projectTranspose(g, into: $0) }
        }
        let rows = (0..<batch).map { row in inputs[(row * plan.inputCount)..<((row + 1) * plan.inputCount)].map(Double.init) }
        func loss(_ v: [Double]) throws -> Double {
            let full = (0..<plan.parameterCount).map { row in
                Double(theta0[row]) + (0..<5).reduce(0.0) { $0 + Double(projection.matrix[row * 5 + $1]) * v[$1] }
            }
            return try ReferenceNetwork.loss(architecture, theta: full, inputs: rows, labels: labels.map(Int.init))
        }
        let epsilon = 1e-5
        for j in 0..<5 {
            var plus = thetaD.map(Double.init), minus = plus
            plus[j] += epsilon
            minus[j] -= epsilon
            let numeric = (try loss(plus) - loss(minus)) / (2 * epsilon)
            #expect(abs(Double(analytic[j]) - numeric) <= 2e-5 + 2e-3 * abs(numeric), "direction \(j)")
        }
    }

    static func gradient(plan: NetworkPlan, theta: [Float], inputs: [Float], labels: [Int32]) throws -> [Float] {
        let batch = labels.count
        let network = try NetworkGradient(plan: plan, batchCapacity: batch)
        var gradient = [Float](repeating: .nan, count: plan.parameterCount)
        inputs.withUnsafeBufferPointer { network.forward.input.baseAddress!.update(from: $0.baseAddress!, count: $0.count) }
        _ = theta.withUnsafeBufferPointer { theta in
            labels.withUnsafeBufferPointer { labels in
                gradient.withUnsafeMutableBufferPointer { gradient in
                    network.compute(theta: theta.baseAddress!, labels: labels.baseAddress!, batch: batch, gradient: gradient.baseAddress!, threads: 2)
                }
            }
        }
        return gradient
    }
}
