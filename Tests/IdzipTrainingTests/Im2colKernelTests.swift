import IdzipCore
import IdzipTraining
import Testing

/// CIdzipKernels' `idz_im2col` and `idz_col2im` (through `StridedConvolutionKernel.im2col`
/// and `StridedConvolutionGradient.col2im`) against the Swift definitions they replace
/// (`referenceIm2col`, `referenceCol2im`), bit for bit, on every window, stride, padding,
/// layout and odd size of a grid, for every run of examples of batches 1-5. The buffers
/// start filled with a marker and carry a guard region, so an entry written where it
/// should not be, or left unwritten, shows.
@Suite struct Im2colKernelTests {
    struct Case: CustomStringConvertible {
        var shape: StridedConvolutionKernel.Shape
        var batch: Int
        var description: String {
            "C\(shape.input.channels) \(shape.input.height)x\(shape.input.width) k\(shape.kernel) s\(shape.stride) "
                + "p\(shape.padding) \(shape.inputLayout) batch \(batch)"
        }
    }

    /// Every valid combination of the grid (groups do not change the im2col matrix:
    /// its rows are the input's channels).
    static func grid(kernels: [Int], sides: [(Int, Int)], batches: [Int]) -> [Case] {
        var cases: [Case] = []
        for kernel in kernels {
            for stride in 1...3 {
                for padding in 0...(kernel + 1) {
                    for (height, width) in sides {
                        for layout in [ActivationLayout.channelMajor, .exampleMajor] {
                            for (index, batch) in batches.enumerated() {
                                let channels = 1 + (kernel + stride + padding + index) % 3
                                let shape = StridedConvolutionKernel.Shape(
                                    input: ImageSize(channels: channels, height: height, width: width), filters: 2,
                                    kernel: kernel, stride: stride, padding: padding, inputLayout: layout)
                                if shape.isValid { cases.append(Case(shape: shape, batch: batch)) }
                            }
                        }
                    }
                }
            }
        }
        return cases
    }

    static let cases = grid(
        kernels: [1, 2, 3, 5], sides: [(1, 1), (2, 3), (5, 5), (7, 4), (8, 9)], batches: [1, 2, 3, 5])
        // ResNet-20's shapes, one stage each: 3x3 same padding (the one-span fast path), the
        // stride-2 3x3 and the 1x1 stride-2 shortcut.
        + [(3, 1, 1), (3, 2, 1), (1, 2, 0)].flatMap { kernel, stride, padding in
            [ActivationLayout.channelMajor, .exampleMajor].map { layout in
                Case(shape: StridedConvolutionKernel.Shape(
                    input: ImageSize(channels: 3, height: 32, width: 32), filters: 16, kernel: kernel,
                    stride: stride, padding: padding, inputLayout: layout), batch: 3)
            }
        }

    static let marker = Float(bitPattern: 0x7fc0_1234)
    static let guardCount = 17

    /// Input numbers with signed zeros among them (copies must keep the sign bit).
    static func input(_ count: Int, seed: UInt64) -> [Float] {
        var values = TestData.uniform(count, seed: seed)
        for i in stride(from: 0, to: count, by: 7) { values[i] = -0.0 }
        return values
    }

    @Test func im2colMatchesTheSwiftDefinition() {
        var checked = 0
        for c in Self.cases {
            let shape = c.shape
            let x = Self.input(c.batch * shape.input.count, seed: UInt64(checked + 1))
            for first in 0..<c.batch {
                for count in 1...(c.batch - first) {
                    let examples = first..<(first + count)
                    let size = shape.patchSize * count * shape.output.planeSize
                    var fast = [Float](repeating: Self.marker, count: size + Self.guardCount)
                    var reference = fast
                    x.withUnsafeBufferPointer { x in
                        fast.withUnsafeMutableBufferPointer {
                            StridedConvolutionKernel.im2col(
                                shape, input: x.baseAddress!, batch: c.batch, examples: examples, columns: $0.baseAddress!)
                        }
                        reference.withUnsafeMutableBufferPointer {
                            StridedConvolutionKernel.referenceIm2col(
                                shape, input: x.baseAddress!, batch: c.batch, examples: examples, columns: $0.baseAddress!)
                        }
                    }
                    #expect(KernelCheck.bits(fast) == KernelCheck.bits(reference), "\(c) examples \(examples)")
                    #expect(!fast[..<size].contains { $0.bitPattern == Self.marker.bitPattern }, "\(c) unwritten entries")
                    #expect(fast[size...].allSatisfy { $0.bitPattern == Self.marker.bitPattern }, "\(c) wrote past the end")
                    checked += 1
                }
            }
        }
        #expect(checked > 1_000)
    }

    @Test func col2imMatchesTheSwiftDefinition() {
        var checked = 0
        for c in Self.cases {
            let shape = c.shape
            for first in 0..<c.batch {
                for count in 1...(c.batch - first) {
                    let examples = first..<(first + count)
                    let columns = Self.input(shape.patchSize * count * shape.output.planeSize, seed: UInt64(checked + 7))
                    var fast = [Float](repeating: Self.marker, count: c.batch * shape.input.count + Self.guardCount)
                    var reference = fast
                    columns.withUnsafeBufferPointer { columns in
                        fast.withUnsafeMutableBufferPointer {
                            StridedConvolutionGradient.col2im(
                                shape, columns: columns.baseAddress!, batch: c.batch, examples: examples, output: $0.baseAddress!)
                        }
                        reference.withUnsafeMutableBufferPointer {
                            StridedConvolutionGradient.referenceCol2im(
                                shape, columns: columns.baseAddress!, batch: c.batch, examples: examples, output: $0.baseAddress!)
                        }
                    }
                    #expect(KernelCheck.bits(fast) == KernelCheck.bits(reference), "\(c) examples \(examples)")
                    // Exactly the examples' planes are written; the rest keeps the marker.
                    let written = fast.filter { $0.bitPattern != Self.marker.bitPattern }.count
                    #expect(written == count * shape.input.count, "\(c) examples \(examples)")
                    checked += 1
                }
            }
        }
        #expect(checked > 1_000)
    }
}
