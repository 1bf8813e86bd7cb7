import Foundation
import IdzipCore

/// A training checkpoint on disk: the state at an epoch boundary plus a fingerprint of the
/// command that made it, so that `--resume` never continues a different run. Written
/// atomically, so an interrupted run always leaves the last complete epoch.
public enum CheckpointFile {
    static let magic = Array("IDZCKPT1".utf8)

    package static func write(_ checkpoint: TrainingCheckpoint, fingerprint: String, to url: URL) throws(FileWriteError) {
        var writer = ByteWriter()
        writer.raw(magic)
        writer.string(fingerprint)
        writer.raw(checkpoint.serialized())
        try AtomicFileWriter.write(writer.bytes, to: url)
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
        guard bytes.starts(with: magic) else { throw .checkpoint("\(url.path) is not an idzip checkpoint") }
        var reader = ByteReader(bytes[magic.count...], context: "checkpoint")
        let stored: String
        do throws(IdzError) {
            stored = try reader.string("fingerprint", limit: 1 << 16)
        } catch {
            throw .checkpoint("\(url.path) is truncated or damaged (\(error.message))")
        }
        guard stored == fingerprint else {
            throw .checkpoint("\(url.path) was written by a different training command (\(differences(stored, fingerprint))); "
                + "run without --resume to start afresh")
        }
        return try TrainingCheckpoint(serialized: Array(bytes[reader.position...]))
    }

    /// The settings that differ between two fingerprints ("a; b; c"), each with its old and
    /// new value: "was 'seed 1', now 'seed 2'".
    static func differences(_ old: String, _ new: String) -> String {
        let before = old.components(separatedBy: "; "), after = new.components(separatedBy: "; ")
        guard before.count == after.count else { return "was '\(old)', now '\(new)'" }
        return zip(before, after).filter { $0 != $1 }.map { "was '\($0)', now '\($1)'" }.joined(separator: "; ")
    }
}
