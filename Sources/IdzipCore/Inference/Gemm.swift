import COpenBLAS

/// Row-major single-precision matrix multiplication through OpenBLAS.
package enum Gemm {
    /// C = alpha op(A) op(B) + beta C, where op(A) is m x k, op(B) is k x n and C is m x n.
    @inline(__always)
    package static func multiply(
        transposeA: Bool, transposeB: Bool,
        m: Int, n: Int, k: Int,
        alpha: Float = 1,
        a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int,
        beta: Float,
        c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        cblas_sgemm(
            CblasRowMajor,
            transposeA ? CblasTrans : CblasNoTrans,
            transposeB ? CblasTrans : CblasNoTrans,
            blasint(m), blasint(n), blasint(k),
            alpha, a, blasint(lda), b, blasint(ldb),
            beta, c, blasint(ldc)
        )
    }

    /// Sets the number of threads OpenBLAS uses for every later call in this process.
    /// With a fixed count, OpenBLAS gives the same bits on the same machine every run.
    package static func setThreadCount(_ threads: Int) {
        let wanted = Int32(max(1, min(threads, 256)))
        if openblas_get_num_threads() != wanted { openblas_set_num_threads(wanted) }
    }

    /// The largest dimension one call accepts (OpenBLAS takes 32-bit sizes).
    package static let maxDimension = Int(Int32.max)
}

/// The BLAS library that `Gemm` calls, as this process loaded it.
public enum BLASLibrary {
    /// OpenBLAS's name for the kernel family it chose for this processor at load time
    /// ("Prescott", "Haswell", "Cooperlake", ...; `OPENBLAS_CORETYPE` overrides it).
    /// Training's float32 matrix products go through these kernels, whose summation order
    /// differs between families: trained theta_d is deterministic for one kernel family and
    /// thread count, not across them. Expansion does not use BLAS and is bit-exact everywhere.
    public static var coreName: String {
        guard let name = openblas_get_corename() else { return "unknown" }
        return String(cString: name)
    }
}
