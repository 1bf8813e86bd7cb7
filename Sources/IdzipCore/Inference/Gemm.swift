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
