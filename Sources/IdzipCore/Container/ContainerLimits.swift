/// Limits of the `.idz` container, on top of the model's `Limits`. A reader checks each
/// declared size against them before it allocates; Formats/idz-v1.md repeats them.
package enum ContainerLimits {
    /// Compressed payload bytes: 256 MiB.
    package static let maxCompressedPayload = 256 << 20
    /// Uncompressed payload bytes: 256 MiB.
    package static let maxUncompressedPayload = 256 << 20
    /// Deflate cannot expand by more than 1032:1; a declared uncompressed length above
    /// compressed * this ratio (+ slack for tiny streams) cannot be honest.
    package static let maxInflationRatio = 1032
    package static let inflationSlack = 1024
    /// UTF-8 bytes of a label, a tensor name or a metadata key: 4 KiB.
    package static let maxNameBytes = 4 << 10
    /// Bytes of a metadata string or byte value: 64 KiB.
    package static let maxMetadataValueBytes = 64 << 10
    package static let maxMetadataEntries = 4096
    package static let maxLabels = 65536
    /// Preprocessing channels.
    package static let maxPreprocessingChannels = 4096

    /// Preamble + largest compressed payload + trailer.
    package static var maxFileSize: Int { IdzLayout.preambleSize + maxCompressedPayload + IdzLayout.trailerSize }
}
