/// How much redundancy a `.idz` file carries around the model (Formats/idz-v2.md).
///
/// - `.standard`: the version 1 layout (Formats/idz-v1.md): 32-byte preamble, zlib payload
///   of tagged sections with the tensor table, the 32-byte SHA-256 of the expanded weights
///   and a 32-byte SHA-256 trailer over the file. A model whose theta_d is a codebook is
///   written in version 2 with the same layout plus one layout byte (a version 1 reader
///   refuses it: "unsupported .idz version 2 (this idzip reads version 1)").
/// - `.compact`: version 2's compact layout, for tiny models: 14-byte header, varint fields
///   in a fixed order, no tensor table (derived from the architecture), default
///   preprocessing and decimal labels stored as one byte each, the body stored or raw
///   deflated (whichever is smaller) and a CRC-32 trailer over the whole file. It keeps
///   what the model needs and any metadata the model has (pass none to drop provenance).
///   Integrity: the CRC-32 detects every burst error of up to 32 bits and other accidental
///   damage with probability 1 - 2^-32; it is no defence against deliberate change.
///   `weightsDigestBytes` (0, 4, 8, 16 or 32) keeps that many leading bytes of the SHA-256
///   of the expanded weights: 0 (the default) drops the check that a machine regenerated
///   the same weights; 8 detects a wrong expansion with probability 1 - 2^-64.
///
/// `IdzFile.encode(_:profile:)` and `IdzFile.encodedSize(of:profile:)` take it; reading
/// needs no profile (the file says which layout it uses).
public struct ContainerProfile: Sendable, Hashable, CustomStringConvertible {
    /// The byte layout.
    public enum Layout: UInt8, Sendable, Hashable {
        /// Version 1's preamble, zlib payload of sections and SHA-256 trailer.
        case standard = 0
        /// Version 2's compact layout.
        case compact = 1
    }

    /// The byte layout.
    public var layout: Layout
    /// Leading bytes of the expanded weights' SHA-256 the file keeps: 32 for `.standard`;
    /// 0, 4, 8, 16 or 32 for compact.
    public var weightsDigestBytes: Int

    /// Today's version 1 file (version 2 only for codebook theta_d).
    public static let standard = ContainerProfile(layout: .standard, weightsDigestBytes: 32)
    /// The compact layout without the weights digest.
    public static let compact = ContainerProfile(layout: .compact, weightsDigestBytes: 0)

    /// The compact layout keeping `weightsDigestBytes` (0, 4, 8, 16 or 32) of the digest.
    /// Returns nil for another length.
    public static func compact(weightsDigestBytes: Int) -> ContainerProfile? {
        guard allowedDigestBytes.contains(weightsDigestBytes) else { return nil }
        return ContainerProfile(layout: .compact, weightsDigestBytes: weightsDigestBytes)
    }

    /// The digest lengths the compact layout allows.
    public static let allowedDigestBytes = [0, 4, 8, 16, 32]

    /// Every profile, smallest first: compact with 0, 4, 8, 16, 32 digest bytes, then standard.
    public static let all: [ContainerProfile] =
        allowedDigestBytes.map { ContainerProfile(layout: .compact, weightsDigestBytes: $0) } + [.standard]

    private init(layout: Layout, weightsDigestBytes: Int) {
        self.layout = layout
        self.weightsDigestBytes = weightsDigestBytes
    }

    /// "standard", "compact" (no digest) or "compact:N" (N digest bytes).
    public var name: String {
        switch layout {
        case .standard: "standard"
        case .compact: weightsDigestBytes == 0 ? "compact" : "compact:\(weightsDigestBytes)"
        }
    }

    public var description: String { name }

    /// The profile called `name` ("standard", "compact", "compact:0|4|8|16|32"), if any.
    public init?(name: String) {
        guard let profile = Self.all.first(where: { $0.name == name }) ?? (name == "compact:0" ? .compact : nil) else {
            return nil
        }
        self = profile
    }
}

/// What the first bytes of a `.idz` file say about its container: `IdzFile.container(of:)`.
public struct ContainerInfo: Sendable, Equatable {
    /// The format version: 1 or 2.
    public var version: UInt32
    /// The layout.
    public var layout: ContainerProfile.Layout
    /// compressed payload ("zlib"), raw deflate ("deflate") or stored ("stored").
    public var bodyCoding: String

    /// The profile that wrote `model`, decoded from this file (a compact file's digest
    /// length is `model.weightsSHA256.count`).
    public func profile(of model: IdzModel) -> ContainerProfile {
        layout == .standard ? .standard : (ContainerProfile.compact(weightsDigestBytes: model.weightsSHA256.count) ?? .compact)
    }
}
