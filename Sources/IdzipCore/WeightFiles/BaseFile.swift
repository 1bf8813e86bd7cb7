import Foundation

/// Reads a pre-trained base (theta0 of a fine-tuned model, Formats/idz-v3.md section 6)
/// from a weights file, as hostile as every other weights file: safetensors through
/// `SafetensorsFile` (bounded header, tiling, F32 tensors of the architecture's names and
/// shapes), `.npy` through `NpyWeights` (one float32 vector, its `.npy.json` sidecar naming
/// the architecture), or a `.idz` expanded and verified against its weights digest. The
/// memory the weights need is checked first (`MemoryBudget`), and a NaN or infinity is
/// refused. The base must be a regular file (a FIFO, a device or a directory is refused
/// before it is opened).
public enum BaseFile {
    /// The architecture and weights of the base at `url`.
    /// - Parameters:
    ///   - architecture: the architecture to read the tensors for; nil takes the file's
    ///     (safetensors `idzip.architecture` metadata, the npy sidecar, the `.idz` file).
    ///     When both are known they must be the same.
    ///   - threads: threads for expanding a `.idz` base.
    /// - Throws: `BaseError` with one line naming the file and the problem.
    public static func read(
        contentsOf url: URL, architecture: Architecture? = nil, threads: Int = ParallelLoop.defaultThreads
    ) throws(BaseError) -> (architecture: Architecture, weights: BaseWeights) {
        let path = url.path
        func fail(_ message: String) -> BaseError { BaseError("base \(path): \(message)") }
        func checkMemory(_ architecture: Architecture) throws(BaseError) {
            do {
                try MemoryBudget.weights(of: architecture).check("reading the base \(path)")
            } catch {
                throw fail(error.description)
            }
        }
        func named(_ recorded: String?, _ source: String) throws(BaseError) -> Architecture {
            let fromFile: Architecture?
            do {
                fromFile = try recorded.map { text throws(ArchitectureError) in try Architecture(spec: text) }
            } catch {
                throw fail("its \(source) names an invalid architecture: \(error.description)")
            }
            if let architecture, let fromFile, fromFile != architecture {
                throw fail("it holds \(recorded ?? "another architecture"), not the --model given")
            }
            guard let chosen = architecture ?? fromFile else {
                throw fail("it does not name its architecture; give it with --model")
            }
            return chosen
        }
        // Checked before anything opens it: opening a FIFO blocks, a device never ends.
        if let kind = InputFileKind.nonRegular(path) {
            throw fail("it is \(kind), not a regular file; give the base's .safetensors, .npy (with its .npy.json sidecar) or .idz file")
        }
        let values: [Float]
        let chosen: Architecture
        switch url.pathExtension.lowercased() {
        case "safetensors":
            let file: SafetensorsFile
            do { file = try SafetensorsFile(contentsOf: url) } catch { throw fail(error.description) }
            chosen = try named(file.metadata[SafetensorsWriter.architectureKey], "idzip.architecture metadata")
            try checkMemory(chosen)
            do { values = try file.parameters(for: chosen) } catch { throw fail(error.description) }
        case "npy":
            let sidecarPath = WeightsDescription.sidecarPath(of: path)
            var recorded: WeightsDescription?
            if FileManager.default.fileExists(atPath: sidecarPath) {
                if let kind = InputFileKind.nonRegular(sidecarPath) {
                    throw fail("its sidecar \(sidecarPath) is \(kind), not a regular file")
                }
                do {
                    recorded = try WeightsDescription(sidecar: ModelInputs.read(path: sidecarPath))
                } catch {
                    throw fail("sidecar \(sidecarPath): \(error)")
                }
            }
            chosen = try named(recorded?.architecture, "sidecar")
            try checkMemory(chosen)
            do { values = try NpyWeights.read(url) } catch { throw fail(error.description) }
            let count = (try? chosen.parameterCount()) ?? 0
            guard values.count == count else {
                throw fail("\(values.count) weights, but the architecture has \(count) parameters")
            }
        case "idz":
            let model: IdzModel
            do { model = try IdzFile.read(contentsOf: url) } catch { throw fail(error.description) }
            guard model.base == nil else { throw fail("it is itself fine-tuned from a base; expand it to safetensors first") }
            if let architecture, architecture != model.architecture { throw fail("its architecture is not the --model given") }
            chosen = model.architecture
            try checkMemory(chosen)
            do { values = try ModelExpansion.weights(of: model, threads: threads) } catch { throw fail(error.description) }
        default:
            throw fail("unknown base format (use .safetensors, .npy with its .npy.json sidecar, or .idz)")
        }
        if let index = values.firstIndex(where: { !$0.isFinite }) {
            throw fail("weight \(index) is \(values[index]); a base must be finite")
        }
        return (chosen, BaseWeights(values: values))
    }
}
