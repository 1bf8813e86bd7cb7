import IdzipTraining
import Testing

struct SweepShardTests {
    @Test func parsesOneBasedShares() {
        #expect(SweepShard("2/4") == SweepShard(index: 2, count: 4))
        #expect(SweepShard("1/1")?.name == "1/1")
        for bad in ["0/4", "5/4", "1/0", "-1/2", "2", "1/2/3", "a/b", "", "/"] {
            #expect(SweepShard(bad) == nil, "\(bad)")
        }
    }

    @Test(arguments: [1, 2, 3, 7, 40, 41])
    func sharesAreDisjointAndCoverThePlan(count: Int) throws {
        let plan = SweepPlan(dimensions: Array(1...20), seeds: [1, 2], projection: "fastfood").runs
        var seen: [SweepRunKey] = []
        for index in 1...count {
            let shard = try #require(SweepShard(index: index, count: count))
            let share = shard.share(of: plan)
            #expect(share.count == plan.count / count || share.count == plan.count / count + 1, "balanced")
            seen += share
        }
        #expect(seen.count == plan.count && Set(seen) == Set(plan))
    }
}
