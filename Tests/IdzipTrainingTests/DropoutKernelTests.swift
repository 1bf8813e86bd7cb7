import IdzipCore
import IdzipTraining
import Testing

/// `DropoutKernel`: the mask is the documented function of (stream, position), in either
/// layout; keep rate and scaling; the backward pass is the same mask.
@Suite struct DropoutKernelTests {
    // Until StreamPurpose.dropout exists on this branch, any purpose shows the addressing.
    static let stream = RandomStream(seed: 42, purpose: .exampleOrder, substream: 7)

    @Test(arguments: [ActivationLayout.channelMajor, .exampleMajor])
    func maskFollowsTheDocumentedPositions(_ layout: ActivationLayout) {
        let image = ImageSize(channels: 3, height: 5, width: 3)
        let batch = 4, rate: Float = 0.3, start: UInt64 = 1_000_003
        let x = TestData.uniform(batch * image.count, seed: 9)
        let input = FloatBuffer(KernelCheck.arrange(x, channels: 3, planeSize: 15, batch: batch, layout: layout))
        let output = FloatBuffer(count: x.count)
        DropoutKernel.apply(image, layout: layout, input: input.pointer, batch: batch, rate: rate, stream: Self.stream, start: start,
                            output: output.pointer, threads: 2)
        let logical = KernelCheck.logical(output.array, channels: 3, planeSize: 15, batch: batch, layout: layout)
        let scale = 1 / (1 - rate)
        for n in x.indices {
            // n = e * C*H*W + c * H*W + p in the logical order.
            let kept = Self.stream.uniformFloat(start + UInt64(n)) >= rate
            #expect(logical[n] == (kept ? x[n] * scale : 0), "number \(n)")
        }
    }

    /// Over 200,000 numbers about 1 - rate are kept, each scaled by 1 / (1 - rate); the
    /// backward pass (the same call on the gradient) passes the gradient where kept.
    @Test func keepRateAndBackward() {
        let image = ImageSize(channels: 8, height: 50, width: 50)
        let batch = 10, rate: Float = 0.25
        let ones = FloatBuffer([Float](repeating: 1, count: batch * image.count))
        let output = FloatBuffer(count: ones.count)
        DropoutKernel.apply(image, layout: .channelMajor, input: ones.pointer, batch: batch, rate: rate, stream: Self.stream, start: 0,
                            output: output.pointer, threads: 2)
        let values = output.array
        let kept = values.filter { $0 != 0 }
        #expect(kept.allSatisfy { $0 == 1 / (1 - rate) })
        let fraction = Double(kept.count) / Double(values.count)
        // Binomial standard deviation sqrt(0.25 * 0.75 / 200000) ~ 0.001.
        #expect(abs(fraction - 0.75) < 0.005, "kept \(fraction)")

        let gradient = FloatBuffer(TestData.uniform(ones.count, seed: 11))
        let expected = zip(gradient.array, values).map { $0 * $1 }
        DropoutKernel.apply(image, layout: .channelMajor, input: gradient.pointer, batch: batch, rate: rate, stream: Self.stream, start: 0,
                            output: gradient.pointer, threads: 2)
        #expect(gradient.array == expected)
    }

    @Test func rateZeroCopiesAndThreadsAgree() {
        let image = ImageSize(channels: 5, height: 7, width: 7)
        let x = TestData.uniform(6 * image.count, seed: 12)
        let input = FloatBuffer(x)
        let copy = FloatBuffer(count: x.count)
        DropoutKernel.apply(image, layout: .channelMajor, input: input.pointer, batch: 6, rate: 0, stream: Self.stream, start: 5,
                            output: copy.pointer, threads: 2)
        #expect(copy.array == x)
        let results: [[UInt32]] = [1, 2, 3].flatMap { threads in
            [ActivationLayout.channelMajor, .exampleMajor].map { layout in
                let output = FloatBuffer(count: x.count)
                DropoutKernel.apply(image, layout: layout, input: input.pointer, batch: 6, rate: 0.5, stream: Self.stream, start: 3,
                                    output: output.pointer, threads: threads)
                return KernelCheck.bits(output.array)
            }
        }
        #expect(results[2] == results[0] && results[4] == results[0])
        #expect(results[3] == results[1] && results[5] == results[1])
    }
}
