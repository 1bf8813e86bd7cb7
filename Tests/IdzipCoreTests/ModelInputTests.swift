import Foundation
import Testing

import IdzipCore

/// The decoders behind `idzip predict`: PNG through libpng, PGM and NPY parsed directly,
/// every one fed hostile bytes too; the fit of inputs to a model's input shape.
struct ModelInputTests {
    static func bytes(_ relativePath: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: RepositoryFiles.url(relativePath)))
    }

    static let digitSeven = "samples/digits/digit-7.png"
    static func fixture(_ name: String) -> String { "Tests/IdzipCoreTests/Fixtures/inputs/\(name)" }

    /// An NPY version 1 file of `values` with `descr` and `shape`.
    static func npy(descr: String, shape: [Int], data: [UInt8]) -> [UInt8] {
        let shapeText = "(" + shape.map { "\($0)," }.joined(separator: " ") + ")"
        var header = Array("{'descr': '\(descr)', 'fortran_order': False, 'shape': \(shapeText), }".utf8)
        while (10 + header.count + 1) % 64 != 0 { header.append(0x20) }
        header.append(0x0A)
        return [0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(header.count & 0xFF), UInt8(header.count >> 8)] + header + data
    }

    static func float32Bytes(_ values: [Float]) -> [UInt8] { values.flatMap { withUnsafeBytes(of: $0.bitPattern.littleEndian, Array.init) } }
    static func float64Bytes(_ values: [Double]) -> [UInt8] { values.flatMap { withUnsafeBytes(of: $0.bitPattern.littleEndian, Array.init) } }

    // MARK: PNG

    @Test func everyPNGKindDecodesToTheSamePixels() throws {
        let reference = try PNGDecoder.decode(Self.bytes(Self.digitSeven), name: "digit-7.png")
        #expect((reference.width, reference.height, reference.channels) == (28, 28, 1))
        #expect(reference.pixels.contains { $0 == 255 } && reference.pixels.contains { $0 == 0 })
        for name in ["digit-7-gray16.png", "digit-7-palette.png", "digit-7-interlaced.png"] {
            let image = try PNGDecoder.decode(Self.bytes(Self.fixture(name)), name: name)
            #expect(image.channels == 1 || name.contains("palette"), "\(name)")
            #expect(image.planes(channels: 1) == reference.planes(channels: 1), "\(name)")
        }
        // RGBA (opaque) decodes to RGB with three equal channels.
        let rgba = try PNGDecoder.decode(Self.bytes(Self.fixture("digit-7-rgba.png")), name: "rgba")
        #expect(rgba.channels == 3)
        #expect(rgba.planes(channels: 3) == reference.planes(channels: 3))
    }

    @Test func colorBecomesGrayWithTheBT601Weights() {
        let image = InputImage(width: 3, height: 1, channels: 3, pixels: [255, 0, 0, 0, 255, 0, 10, 20, 30])
        let gray = image.planes(channels: 1)
        #expect(gray == [Float(0.299) * 255, Float(0.587) * 255, Float(0.299) * 10 + Float(0.587) * 20 + Float(0.114) * 30])
        let replicated = InputImage(width: 2, height: 1, channels: 1, pixels: [7, 9]).planes(channels: 3)
        #expect(replicated == [7, 9, 7, 9, 7, 9])
    }

    @Test func hostilePNGsAreRefusedWithOneLine() throws {
        let good = try Self.bytes(Self.digitSeven)
        var badCRC = good
        badCRC[40] ^= 0xFF  // inside IDAT
        let cases: [(String, [UInt8])] = [
            ("truncated", Array(good.prefix(60))),
            ("signature only", Array(good.prefix(8))),
            ("bad CRC", badCRC),
            ("cut inside IDAT", Array(good.prefix(good.count - 20))),
        ]
        for (name, bytes) in cases {
            #expect(throws: InputError.self, "\(name)") { try PNGDecoder.decode(bytes, name: name) }
            do {
                _ = try PNGDecoder.decode(bytes, name: name)
            } catch {
                #expect(!error.description.contains("\n") && error.description.hasPrefix("\(name) is not a valid PNG file: "), "\(error)")
            }
        }
        for name in ["huge-side.png", "huge-area.png"] {
            #expect {
                try PNGDecoder.decode(Self.bytes(Self.fixture(name)), name: name)
            } throws: { error in
                guard case .tooLarge = error as? InputError else { return false }
                return true
            }
        }
    }

    // MARK: PGM

    @Test func pgmBinaryAndPlainAgree() throws {
        let p5 = try PGMDecoder.decode(Self.bytes("samples/digits/digit-2.pgm"), name: "digit-2.pgm")
        #expect((p5.width, p5.height, p5.channels) == (28, 28, 1))
        let plain = "P2\n# a comment\n28 28 # another\n255\n" + p5.pixels.map(String.init).joined(separator: " ") + "\n"
        #expect(try PGMDecoder.decode(Array(plain.utf8), name: "p2") == p5)
        let wide = Array("P5 28 28 65535\n".utf8) + p5.pixels.flatMap { [UInt8($0), UInt8($0)] }  // v x 257, big-endian
        #expect(try PGMDecoder.decode(wide, name: "p5-16") == p5)
        // Other maximum values are scaled: round(v x 255 / 15).
        let small = try PGMDecoder.decode(Array("P2 4 1 15 0 1 7 15".utf8), name: "small")
        #expect(small.pixels == [0, 17, 119, 255])
    }

    @Test(arguments: [
        ("P5 28 28 255\n", "ends inside the raster"),
        ("P5 100000 100000 255\n", "too large"),
        ("P5 40000 1 255\n", "too large"),
        ("P5 0 28 255\n", "0 x 28"),
        ("P5 2 2 0\n\0\0\0\0", "maximum value 0"),
        ("P5 2 2 70000\n", "maximum value 70000"),
        ("P5 1 1 255\n\0\0", "bytes after the raster"),
        ("P5 1 1 100\n\u{7F}", "above the maximum value"),
        ("P2 2 1 9 3 10", "above the maximum value"),
        ("P2 2 1 255 3", "ends inside the raster"),
        ("P2 1 1 255 3 4", "bytes after the raster"),
        ("P5 x 2 255\n", "width is not a number"),
        ("P5 1234567890 2 255\n", "too many digits"),
        ("P5 28", "ends before the height"),
        ("P5 1 1 255", "no whitespace after the header"),
    ])
    func hostilePGMsAreRefusedWithOneLine(text: String, expected: String) {
        do {
            _ = try PGMDecoder.decode(Array(text.utf8), name: "x.pgm")
            Issue.record("\(text.debugDescription) was accepted")
        } catch {
            #expect(error.description.contains(expected), "\(text.debugDescription): \(error)")
            #expect(!error.description.contains("\n"))
        }
    }

    // MARK: NPY and the fit to a model

    @Test func npyArraysFitAsOneExampleOrABatch() throws {
        let values = (0..<(2 * 784)).map { Float($0 % 256) }
        let lenet = ModelInputs(inputShape: [1, 28, 28])
        let fc = ModelInputs(inputShape: [784])
        let cases: [([Int], Int)] = [([784], 1), ([1, 28, 28], 1), ([28, 28], 1), ([2, 784], 2), ([2, 28, 28], 2), ([2, 1, 28, 28], 2)]
        for (shape, count) in cases {
            let count784 = shape.reduce(1, *)
            let file = Self.npy(descr: "<f4", shape: shape, data: Self.float32Bytes(Array(values.prefix(count784))))
            let examples = try lenet.examples(from: file, name: "a.npy")
            #expect(examples.count == count && examples.raw == Array(values.prefix(count784)), "\(shape)")
        }
        let bytes = try fc.examples(from: Self.npy(descr: "|u1", shape: [2, 784], data: values.map { UInt8($0) }), name: "b.npy")
        #expect(bytes.count == 2 && bytes.raw == values)
        let doubles = try fc.examples(from: Self.npy(descr: "<f8", shape: [784], data: Self.float64Bytes(values.prefix(784).map(Double.init))), name: "c.npy")
        #expect(doubles.raw == Array(values.prefix(784)))
    }

    @Test func hostileOrMismatchedNPYsAreRefusedWithOneLine() {
        let fc = ModelInputs(inputShape: [784])
        let good = Self.npy(descr: "<f4", shape: [784], data: Self.float32Bytes([Float](repeating: 1, count: 784)))
        var nan = good
        nan.replaceSubrange((good.count - 4)..., with: Self.float32Bytes([.nan]))
        let cases: [([UInt8], String)] = [
            (Array(good.dropLast(1)), "ends inside the array data"),
            (good + [0], "bytes after the array data"),
            (Array(good.prefix(9)), "ends inside the header"),
            (Array(good.prefix(30)), "ends inside the header"),
            (Self.npy(descr: "<f4", shape: [1 << 20, 1 << 20], data: []), "too large"),
            (Self.npy(descr: "<f4", shape: [100000000000000000], data: []), "bad dimension"),
            (Self.npy(descr: "<i8", shape: [784], data: []), "dtype '<i8' is not supported"),
            (Self.npy(descr: ">f4", shape: [784], data: []), "dtype '>f4' is not supported"),
            (Self.npy(descr: "<f4", shape: [785], data: Self.float32Bytes([Float](repeating: 0, count: 785))), "shape [785] does not fit the model's input [784]"),
            (Self.npy(descr: "<f4", shape: [0, 784], data: []), "holds no examples"),
            (nan, "element 783 is nan"),
            (Array("not an array".utf8), "is not a PNG, PGM (P2/P5) or NPY file"),
            ([], "is not a PNG, PGM (P2/P5) or NPY file"),
        ]
        for (bytes, expected) in cases {
            do {
                _ = try fc.examples(from: bytes, name: "x.npy")
                Issue.record("accepted, expected \(expected)")
            } catch {
                #expect(error.description.contains(expected), "\(error)")
                #expect(!error.description.contains("\n"))
            }
        }
    }

    @Test func imagesOfAnotherSizeAreRefusedOrResized() throws {
        let large = try Self.bytes(Self.fixture("digit-7-56x56.png"))
        let lenet = ModelInputs(inputShape: [1, 28, 28])
        do {
            _ = try lenet.examples(from: large, name: "big.png")
            Issue.record("a 56 x 56 image was accepted for [1, 28, 28]")
        } catch {
            #expect(error.description == "big.png: a 56 x 56 gray image does not fit the model's input [1, 28, 28] (28 x 28); give --resize to resize it")
        }
        // Each 2 x 2 block of the enlarged image is one pixel of the original: area resampling gives it back exactly.
        let reference = try lenet.examples(from: Self.bytes(Self.digitSeven), name: "digit-7.png")
        let resized = try ModelInputs(inputShape: [784], resize: true).examples(from: large, name: "big.png")
        #expect(resized.raw == reference.raw)
        #expect(resized.shape == [1, 56, 56] && resized.count == 1)
        // An RGB model takes the gray image on three channels.
        let rgb = try ModelInputs(inputShape: [3, 28, 28]).examples(from: Self.bytes(Self.digitSeven), name: "digit-7.png")
        #expect(rgb.raw == reference.raw + reference.raw + reference.raw)
        #expect(throws: InputError.self) { try ModelInputs(inputShape: [10]).examples(from: Self.bytes(Self.digitSeven), name: "x") }
    }

    @Test func areaWeightsCoverEachOutputPixelOnce() {
        for (source, target) in [(3, 7), (7, 3), (28, 28), (56, 28), (100, 28), (1, 5)] {
            let weights = AreaResize.weights(from: source, to: target)
            #expect(weights.count == target)
            for taps in weights {
                #expect(abs(taps.reduce(0) { $0 + $1.1 } - 1) < 1e-12)
                #expect(taps.allSatisfy { $0.0 >= 0 && $0.0 < source })
            }
        }
        // 3 -> 2: the middle input pixel is split between both outputs.
        let out = AreaResize.resize([0, 30, 60], channels: 1, height: 1, width: 3, targetHeight: 1, targetWidth: 2)
        #expect(out == [10, 50])
    }

    @Test func predictionsRankTheClasses() {
        let prediction = Prediction(predictedClass: 2, probabilities: [0.1, 0.3, 0.3, 0.2, 0.1])
        #expect(prediction.top(3).map { $0.class } == [2, 1, 3])
        #expect(prediction.top(9).map { $0.class } == [2, 1, 3, 0, 4])
    }
}
