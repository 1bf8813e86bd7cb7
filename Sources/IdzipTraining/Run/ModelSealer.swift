import Foundation
import IdzipCore

/// Writes every model idzip makes (trained on data, trained on the toy problem, or
/// created untrained): the parameters in the form the `.idz` stores them, the SHA-256 of
/// the weights they expand to, metadata, and an atomic write.
///
/// A model is sealed from what the file will reproduce: theta_d is encoded first
/// (float16 / int8 lose precision) and expanded from the encoded values, so the digest and
/// any figure measured on `weights(of:)` describe exactly what `idzip expand` and
/// `idzip eval` will later see (Formats/idz-v1.md, "Weights digest").
public struct ModelSealer: Sendable {
    public var architecture: Architecture
    public var theta0Seed: UInt64
    public var preprocessing: Preprocessing
    /// Class names, or empty.
    public var labels: [String]
    /// Threads for expansion (results do not depend on it).
    public var threads: Int

    public init(
        architecture: Architecture, theta0Seed: UInt64, preprocessing: Preprocessing, labels: [String] = [],
        threads: Int = ParallelLoop.defaultThreads
    ) {
        self.architecture = architecture
        self.theta0Seed = theta0Seed
        self.preprocessing = preprocessing
        self.labels = labels
        self.threads = threads
    }

    /// The input preprocessing of models trained on pixel data: x * (1/255).
    public static let pixelPreprocessing = Preprocessing(inputScale: 1.0 / 255, mean: [0], standardDeviation: [1])

    /// The stored coordinates of trained parameters: theta_d under `projection`, or, for
    /// direct training (`projection` nil), theta - theta0 under the identity projection
    /// (theta = theta0 + I (theta - theta0); d = D).
    /// - Parameters:
    ///   - trained: theta_d (d numbers) or theta (D numbers, direct).
    ///   - theta0: the initial weights (D numbers).
    public static func coordinates(
        trained: [Float], theta0: [Float], projection: ProjectionSpec?
    ) -> (projection: ProjectionSpec, thetaD: [Float]) {
        if let projection { return (projection, trained) }
        return (ProjectionSpec(kind: .identity, seed: 0, dimension: theta0.count), zip(trained, theta0).map { $0 - $1 })
    }

    /// The batch-norm running statistics of a fresh model (means 0, variances 1; empty
    /// without batch normalisation): what a draft holds until training sets them.
    var initialBuffers: [Float] { (try? architecture.initialBuffers()) ?? [] }

    /// An unsealed model: the digest is zero and there is no metadata yet. `.codebook`
    /// quantises after training to `codebookLevels` levels (`StoredTheta.quantize`).
    /// - Throws: `TrainingError.network` when `encoding` cannot store a value of `thetaD`
    ///   (not finite, or beyond float16's range), naming the value.
    public func draft(
        projection: ProjectionSpec, thetaD: [Float], encoding: ThetaEncoding, codebookLevels: Int = StoredTheta.defaultCodebookLevels
    ) throws(TrainingError) -> IdzModel {
        do {
            try StoredTheta.checkRepresentable(thetaD, as: encoding)
        } catch {
            throw .network(error.description)
        }
        let theta = encoding == .codebook ? StoredTheta.quantize(thetaD, levels: codebookLevels) : StoredTheta.encode(thetaD, as: encoding)
        return IdzModel(
            architecture: architecture, theta0Seed: theta0Seed, projection: projection,
            theta: theta, preprocessing: preprocessing, labels: labels,
            metadata: [], weightsSHA256: [UInt8](repeating: 0, count: 32),
            buffers: initialBuffers)
    }

    /// An unsealed model from theta_d already in its stored form (e.g. a codebook learned
    /// during training: `.codebook(levels:symbols:)`); the digest is zero and there is no
    /// metadata yet. Expand it with `weights(of:)` and seal it with `write`.
    /// - Parameters:
    ///   - projection: P; `projection.dimension` must equal `theta.count` (d).
    ///   - theta: theta_d as stored (any `StoredTheta`).
    /// - Throws: `TrainingError.network` naming the broken rule when `theta` cannot be
    ///   stored: d differs from the projection's, a non-finite value, level or int8 scale,
    ///   a codebook outside 1...`StoredTheta.maxCodebookLevels` levels or a symbol >= its
    ///   level count.
    public func draft(projection: ProjectionSpec, theta: StoredTheta) throws(TrainingError) -> IdzModel {
        do {
            try theta.check(dimension: projection.dimension)
        } catch {
            throw .network(error.description)
        }
        return IdzModel(
            architecture: architecture, theta0Seed: theta0Seed, projection: projection,
            theta: theta, preprocessing: preprocessing, labels: labels,
            metadata: [], weightsSHA256: [UInt8](repeating: 0, count: 32),
            buffers: initialBuffers)
    }

    /// The exact size in bytes of the file `write(draft, weights:metadata:to:profile:)`
    /// would produce, without writing anything. The digest's bytes are part of the file
    /// (and compressed with it), so a profile that keeps any of the weights digest needs
    /// it: from `weights` (D floats, `weights(of:)`), else from a streamed expansion. A
    /// compact profile without the digest (`.compact`) needs neither.
    /// - Throws: `TrainingError.network` when the model breaks a rule of the format or
    ///   cannot be expanded.
    public func fileBytes(
        of draft: IdzModel, weights: [Float]? = nil, metadata: [MetadataEntry] = [], profile: ContainerProfile = .standard
    ) throws(TrainingError) -> Int {
        var model = draft
        model.metadata = metadata
        if profile.weightsDigestBytes > 0 {
            if let weights {
                model.weightsSHA256 = IdzChecksum.weightsSHA256(weights)
            } else {
                do {
                    model.weightsSHA256 = try ModelExpansion.digest(of: draft, threads: threads)
                } catch {
                    throw .network(error.description)
                }
            }
        }
        do {
            return try IdzFile.encodedSize(of: model, profile: profile)
        } catch {
            throw .network(error.description)
        }
    }

    /// The full weights (D floats) the draft expands to: what the file will reproduce.
    /// - Throws: `TrainingError.network` when the model cannot be expanded.
    public func weights(of draft: IdzModel) throws(TrainingError) -> [Float] {
        do {
            return try ModelExpansion.expander(for: draft, threads: threads).expandAll()
        } catch {
            throw .network(error.description)
        }
    }

    /// Seals `draft` with the digest of `weights` (or, when nil, of a streamed expansion,
    /// for models too large to hold) and `metadata`, and writes it atomically to `url` in
    /// `profile` (`.standard`: version 1, or version 2 for a codebook; `.compact`:
    /// version 2's compact layout, which stores `metadata` too: pass [] to drop provenance).
    /// - Returns: the sealed model (its full 32-byte digest) and the file's size in bytes.
    /// - Throws: `TrainingError.network` when the model cannot be expanded,
    ///   `TrainingError.output` when the file cannot be written.
    public func write(
        _ draft: IdzModel, weights: [Float]?, metadata: [MetadataEntry], to url: URL, profile: ContainerProfile = .standard
    ) throws(TrainingError) -> SealedModel {
        var model = draft
        if let weights {
            model.weightsSHA256 = IdzChecksum.weightsSHA256(weights)
        } else {
            do {
                model.weightsSHA256 = try ModelExpansion.digest(of: draft, threads: threads)
            } catch {
                throw .network(error.description)
            }
        }
        model.metadata = metadata
        let fileBytes: Int
        do {
            fileBytes = try IdzFile.write(model, to: url, profile: profile)
        } catch {
            throw .output(error.description)
        }
        return SealedModel(model: model, fileBytes: fileBytes)
    }

    /// Writes the full weights of direct training (D floats) as safetensors (PyTorch
    /// layout, the architecture and `metadata` in the header), atomically; returns the
    /// file's size in bytes. `buffers` and `batchesTracked`: the batch-norm running
    /// statistics (nil: the initial ones), written beside the weights under PyTorch's names.
    /// - Throws: `TrainingError.output` when the file cannot be written.
    public func writeSafetensors(
        _ theta: [Float], metadata: [(key: String, value: String)], buffers: [Float]? = nil, batchesTracked: UInt64 = 0, to url: URL
    ) throws(TrainingError) -> Int {
        do {
            try SafetensorsWriter.write(
                theta, architecture: architecture, metadata: metadata, buffers: buffers ?? initialBuffers, batchesTracked: batchesTracked, to: url)
        } catch {
            throw .output(error.description)
        }
        return Self.fileSize(url)
    }

    static func fileSize(_ url: URL) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: url.path))?[.size] as? NSNumber)?.intValue ?? 0
    }
}

/// A model as written.
public struct SealedModel: Sendable {
    public var model: IdzModel
    /// Size of the written file in bytes.
    public var fileBytes: Int
}
