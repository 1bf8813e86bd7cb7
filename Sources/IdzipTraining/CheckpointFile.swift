import Foundation
import IdzipCore

/// A training checkpoint on disk: the state at an epoch boundary plus a fingerprint of the
/// command that made it, so that `--resume` never continues a different run. Written
/// atomically, so an interrupted run always leaves the last complete epoch.
public enum CheckpointFile {
    static let magic = Array("IDZCKPT1".utf8)

    package static func write(_ checkpoint: TrainingCheckpoint, fingerprint: String, to url: URL) throws(FileWriteError) {
        let text = Array(fingerprint.utf8)
        var bytes = magic
        withUnsafeBytes(of: UInt32(text.count).littleEndian) { bytes.append(contentsOf: $0) }
        bytes += text
        bytes += checkpoint.serialized()
        try AtomicFileWriter.write(bytes, to: url)
    }

    /// The checkpoint at `url`, which must carry `fingerprint`.
    public static func read(from url: URL, fingerprint: String) throws(TrainingError) -> TrainingCheckpoint {
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw .checkpoint("no checkpoint at \(url.path); run without --resume to start afresh")
        }
        let bytes = [UInt8](data)
        guard bytes.count >= 12, Array(bytes[0..<8]) == magic else {
            throw .checkpoint("\(url.path) is not an idzip checkpoint")
        }
        let length = Int(bytes[8]) | Int(bytes[9]) << 8 | Int(bytes[10]) << 16 | Int(bytes[11]) << 24
        guard length <= bytes.count - 12 else { throw .checkpoint("\(url.path) is truncated") }
        let stored = String(decoding: bytes[12..<(12 + length)], as: UTF8.self)
        guard stored == fingerprint else {
            throw .checkpoint("\(url.path) was written by a different training command (\(stored)); run without --resume to start afresh")
        }
        return try TrainingCheckpoint(serialized: Array(bytes[(12 + length)...]))
    }
}
