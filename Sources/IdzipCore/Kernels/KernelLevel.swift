import CIdzipKernels

/// The instruction-set level of every C kernel family (random, projection, dense; the C
/// target CIdzipKernels). Every level gives the same bits; choosing one is for tests and
/// measurements. A family without an AVX-512 kernel runs its AVX2 one at `.avx512`.
///
/// The level in use is the best this processor supports, unless forced (`force`) or
/// requested by the environment variable IDZIP_KERNELS=portable|avx2|avx512 (read once; the
/// older IDZIP_RANDOM_KERNELS and IDZIP_PROJECTION_KERNELS are aliases, IDZIP_KERNELS wins).
package enum KernelLevel: Int32, Sendable, CaseIterable, CustomStringConvertible {
    case portable = 0
    /// AVX2.
    case avx2 = 1
    /// AVX512F, AVX512DQ and AVX512VL.
    case avx512 = 2

    /// The best level this processor supports.
    package static var best: KernelLevel { KernelLevel(idz_kernels_best()) }

    /// The level the kernels use now.
    package static var inUse: KernelLevel { KernelLevel(idz_kernels_level()) }

    /// The levels this processor supports, lowest first.
    package static var supported: [KernelLevel] { allCases.filter { $0.rawValue <= best.rawValue } }

    /// Uses `level` (nil: back to the environment's request or the best) from now on in
    /// every family, lowered to what the processor supports; returns the level in use.
    /// Process-wide.
    @discardableResult
    package static func force(_ level: KernelLevel?) -> KernelLevel {
        KernelLevel(idz_kernels_force(level?.rawValue ?? Int32(IDZ_KERNELS_AUTO)))
    }

    /// The level that `environment` requests (nil: none), by the rule the kernels apply to
    /// the process environment: the first of IDZIP_KERNELS, IDZIP_RANDOM_KERNELS and
    /// IDZIP_PROJECTION_KERNELS that names a level.
    package static func requested(by environment: [String: String]) -> KernelLevel? {
        func withName<R>(_ name: String?, _ body: (UnsafePointer<CChar>?) -> R) -> R {
            if let name { name.withCString(body) } else { body(nil) }
        }
        let level = withName(environment["IDZIP_KERNELS"]) { kernels in
            withName(environment["IDZIP_RANDOM_KERNELS"]) { random in
                withName(environment["IDZIP_PROJECTION_KERNELS"]) { projection in
                    idz_kernels_requested(kernels, random, projection)
                }
            }
        }
        return level == Int32(IDZ_KERNELS_AUTO) ? nil : KernelLevel(level)
    }

    package var description: String {
        switch self {
        case .portable: "portable"
        case .avx2: "avx2"
        case .avx512: "avx512"
        }
    }

    init(_ level: Int32) {
        self = KernelLevel(rawValue: level) ?? .portable
    }
}
