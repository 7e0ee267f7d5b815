#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// A model's field names, or one field's categories, found by their UTF-8 bytes without
/// allocating: every face hands over the bytes it has (a C string from protobuf-c, a slice
/// of a JSON body), so no face builds a `String` per value on the hot path.
/// Linear search with a length check first: the tables are small (tens of entries).
public final class NameTable: Sendable {
    public let strings: [String]
    private let bytes: [UInt8]
    /// `strings.count + 1` offsets into `bytes`.
    private let offsets: [Int]

    public init(_ strings: [String]) {
        self.strings = strings
        var bytes: [UInt8] = []
        var offsets = [0]
        for s in strings {
            bytes.append(contentsOf: s.utf8)
            offsets.append(bytes.count)
        }
        self.bytes = bytes
        self.offsets = offsets
    }

    public var count: Int { strings.count }

    /// Position of the name with these UTF-8 bytes, nil when absent.
    @inline(__always)
    public func index(of name: UnsafeRawBufferPointer) -> Int? {
        let n = name.count
        return offsets.withUnsafeBufferPointer { off in
            bytes.withUnsafeBytes { all in
                for i in 0..<(off.count - 1) where off[i + 1] - off[i] == n {
                    if n == 0 || memcmp(all.baseAddress! + off[i], name.baseAddress!, n) == 0 { return i }
                }
                return nil
            }
        }
    }

    /// Position of a NUL-terminated name.
    @inline(__always)
    public func index(ofCString name: UnsafePointer<CChar>) -> Int? {
        index(of: UnsafeRawBufferPointer(start: name, count: strlen(name)))
    }

    /// Position of a Swift string (allocation-free for native strings).
    public func index(of name: String) -> Int? {
        var s = name
        return s.withUTF8 { index(of: UnsafeRawBufferPointer($0)) }
    }
}
