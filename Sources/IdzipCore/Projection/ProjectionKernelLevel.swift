import CProjectionKernels

/// The instruction set of the projection kernels (Walsh-Hadamard transform, Fastfood
/// permutations). Every level gives the same bits; the best supported one is used unless
/// the environment variable IDZIP_PROJECTION_KERNELS names a lower one (portable, avx2).
public enum ProjectionKernelLevel: Int, Sendable, CaseIterable, CustomStringConvertible {
    case portable = 0
    case avx2 = 1
    case avx512 = 2

    /// The best level this processor supports.
    public static var best: ProjectionKernelLevel { ProjectionKernelLevel(idz_kernel_best_level()) }

    /// The level the projections use.
    public static var inUse: ProjectionKernelLevel { ProjectionKernelLevel(idz_kernel_level_in_use()) }

    /// The levels this processor supports, lowest first.
    public static var supported: [ProjectionKernelLevel] { allCases.filter { $0.rawValue <= best.rawValue } }

    public var description: String {
        switch self {
        case .portable: "portable"
        case .avx2: "avx2"
        case .avx512: "avx512"
        }
    }

    var cValue: idz_kernel_level { idz_kernel_level(rawValue: UInt32(rawValue)) }

    init(_ level: idz_kernel_level) {
        self = ProjectionKernelLevel(rawValue: Int(level.rawValue)) ?? .portable
    }
}
