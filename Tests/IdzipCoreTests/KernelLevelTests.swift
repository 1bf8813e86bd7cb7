import IdzipCore
import Testing

/// The one kernel level: what the environment variables request (IDZIP_KERNELS and its
/// aliases), what the processor supports, and forcing. Every level's bits are compared by
/// RandomKernelTests, ProjectionKernelTests and (dense) IdzipTrainingTests'
/// MaterializedProjectionTests.
struct KernelLevelTests {
    @Test func environmentNamesAndAliases() {
        #expect(KernelLevel.requested(by: [:]) == nil)
        for level in KernelLevel.allCases {
            #expect(KernelLevel.requested(by: ["IDZIP_KERNELS": level.description]) == level)
            #expect(KernelLevel.requested(by: ["IDZIP_RANDOM_KERNELS": level.description]) == level)
            #expect(KernelLevel.requested(by: ["IDZIP_PROJECTION_KERNELS": level.description]) == level)
        }
        // IDZIP_KERNELS wins over the aliases, then IDZIP_RANDOM_KERNELS over IDZIP_PROJECTION_KERNELS.
        #expect(KernelLevel.requested(by: [
            "IDZIP_KERNELS": "avx2", "IDZIP_RANDOM_KERNELS": "portable", "IDZIP_PROJECTION_KERNELS": "avx512",
        ]) == .avx2)
        #expect(KernelLevel.requested(by: ["IDZIP_RANDOM_KERNELS": "avx512", "IDZIP_PROJECTION_KERNELS": "portable"]) == .avx512)
        // Unknown names are ignored.
        #expect(KernelLevel.requested(by: ["IDZIP_KERNELS": "sse9"]) == nil)
        #expect(KernelLevel.requested(by: ["IDZIP_KERNELS": "AVX2", "IDZIP_PROJECTION_KERNELS": "portable"]) == .portable)
        #expect(KernelLevel.requested(by: ["IDZIP_KERNELS": ""]) == nil)
    }

    @Test func supportedLevels() {
        #expect(KernelLevel.supported.first == .portable)
        #expect(KernelLevel.supported.last == KernelLevel.best)
        #expect(KernelLevel.supported.contains(KernelLevel.inUse))
        #expect(KernelLevel.allCases.map(\.description) == ["portable", "avx2", "avx512"])
    }

    /// Forcing is process-wide and other suites (RandomKernelTests) force levels meanwhile,
    /// so only the returned levels are checked.
    @Test func forceLowersToSupported() {
        defer { KernelLevel.force(nil) }
        for level in KernelLevel.allCases {
            let used = KernelLevel.force(level)
            #expect(used.rawValue == min(level.rawValue, KernelLevel.best.rawValue))
        }
        let automatic = KernelLevel.force(nil)
        #expect(KernelLevel.supported.contains(automatic))
    }
}
