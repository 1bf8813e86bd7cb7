import Foundation

/// What a path names when a command needs a regular file to read: a weights file that is
/// mapped or read whole (a base model), which a FIFO would block on or be consumed by, a
/// device never ends, and a directory cannot be read at all.
public enum InputFileKind {
    /// nil when `path` (after symbolic links) is a regular file or does not exist (the
    /// reader then reports the missing file itself); otherwise what it is, for a message:
    /// "a directory", "a FIFO", "a character device", "a block device", "a socket".
    /// Only `stat`s the path: never opens it, so a FIFO does not block.
    public static func nonRegular(_ path: String) -> String? {
        var status = stat()
        guard stat(path, &status) == 0 else { return nil }
        switch status.st_mode & S_IFMT {
        case S_IFREG: return nil
        case S_IFDIR: return "a directory"
        case S_IFIFO: return "a FIFO"
        case S_IFCHR: return "a character device"
        case S_IFBLK: return "a block device"
        case S_IFSOCK: return "a socket"
        default: return "not a regular file"
        }
    }
}
