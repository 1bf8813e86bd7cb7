/// Hard limits on what idzip reads and builds. A reader checks every declared size
/// against these before it allocates anything; Formats/idz-v1.md repeats them.
package enum Limits {
    /// Parameters of a network (D): 2^36, about 69 billion.
    package static let maxParameters = 1 << 36
    /// Subspace dimension (d): 2^26.
    package static let maxSubspaceDimension = 1 << 26
    package static let maxLayers = 1024
    /// Rank of an input or parameter tensor.
    package static let maxRank = 8
    /// One dimension of an input, a kernel, or a layer width: 2^24.
    package static let maxDimension = 1 << 24
    /// Entries of any activation tensor (one example).
    package static let maxActivationCount = 1 << 31
}
