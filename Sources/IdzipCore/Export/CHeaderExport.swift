import Foundation

/// A model as one portable C99 header for microcontrollers and apps: the expanded weights
/// (theta = theta0 + P theta_d, bit for bit, as hexadecimal float literals) in one
/// `static const float` array per tensor, named from the PyTorch names (`layers.0.weight`
/// is `layers_0_weight`, its shape `IDZ_LAYERS_0_WEIGHT_SHAPE`), the input, output and
/// preprocessing constants, and `idz_predict(raw_input, logits)`: the recorded
/// preprocessing and the forward pass in plain C (no libc, no libm, no allocation), with
/// two scratch buffers sized at compile time.
///
/// The header follows the single-header library pattern: every file may include it for
/// the macros and the prototype; exactly one defines `IDZ_IMPLEMENTATION` first and gets
/// the arrays and the functions. Layouts are PyTorch's (dense [out, in], convolution
/// [out, in, k, k], activations C, H, W), as `Predictor` runs them.
public enum CHeaderExport {
    /// The header for `model` with its expanded `weights` (D floats in parameter order).
    /// - Parameters:
    ///   - source: the model's file name, for the provenance comment.
    ///   - includeGuard: the include guard's macro (a C identifier, e.g. `IDZ_MODEL_H`).
    /// - Throws: `CHeaderExportError.unsupported` for the toy problem (it has no network) or
    ///   weights that are not finite, `.invalidModel` when the weights do not fit the
    ///   architecture.
    public static func header(
        for model: IdzModel, weights: [Float], source: String, includeGuard: String
    ) throws(CHeaderExportError) -> String {
        try checkExportable(model)
        let network: Network
        do {
            network = try Network(model.architecture)
        } catch {
            throw .invalidModel(error.description)
        }
        guard weights.count == network.parameterCount else {
            throw .invalidModel("the weights have \(weights.count) values but the architecture has \(network.parameterCount) parameters")
        }
        if let index = weights.firstIndex(where: { !$0.isFinite }) {
            let name = network.tensors.first { $0.range.contains(index) }?.name ?? "theta"
            throw .unsupported("weight \(index) (in \(name)) is \(weights[index]); a C header holds finite numbers only")
        }
        var text = ""
        text.reserveCapacity(weights.count * 17 + 16_384)
        writeComment(model: model, network: network, source: source, into: &text)
        writeDeclarations(model: model, network: network, includeGuard: includeGuard, into: &text)
        text += "#ifdef IDZ_IMPLEMENTATION\n\n"
        writeArrays(model: model, network: network, weights: weights, into: &text)
        writeFunctions(model: model, network: network, into: &text)
        text += "#endif /* IDZ_IMPLEMENTATION */\n\n#endif /* \(includeGuard) */\n"
        return text
    }

    /// Expands `model` (checked against its SHA-256) and writes its header to `url`
    /// atomically: on any error no output file is left behind.
    /// - Parameter source: the model's file name, for the provenance comment.
    /// - Throws: `CHeaderExportError` (the toy problem is refused before any expansion).
    @discardableResult
    public static func write(
        _ model: IdzModel, to url: URL, source: String, threads: Int = ParallelLoop.defaultThreads
    ) throws(CHeaderExportError) -> CHeaderExportReport {
        try write(model, to: .file(url), source: source, threads: threads)
    }

    /// Writes the header to `target` (a file as `write(_:to:source:threads:)`; a stream or
    /// standard output receives the bytes once they are complete and verified; the include
    /// guard then comes from `source`).
    @discardableResult
    public static func write(
        _ model: IdzModel, to target: OutputTarget, source: String, threads: Int = ParallelLoop.defaultThreads
    ) throws(CHeaderExportError) -> CHeaderExportReport {
        try checkExportable(model)
        let weights: [Float]
        do {
            // The header's text and its UTF-8 bytes: about 17 bytes per weight each.
            var text = MemoryBudget()
            text.add("C source text (about 34 bytes per weight)", bytes: MemoryBudget.product([model.parameterCount, 34]))
            weights = try ModelExpansion.weights(of: model, threads: threads, alongside: text, task: "exporting a C header")
        } catch {
            throw .expansion(error)
        }
        let fileName = switch target {
        case .file(let url): url.lastPathComponent
        case .standardOutput: (source as NSString).deletingPathExtension + ".h"
        }
        // The digest of the weights as expanded: a compact file may keep only a prefix of it, or
        // none (Formats/idz-v2.md section 6); the header records the full one.
        var described = model
        described.weightsSHA256 = IdzChecksum.weightsSHA256(weights)
        let text = try header(for: described, weights: weights, source: source, includeGuard: includeGuard(forFileName: fileName))
        let bytes = Array(text.utf8)
        do {
            try AtomicFileWriter.write(bytes, to: target)
        } catch {
            throw .output(error.description)
        }
        return CHeaderExportReport(parameterCount: weights.count, bytesWritten: bytes.count, sha256: described.weightsSHA256)
    }

    /// The include guard for a header file name: `IDZ_` and the name in upper case with
    /// every other character than A-Z and 0-9 as `_` (`mnist-fc.h` gives `IDZ_MNIST_FC_H`).
    public static func includeGuard(forFileName name: String) -> String {
        "IDZ_" + String(name.uppercased().unicodeScalars.map { scalar -> Character in
            ("A"..."Z").contains(scalar) || ("0"..."9").contains(scalar) ? Character(scalar) : "_"
        })
    }

    /// The C identifier of a tensor: `layers.0.weight` is `layers_0_weight`.
    public static func identifier(forTensor name: String) -> String {
        String(name.unicodeScalars.map { scalar -> Character in
            ("0"..."9").contains(scalar) || ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar)
                ? Character(scalar) : "_"
        })
    }

    /// A C99 hexadecimal float literal that denotes exactly `value` (finite):
    /// `0x1.8p+1f` is 3, `-0x0p+0f` is -0, `0x0.000002p-126f` the smallest subnormal.
    public static func hexLiteral(_ value: Float) -> String {
        precondition(value.isFinite, "hexadecimal float literals are for finite values")
        let bits = value.bitPattern
        let sign = bits >> 31 == 1 ? "-" : ""
        let exponentBits = Int((bits >> 23) & 0xff)
        let fraction = bits & 0x7f_ffff
        if exponentBits == 0, fraction == 0 { return sign + "0x0p+0f" }
        // 23 fraction bits, shifted to 24, are six hexadecimal digits.
        var digits = String(fraction << 1, radix: 16)
        digits = String(repeating: "0", count: 6 - digits.count) + digits
        while digits.last == "0" { digits.removeLast() }
        let lead = exponentBits == 0 ? "0" : "1"
        let exponent = exponentBits == 0 ? -126 : exponentBits - 127
        return sign + "0x" + lead + (digits.isEmpty ? "" : "." + digits) + "p" + (exponent < 0 ? "-" : "+") + String(abs(exponent)) + "f"
    }

    /// What makes `architecture` a version 3 network, for the refusal's message.
    static func version3Feature(of architecture: Architecture) -> String {
        if let layer = architecture.layers.first(where: \.needsVersion3) { return "a \(layer.typeName) layer" }
        return architecture.sources.isEmpty ? "layer names" : "a layer graph"
    }

    private static func checkExportable(_ model: IdzModel) throws(CHeaderExportError) {
        if model.architecture.layers.contains(where: { if case .toyGroupSum = $0 { true } else { false } }) {
            throw .unsupported("the toy problem has no network to run; a C header exports networks (dense, conv2d, maxpool, relu, flatten)")
        }
        if model.architecture.needsVersion3 || !model.buffers.isEmpty {
            throw .unsupported("a C header exports sequential networks of dense, conv2d, maxpool, relu and flatten layers; this one has \(Self.version3Feature(of: model.architecture))")
        }
        // About 17 bytes of text per weight, built in memory: a header is for small models.
        let count = model.parameterCount
        guard count <= maxParameterCount else {
            throw .unsupported("\(count) parameters exceed the \(maxParameterCount) a C header holds (about 17 bytes of source per weight); export ONNX or expand to a weights file")
        }
    }

    /// The most weights a C header holds (a 1.7 GB header).
    public static let maxParameterCount = 100_000_000
}

/// What `CHeaderExport.write` produced.
public struct CHeaderExportReport: Sendable, Equatable {
    /// D, the weights in the header.
    public var parameterCount: Int
    /// The header's size in bytes.
    public var bytesWritten: Int
    /// SHA-256 of the D weights (32 bytes), verified against the model's before writing.
    public var sha256: [UInt8]
}

/// A model that cannot be exported as a C header.
public enum CHeaderExportError: Error, CustomStringConvertible, Equatable {
    /// The model has no network (the toy problem) or weights a header cannot hold.
    case unsupported(String)
    /// The weights do not fit the architecture.
    case invalidModel(String)
    /// The expansion failed (invalid model, checksum mismatch).
    case expansion(ExpansionError)
    /// The header could not be written; the message names the file and the reason.
    case output(String)

    /// One line naming the problem.
    public var description: String {
        switch self {
        case .unsupported(let message): "cannot export a C header: \(message)"
        case .invalidModel(let message): "cannot export a C header: \(message)"
        case .expansion(let error): error.description
        case .output(let message): message
        }
    }
}

// MARK: - The network as the header runs it

extension CHeaderExport {
    /// The architecture's shapes and tensors, and which scratch buffer holds each step's
    /// output (0: idz_scratch_a, 1: idz_scratch_b).
    struct Network {
        var architecture: Architecture
        var inputShape: [Int]
        var outputShapes: [[Int]]
        var tensors: [TensorSpec]
        var parameterCount: Int { tensors.reduce(0) { $0 + $1.count } }
        var inputCount: Int { inputShape.reduce(1, *) }
        var outputCount: Int { outputShapes.last!.reduce(1, *) }
        var scratchCount: Int { outputShapes.map { $0.reduce(1, *) }.reduce(inputCount, max) }

        init(_ architecture: Architecture) throws(ArchitectureError) {
            self.architecture = architecture
            inputShape = architecture.inputShape
            outputShapes = try architecture.outputShapes()
            tensors = try architecture.parameterTensors()
        }

        func inputShape(ofLayer index: Int) -> [Int] { index == 0 ? inputShape : outputShapes[index - 1] }
    }

    private static func shapeText(_ shape: [Int]) -> String {
        "{" + shape.map(String.init).joined(separator: ", ") + "}"
    }

    private static func dimensionsText(_ shape: [Int]) -> String {
        "[" + shape.map(String.init).joined(separator: ", ") + "]"
    }

    /// Text safe inside a C block comment: printable ASCII without backslashes, no comment
    /// delimiters, no trigraphs.
    static func commentSafe(_ text: String, limit: Int = 200) -> String {
        var result = String(text.unicodeScalars.map { scalar -> Character in
            scalar.value >= 0x20 && scalar.value < 0x7f && scalar != "\\" ? Character(scalar) : "_"
        })
        if result.count > limit { result = String(result.prefix(limit)) + "..." }
        while result.contains("*/") { result = result.replacingOccurrences(of: "*/", with: "* /") }
        while result.contains("/*") { result = result.replacingOccurrences(of: "/*", with: "/ *") }
        while result.contains("??") { result = result.replacingOccurrences(of: "??", with: "?_") }
        return result
    }

    /// A C string literal: printable ASCII as is, everything else (and `"`, `\`, `?`) escaped.
    static func stringLiteral(_ text: String) -> String {
        var result = "\""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): result += "\\\""
            case UInt8(ascii: "\\"): result += "\\\\"
            case UInt8(ascii: "?"): result += "\\?"
            case 0x20..<0x7f: result.append(Character(Unicode.Scalar(byte)))
            default:
                let octal = String(byte, radix: 8)
                result += "\\" + String(repeating: "0", count: 3 - octal.count) + octal
            }
        }
        return result + "\""
    }

    private static func metadataText(_ value: MetadataValue) -> String {
        switch value {
        case .int(let number): String(number)
        case .double(let number): String(number)
        case .string(let text): text
        case .bool(let flag): String(flag)
        case .bytes(let bytes): "\(bytes.count) bytes"
        }
    }

    // MARK: Sections

    private static func writeComment(model: IdzModel, network: Network, source: String, into text: inout String) {
        let architecture = model.architecture
        let preprocessing = model.preprocessing
        let name = architecture.spec ?? "custom network"
        var lines = [
            "Generated by idzip \(IdzipVersion.current) (idzip export --format c) from \(source).",
            "",
            "Architecture: \(name): \(architecture.layerSummary);",
            "input \(dimensionsText(network.inputShape)) (C, H, W order for images), \(network.outputCount) outputs.",
            "Parameters: D = \(network.parameterCount), trained as theta = theta0 + P theta_d in a",
            "\(model.projection.kind.name) subspace of d = \(model.projection.dimension) (theta0 seed \(model.theta0Seed), projection seed \(model.projection.seed)).",
            "The arrays hold the expanded theta bit for bit (hexadecimal float literals); its SHA-256",
            "(D float32 values, little-endian, parameter order) is",
            "\(hexString(model.weightsSHA256)).",
            "",
            "Preprocessing, applied by idz_predict to raw inputs (pixels 0 ... 255 or features as stored):",
            "x = (raw * IDZ_INPUT_SCALE - mean[c]) / std[c] in float, c the channel",
            "(scale \(preprocessing.inputScale), mean \(preprocessing.mean), std \(preprocessing.standardDeviation)).",
        ]
        if !model.metadata.isEmpty {
            lines.append("")
            lines.append("Metadata:")
            for entry in model.metadata {
                lines.append("  \(entry.key) = \(metadataText(entry.value))")
            }
        }
        lines += [
            "",
            "Use: in exactly one C file,",
            "    #define IDZ_IMPLEMENTATION",
            "    #include \"this header\"",
            "and call  float logits[IDZ_OUTPUT_SIZE]; int label = idz_predict(raw, logits);",
            "Other files include it without the define for the macros and the prototype.",
            "Needs C99 (hexadecimal float literals); calls no library function; not reentrant",
            "(two static scratch buffers of IDZ_SCRATCH_SIZE floats).",
        ]
        text += "/*\n" + lines.map { $0.isEmpty ? " *" : " * " + commentSafe($0) }.joined(separator: "\n") + "\n */\n"
    }

    private static func writeDeclarations(model: IdzModel, network: Network, includeGuard: String, into text: inout String) {
        let preprocessing = model.preprocessing
        text += "#ifndef \(includeGuard)\n#define \(includeGuard)\n\n"
        text += "#define IDZ_PARAMETER_COUNT \(network.parameterCount)L\n"
        text += "#define IDZ_WEIGHTS_SHA256 \"\(hexString(model.weightsSHA256))\"\n"
        text += "#define IDZ_INPUT_SIZE \(network.inputCount)L\n"
        text += "#define IDZ_INPUT_RANK \(network.inputShape.count)\n"
        text += "#define IDZ_INPUT_SHAPE \(shapeText(network.inputShape))\n"
        text += "#define IDZ_OUTPUT_SIZE \(network.outputCount)\n"
        if model.labels.count == network.outputCount {
            text += "/* Class names: static const char *const labels[IDZ_OUTPUT_SIZE] = IDZ_LABELS; */\n"
            text += "#define IDZ_LABELS {" + model.labels.map(stringLiteral).joined(separator: ", ") + "}\n"
        }
        text += "\n/* x = (raw * IDZ_INPUT_SCALE - mean[c]) / std[c]; one mean and std for all channels when IDZ_PREPROCESSING_CHANNELS is 1. */\n"
        text += "#define IDZ_INPUT_SCALE \(hexLiteral(preprocessing.inputScale))\n"
        text += "#define IDZ_PREPROCESSING_CHANNELS \(preprocessing.mean.count)\n"
        text += "#define IDZ_INPUT_MEAN {" + preprocessing.mean.map(hexLiteral).joined(separator: ", ") + "}\n"
        text += "#define IDZ_INPUT_STD {" + preprocessing.standardDeviation.map(hexLiteral).joined(separator: ", ") + "}\n\n"
        text += "/* Tensors (PyTorch names and layouts: dense [out, in], conv2d [out, in, k, k]). */\n"
        for tensor in network.tensors {
            let macro = "IDZ_" + identifier(forTensor: tensor.name).uppercased()
            text += "#define \(macro)_SHAPE \(shapeText(tensor.shape))\n"
            text += "#define \(macro)_SIZE \(tensor.count)L\n"
        }
        text += "\n/* Floats in each of the two scratch buffers: the largest activation. */\n"
        text += "#define IDZ_SCRATCH_SIZE \(network.scratchCount)L\n\n"
        text += """
            #ifdef __cplusplus
            extern "C" {
            #endif

            /* Runs the network on one raw example (IDZ_INPUT_SIZE values in C, H, W order), writes
             * IDZ_OUTPUT_SIZE logits and returns the predicted class: the first largest logit. */
            int idz_predict(const float *raw_input, float *logits);

            #ifdef __cplusplus
            }
            #endif


            """
    }

    private static func writeArrays(model: IdzModel, network: Network, weights: [Float], into text: inout String) {
        text += "static const float idz_input_mean[IDZ_PREPROCESSING_CHANNELS] = IDZ_INPUT_MEAN;\n"
        text += "static const float idz_input_std[IDZ_PREPROCESSING_CHANNELS] = IDZ_INPUT_STD;\n\n"
        let perLine = 8
        for tensor in network.tensors {
            let name = identifier(forTensor: tensor.name)
            text += "/* \(tensor.name): \(dimensionsText(tensor.shape)) */\n"
            text += "static const float \(name)[IDZ_\(name.uppercased())_SIZE] = {\n"
            var index = tensor.offset
            while index < tensor.range.upperBound {
                let end = min(index + perLine, tensor.range.upperBound)
                text += "    " + weights[index..<end].map(hexLiteral).joined(separator: ", ")
                text += end == tensor.range.upperBound ? "\n" : ",\n"
                index = end
            }
            text += "};\n\n"
        }
        text += "static float idz_scratch_a[IDZ_SCRATCH_SIZE];\nstatic float idz_scratch_b[IDZ_SCRATCH_SIZE];\n\n"
    }

    private static let denseFunction = """
        /* out[j] = sum_i weight[j][i] in[i] + bias[j]; weight is [outputs, inputs]. */
        static void idz_dense(const float *in, long inputs, const float *weight, const float *bias,
                              long outputs, float *out)
        {
            long i, j;
            for (j = 0; j < outputs; ++j) {
                const float *row = weight + j * inputs;
                float sum = 0.0f;
                for (i = 0; i < inputs; ++i) sum += row[i] * in[i];
                out[j] = sum + bias[j];
            }
        }


        """

    private static let convolutionFunction = """
        /* Stride-1 convolution with `pad` zeros on each side: in [channels, height, width],
         * weight [filters, channels, kernel, kernel], out [filters, out_height, out_width]. */
        static void idz_conv2d(const float *in, long channels, long height, long width,
                               const float *weight, const float *bias, long filters, long kernel, long pad,
                               float *out, long out_height, long out_width)
        {
            long f, c, ki, kj, y, x, plane = out_height * out_width;
            for (f = 0; f < filters; ++f) {
                float *target = out + f * plane;
                for (y = 0; y < plane; ++y) target[y] = 0.0f;
                for (c = 0; c < channels; ++c) {
                    const float *source = in + c * height * width;
                    for (ki = 0; ki < kernel; ++ki) {
                        long y0 = pad - ki > 0 ? pad - ki : 0;
                        long y1 = height + pad - ki < out_height ? height + pad - ki : out_height;
                        for (kj = 0; kj < kernel; ++kj) {
                            const float w = weight[((f * channels + c) * kernel + ki) * kernel + kj];
                            long x0 = pad - kj > 0 ? pad - kj : 0;
                            long x1 = width + pad - kj < out_width ? width + pad - kj : out_width;
                            for (y = y0; y < y1; ++y) {
                                const float *line = source + (y + ki - pad) * width;
                                float *row = target + y * out_width;
                                for (x = x0; x < x1; ++x) row[x] += w * line[x + kj - pad];
                            }
                        }
                    }
                }
                for (y = 0; y < plane; ++y) target[y] += bias[f];
            }
        }


        """

    private static let maxPoolFunction = """
        /* Non-overlapping max pooling (stride = size); a partial window at the edge is dropped. */
        static void idz_maxpool(const float *in, long channels, long height, long width, long size,
                                float *out, long out_height, long out_width)
        {
            long c, y, x, dy, dx;
            for (c = 0; c < channels; ++c) {
                for (y = 0; y < out_height; ++y) {
                    for (x = 0; x < out_width; ++x) {
                        const float *corner = in + (c * height + y * size) * width + x * size;
                        float best = corner[0];
                        for (dy = 0; dy < size; ++dy) {
                            for (dx = 0; dx < size; ++dx) {
                                if (corner[dy * width + dx] > best) best = corner[dy * width + dx];
                            }
                        }
                        out[(c * out_height + y) * out_width + x] = best;
                    }
                }
            }
        }


        """

    private static let reluFunction = """
        static void idz_relu(float *values, long count)
        {
            long i;
            for (i = 0; i < count; ++i) {
                if (values[i] < 0.0f) values[i] = 0.0f;
            }
        }


        """

    private static func writeFunctions(model: IdzModel, network: Network, into text: inout String) {
        let layers = network.architecture.layers
        func uses(_ kind: String) -> Bool { layers.contains { $0.typeName == kind } }
        if uses("dense") { text += denseFunction }
        if uses("conv2d") { text += convolutionFunction }
        if uses("maxpool") { text += maxPoolFunction }
        if uses("relu") { text += reluFunction }

        let buffers = ["idz_scratch_a", "idz_scratch_b"]
        var current = 0
        var body = "    /* preprocessing: x = (raw * IDZ_INPUT_SCALE - mean[c]) / std[c] */\n"
        let inputShape = network.inputShape
        if model.preprocessing.mean.count == 1 {
            body += """
                    for (i = 0; i < IDZ_INPUT_SIZE; ++i) {
                        idz_scratch_a[i] = (raw_input[i] * IDZ_INPUT_SCALE - idz_input_mean[0]) / idz_input_std[0];
                    }

                """
        } else {
            let plane = inputShape.dropFirst().reduce(1, *)
            body += """
                    for (i = 0; i < IDZ_INPUT_SIZE; ++i) {
                        idz_scratch_a[i] = (raw_input[i] * IDZ_INPUT_SCALE - idz_input_mean[i / \(plane)L]) / idz_input_std[i / \(plane)L];
                    }

                """
        }
        for (index, layer) in layers.enumerated() {
            let input = network.inputShape(ofLayer: index)
            let output = network.outputShapes[index]
            let source = buffers[current], target = buffers[1 - current]
            body += "    /* layer \(index): \(layer.typeName), \(dimensionsText(input)) -> \(dimensionsText(output)) */\n"
            switch layer {
            case .dense(let units):
                let name = "layers_\(index)"
                body += "    idz_dense(\(source), \(input[0])L, \(name)_weight, \(name)_bias, \(units)L, \(target));\n"
                current = 1 - current
            case .conv2d(let filters, let kernel, let padding):
                let name = "layers_\(index)"
                let pad = padding == .same ? (kernel - 1) / 2 : 0
                body += "    idz_conv2d(\(source), \(input[0])L, \(input[1])L, \(input[2])L, \(name)_weight, \(name)_bias,\n"
                body += "               \(filters)L, \(kernel)L, \(pad)L, \(target), \(output[1])L, \(output[2])L);\n"
                current = 1 - current
            case .maxPool(let size):
                body += "    idz_maxpool(\(source), \(input[0])L, \(input[1])L, \(input[2])L, \(size)L, \(target), \(output[1])L, \(output[2])L);\n"
                current = 1 - current
            case .relu:
                body += "    idz_relu(\(source), \(input.reduce(1, *))L);\n"
            case .flatten:
                body += "    /* nothing to do: C, H, W order is already flat */\n"
            case .toyGroupSum, .convolution, .batchNorm, .averagePool, .globalAveragePool, .add, .dropout, .activation:
                break // refused by checkExportable
            }
        }
        body += """
                for (i = 0; i < IDZ_OUTPUT_SIZE; ++i) logits[i] = \(buffers[current])[i];
                best = 0;
                for (i = 1; i < IDZ_OUTPUT_SIZE; ++i) {
                    if (logits[i] > logits[best]) best = (int)i;
                }
                return best;

            """
        text += "int idz_predict(const float *raw_input, float *logits)\n{\n    long i;\n    int best;\n"
        text += body
        text += "}\n\n"
    }
}
