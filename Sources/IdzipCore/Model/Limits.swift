/// Hard limits on what idzip reads and builds. A reader checks every declared size
/// against these before it allocates anything; Formats/idz-v1.md repeats them.
public enum Limits {
    /// Parameters of a network (D): 2^36, about 69 billion.
    public static let maxParameters = 1 << 36
    /// Subspace dimension (d): 2^26.
    public static let maxSubspaceDimension = 1 << 26
    public static let maxLayers = 1024
    /// Rank of an input or parameter tensor.
    public static let maxRank = 8
    /// One dimension of an input, a kernel, or a layer width: 2^24.
    public static let maxDimension = 1 << 24
    /// Entries of any activation tensor (one example).
    public static let maxActivationCount = 1 << 31
}
