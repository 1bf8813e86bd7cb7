import Foundation
import IdzipCore
import IdzipTraining
import Testing

/// The paper's toy problem (Sec. 2): d = 10 solves it, d < 10 cannot.
struct ToyTrainerTests {
    static func train(d: Int?, seed: UInt64, projection: ProjectionKind = .fastfood) throws -> ToyTrainer {
        let space: ParameterSpace = d.map {
            .subspace(trainingProjection(kind: projection, rowCount: 1000, columnCount: $0, seed: seed ^ 0x9E37_79B9_7F4A_7C15, threads: 1))
        } ?? .direct
        var configuration = ToyTrainer.recommended(seed: seed)
        let environment = ProcessInfo.processInfo.environment["IDZIP_TOY_PROBE"] == nil ? [:] : ProcessInfo.processInfo.environment
        if let steps = environment["TOY_STEPS"].flatMap(Int.init) { configuration.epochs = steps }
        if let rate = environment["TOY_LR"].flatMap(Float.init) { configuration.learningRate = rate }
        if let floor = environment["TOY_FLOOR"].flatMap(Float.init) { configuration.schedule = .cosine(floor: floor) }
        if let momentum = environment["TOY_SGD"].flatMap(Float.init) { configuration.optimizer = .sgd(momentum: momentum, nesterov: false) }
        let trainer = try ToyTrainer(architecture: .toy(), theta0Seed: seed, space: space, configuration: configuration)
        try trainer.train()
        return trainer
    }

    @Test func objectiveLossAndGradient() {
        let objective = ToyObjective()
        var theta = [Float](repeating: 0, count: 1000)
        #expect(objective.loss(theta) == (1...10).reduce(0) { $0 + Double($1 * $1) })
        for group in 0..<10 { theta[group * 100] = Float(group + 1) }
        #expect(objective.loss(theta) == 0)
        theta[0] += 0.5
        var gradient = [Float](repeating: 9, count: 1000)
        let loss = theta.withUnsafeBufferPointer { theta in gradient.withUnsafeMutableBufferPointer { objective.gradient(theta, into: $0) } }
        #expect(loss == 0.25)
        #expect(gradient[0..<100].allSatisfy { $0 == 1 } && gradient[100...].allSatisfy { $0 == 0 })
        #expect(ToyObjective(Architecture.toy()) == objective)
        #expect(ToyObjective(try! Architecture(spec: "fc:4-2")) == nil)
    }

    @Test(arguments: [ProjectionKind.fastfood, .dense, .sparse])
    func tenDimensionsSolveIt(projection: ProjectionKind) throws {
        for seed: UInt64 in 1...3 {
            let trainer = try Self.train(d: 10, seed: seed, projection: projection)
            #expect(trainer.performance > 0.99, "seed \(seed): loss \(trainer.loss)")
        }
    }

    @Test func fiveDimensionsCannot() throws {
        for seed: UInt64 in 1...3 {
            let trainer = try Self.train(d: 5, seed: seed)
            #expect(trainer.performance < 0.5, "seed \(seed): loss \(trainer.loss)")
        }
    }

    @Test func directTrainingSolvesIt() throws {
        let trainer = try Self.train(d: nil, seed: 1)
        #expect(trainer.performance > 0.99, "loss \(trainer.loss)")
    }

    @Test func intrinsicDimensionRule() {
        func record(_ d: Int, _ seed: UInt64, _ performance: Double) -> SweepRecord {
            SweepRecord(d: d, seed: seed, projection: "fastfood", performance: performance, epochs: 1, seconds: 0, model: "m")
        }
        let records = [
            record(4, 1, 0.2), record(4, 2, 0.3), record(2, 1, 0.1), record(8, 1, 0.95), record(8, 2, 0.85),
            record(16, 1, 1.0), record(16, 2, 1.0),
            SweepRecord(d: 1000, seed: 1, projection: "direct", performance: 1, epochs: 1, seconds: 0, model: "m"),
        ]
        let estimate = IntrinsicDimensionEstimate(records: records, baseline: 1, threshold: 0.9)
        #expect(estimate.means.map(\.d) == [2, 4, 8, 16])
        #expect(estimate.dInt90 == 16, "mean 0.9 at d = 8 is not strictly above 0.9")
        #expect(estimate.dInt100 == 16)
        let lower = IntrinsicDimensionEstimate(records: records, baseline: 0.95, threshold: 0.9)
        #expect(lower.dInt90 == 8 && lower.dInt100 == 16)
        #expect(IntrinsicDimensionEstimate(records: records, baseline: 2, threshold: 0.9).dInt90 == nil)
        #expect(SweepPlan.parseDimensions("1-3,10,2,5...6") == [1, 2, 3, 5, 6, 10])
        #expect(SweepPlan.parseDimensions("0,1") == nil && SweepPlan.parseDimensions("a") == nil)
        #expect(SweepPlan.parseDimensions("100-500:200,50") == [50, 100, 300, 500])
        #expect(SweepPlan.parseDimensions("100-550:200") == [100, 300, 500])
        for bad in ["100-500:0", "100:10", "100-500:x", "1-2:3:4"] { #expect(SweepPlan.parseDimensions(bad) == nil, "\(bad)") }
        #expect(SweepBaseline("local") == .local && SweepBaseline("1.0") == .global(1) && SweepBaseline("-1") == nil)
    }

    /// Doubling then bisection on a step at 10 tries 1, 2, 4, 8, 16, 12, 10, 9.
    @Test func searchDoublesThenBisects() {
        let search = IntrinsicDimensionSearch(low: 1, high: 1000)
        var means: [Int: Double] = [:]
        var tried: [Int] = []
        while let d = search.next(means: means, level: 0.9), tried.count < 50 {
            tried.append(d)
            means[d] = d >= 10 ? 1 : 0
        }
        #expect(tried == [1, 2, 4, 8, 16, 12, 10, 9])
        #expect(IntrinsicDimensionSearch(low: 1, high: 5).next(means: [1: 0, 2: 0, 4: 0, 5: 0], level: 0.9) == nil, "never passes")
        #expect(IntrinsicDimensionSearch(low: 3, high: 5).next(means: [3: 1], level: 0.9) == nil, "passes at once")
        #expect(IntrinsicDimensionSearch(low: 100, high: 1000, resolution: 50).next(means: [100: 0, 200: 0, 400: 1, 300: 0, 350: 1], level: 0.9) == nil)
        #expect(IntrinsicDimensionSearch.parseRange("1-1000")! == (1, 1000) && IntrinsicDimensionSearch.parseRange("5-1") == nil)
    }

    @Test func bootstrapOverSeeds() {
        func record(_ d: Int, _ seed: UInt64, _ performance: Double) -> SweepRecord {
            SweepRecord(d: d, seed: seed, projection: "fastfood", performance: performance, epochs: 1, seconds: 0, model: "m")
        }
        // d = 10 passes with both seeds; d = 5 with one of two, so about 1/4 of the
        // replicates pick 5 (the resampled mean is above 0.9 only if both draws are the good seed).
        let records = [record(5, 1, 1), record(5, 2, 0), record(10, 1, 1), record(10, 2, 1)]
        let bootstrap = IntrinsicDimensionBootstrap(records: records, baseline: 1, threshold: 0.9, replicates: 4000, seed: 7)
        #expect(bootstrap.reachedFraction == 1)
        #expect(bootstrap.lower == 5 && bootstrap.upper == 10)
        let mean = bootstrap.mean ?? 0
        #expect(abs(mean - (0.25 * 5 + 0.75 * 10)) < 0.2, "\(mean)")
        #expect(bootstrap == IntrinsicDimensionBootstrap(records: records, baseline: 1, threshold: 0.9, replicates: 4000, seed: 7))
        let solid = IntrinsicDimensionBootstrap(records: [record(10, 1, 1), record(10, 2, 1)], baseline: 1, threshold: 0.9)
        #expect(solid.mean == 10 && solid.standardDeviation == 0)
        #expect(IntrinsicDimensionBootstrap(records: [record(10, 1, 0.1)], baseline: 1, threshold: 0.9).mean == nil)
    }

    /// For d = 10: solves A theta_d = b exactly (A = group sums of P's columns) in float64 and
    /// describes max |theta_d| and the ratio of the largest to the smallest pivot.
    static func exactSolution(seed: UInt64, projection kind: ProjectionKind) -> String {
        let projection = trainingProjection(kind: kind, rowCount: 1000, columnCount: 10, seed: seed ^ 0x9E37_79B9_7F4A_7C15, threads: 1)
        let theta0 = InitialWeights.make(tensors: try! Architecture.toy().parameterTensors(), seed: seed)
        var a = [[Double]](repeating: [Double](repeating: 0, count: 11), count: 10)
        var column = [Float](repeating: 0, count: 10)
        for group in 0..<10 {
            let indicator = (0..<1000).map { Float($0 / 100 == group ? 1 : 0) }
            indicator.withUnsafeBufferPointer { g in column.withUnsafeMutableBufferPointer { projection.projectTranspose(g, into: $0) } }
            for j in 0..<10 { a[group][j] = Double(column[j]) }
            a[group][10] = Double(group + 1) - theta0[group * 100..<(group + 1) * 100].reduce(0.0) { $0 + Double($1) }
        }
        var pivots: [Double] = []
        for k in 0..<10 {
            let p = (k..<10).max { abs(a[$0][k]) < abs(a[$1][k]) }!
            a.swapAt(k, p)
            pivots.append(abs(a[k][k]))
            for i in (k + 1)..<10 {
                let f = a[i][k] / a[k][k]
                for j in k...10 { a[i][j] -= f * a[k][j] }
            }
        }
        var x = [Double](repeating: 0, count: 10)
        for k in (0..<10).reversed() {
            var sum = a[k][10]
            for j in (k + 1)..<10 { sum -= a[k][j] * x[j] }
            x[k] = sum / a[k][k]
        }
        return "max |theta_d| \(x.map(abs).max()!), pivot ratio \(pivots.max()! / pivots.min()!)"
    }

    /// Probe for tuning, run only with IDZIP_TOY_PROBE=1 (TOY_STEPS, TOY_LR, TOY_FLOOR, TOY_SGD,
    /// TOY_PROJECTION override the settings): prints the final loss of d = 9, 10, 11 over 40 seeds.
    /// With the recommended settings, fastfood d = 10 fails to converge for 3 of 40 seeds
    /// (18, 23, 33), dense for 1 (18), sparse for none. Those subspaces are nearly singular: the
    /// exact solution needs |theta_d| up to 4e4 (60-200 elsewhere), with pivot ratios of
    /// 200-900 (3-6 elsewhere); Adam at rates 1-100 or SGD with momentum do no better.
    @Test func probe() throws {
        guard ProcessInfo.processInfo.environment["IDZIP_TOY_PROBE"] != nil else { return }
        for d in [9, 10, 11] {
            for seed: UInt64 in 1...40 {
                let start = Date()
                let kind = ProcessInfo.processInfo.environment["TOY_PROJECTION"].flatMap { ProjectionKind(name: $0) } ?? .fastfood
                let trainer = try Self.train(d: d, seed: seed, projection: kind)
                if d == 10 { print("d 10 seed \(seed) exact solution: " + Self.exactSolution(seed: seed, projection: kind)) }
                print("d \(d) seed \(seed) loss \(trainer.loss) \(Date().timeIntervalSince(start)) s")
            }
        }
    }
}
