/// One parameter tensor of a network: where it sits in theta and how theta0 fills it.
public struct TensorSpec: Sendable, Hashable {
    /// "layers.<layer index>.weight" or "layers.<layer index>.bias".
    public var name: String
    /// Dimensions, outermost first: dense [out, in], convolution [out, in, k, k], bias [out]
    /// (PyTorch layouts).
    public var shape: [Int]
    /// How theta0 fills it (spec section 9).
    public var initScheme: InitScheme
    /// Inputs feeding one output (dense: in; convolution: in x k x k).
    public var fanIn: Int
    /// Outputs fed by one input (dense: out; convolution: out x k x k).
    public var fanOut: Int
    /// First index of this tensor in the flat parameter vector theta.
    public var offset: Int

    /// A tensor description; `Architecture.parameterTensors()` derives them for a network.
    public init(name: String, shape: [Int], initScheme: InitScheme, fanIn: Int, fanOut: Int, offset: Int) {
        self.name = name
        self.shape = shape
        self.initScheme = initScheme
        self.fanIn = fanIn
        self.fanOut = fanOut
        self.offset = offset
    }

    /// Elements: the product of the shape.
    public var count: Int { shape.reduce(1, *) }
    /// Its indices in theta: offset ..< offset + count.
    public var range: Range<Int> { offset..<(offset + count) }
}
