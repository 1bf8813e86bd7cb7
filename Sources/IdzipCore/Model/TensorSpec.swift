/// One parameter tensor of a network: where it sits in theta and how theta0 fills it.
public struct TensorSpec: Sendable, Hashable {
    /// "layers.<layer index>.weight" or "layers.<layer index>.bias".
    public var name: String
    public var shape: [Int]
    public var initScheme: InitScheme
    public var fanIn: Int
    public var fanOut: Int
    /// First index of this tensor in the flat parameter vector theta.
    public var offset: Int

    public init(name: String, shape: [Int], initScheme: InitScheme, fanIn: Int, fanOut: Int, offset: Int) {
        self.name = name
        self.shape = shape
        self.initScheme = initScheme
        self.fanIn = fanIn
        self.fanOut = fanOut
        self.offset = offset
    }

    public var count: Int { shape.reduce(1, *) }
    public var range: Range<Int> { offset..<(offset + count) }
}
