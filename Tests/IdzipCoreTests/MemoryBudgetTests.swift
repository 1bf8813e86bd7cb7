import IdzipCore
import Testing

/// `MemoryBudget`: sizes add up without overflow, the limit comes from the machine or
/// IDZIP_MEMORY_LIMIT, and a refusal is one line naming what needs the memory.
struct MemoryBudgetTests {
    @Test func sizesParseWithDecimalSuffixes() {
        #expect(MemoryBudget.parseSize("64G") == .some(64_000_000_000))
        #expect(MemoryBudget.parseSize("500m") == .some(500_000_000))
        #expect(MemoryBudget.parseSize("1.5TB") == .some(1_500_000_000_000))
        #expect(MemoryBudget.parseSize("12345") == .some(12345))
        #expect(MemoryBudget.parseSize("unlimited") == .some(nil))
        for bad in ["", "G", "-5G", "0", "12X", "nan", "1e30"] {
            #expect(MemoryBudget.parseSize(bad) == nil, "\(bad)")
        }
    }

    @Test func theLimitComesFromTheEnvironmentVariable() throws {
        #expect(try MemoryBudget.limit(environment: ["IDZIP_MEMORY_LIMIT": "2G"]).bytes == 2_000_000_000)
        #expect(try MemoryBudget.limit(environment: ["IDZIP_MEMORY_LIMIT": "unlimited"]).bytes == nil)
        let machine = try MemoryBudget.limit(environment: [:])
        #expect((machine.bytes ?? 0) > 0)
        #expect(throws: MemoryBudgetError.self) { try MemoryBudget.limit(environment: ["IDZIP_MEMORY_LIMIT": "lots"]) }
    }

    @Test func aHugeNetworkIsRefusedInOneLineWithoutOverflow() throws {
        // D = 13.3e9: the weights alone are 53 GB.
        let budget = MemoryBudget.weights(of: try Architecture(spec: "fc:784-16777216-10"))
        #expect(budget.totalBytes == 4 * 13_337_886_730)
        let limit: (bytes: Int?, source: String) = (24_000_000_000, "this machine's memory")
        do {
            try budget.check("evaluating huge.idz", hint: "try another", limit: limit)
            Issue.record("not refused")
        } catch {
            #expect(error.description.hasPrefix("evaluating huge.idz needs 53 GB (weights (D = 13337886730 floats): 53 GB), more than the 24 GB of this machine's memory"))
            #expect(error.description.contains("IDZIP_MEMORY_LIMIT=54G") && error.description.hasSuffix("; try another"))
            #expect(!error.description.contains("\n"))
        }
        var saturated = MemoryBudget()
        saturated.add("many", floats: Int.max / 2, copies: 3)
        saturated.add("more", bytes: Int.max)
        #expect(saturated.totalBytes == Int.max)
        #expect(throws: MemoryBudgetError.self) { try saturated.check("x", limit: limit) }
        try saturated.check("x", limit: (nil, "unlimited"))
    }

    @Test func aSmallNetworkFits() throws {
        var budget = MemoryBudget.weights(of: try Architecture(spec: "fc:784-200-200-10"), copies: 3)
        budget.add(Predictor.memoryBudget(architecture: try Architecture(spec: "fc:784-200-200-10"), examples: 10_000, threads: 4))
        #expect(budget.totalBytes > 3 * 4 * 199_210)
        try budget.check("evaluating", limit: (1_000_000_000, "test"))
    }

    @Test func threadsWithoutWorkGetNoForwardPass() throws {
        let plan = try NetworkPlan(try Architecture(spec: "fc:784-16-10"))
        let evaluator = try ParallelEvaluator(plan: plan, batchSize: 8, threads: 64)
        #expect(evaluator.passCount == 1)
        let theta = [Float](repeating: 0.01, count: plan.parameterCount)
        let labels: [Int32] = [1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0]  // three batches of 8
        let evaluation = try theta.withUnsafeBufferPointer { theta in
            try evaluator.evaluate(labels: labels, theta: theta.baseAddress!) { _, buffer in
                for index in buffer.indices { buffer[index] = 0.5 }
            }
        }
        #expect(evaluation.exampleCount == 20)
        #expect(evaluator.passCount <= 3, "at most one pass per batch: \(evaluator.passCount)")
        // The budget counts the same: passes for threads that get a batch.
        let many = Predictor.memoryBudget(architecture: try Architecture(spec: "fc:784-16-10"), examples: 20, batchSize: 8, threads: 64)
        let three = Predictor.memoryBudget(architecture: try Architecture(spec: "fc:784-16-10"), examples: 20, batchSize: 8, threads: 3)
        #expect(many.totalBytes == three.totalBytes)
    }
}
