import CreditDomain
import CreditWire

/// Minimal reading of the protobuf fields the load generator needs, without decoding the
/// whole message (the decode cost would otherwise be charged to the server): field 1
/// (`request_id`, varint) and, for a `Response`, field 2 (`Status`) → its field 1 (`code`).
/// A `Request` echoed back by the floor has the same field 1, and no field 2 (= OK).
public enum ProtoScan {
    public struct Head: Equatable, Sendable {
        public var requestId: UInt64
        public var code: Int32
        public init(requestId: UInt64, code: Int32) {
            self.requestId = requestId
            self.code = code
        }
    }

    /// Nil when the bytes are not a well-formed protobuf message at the top level.
    public static func head(_ bytes: UnsafeRawBufferPointer) -> Head? {
        var i = 0
        var id: UInt64 = 0
        var code: Int32 = 0
        while i < bytes.count {
            guard let tag = varint(bytes, &i) else { return nil }
            let field = tag >> 3, wire = tag & 7
            switch wire {
            case 0:
                guard let v = varint(bytes, &i) else { return nil }
                if field == 1 { id = v }
            case 1: i += 8
            case 5: i += 4
            case 2:
                guard let len = varint(bytes, &i), len <= UInt64(bytes.count - i) else { return nil }
                if field == 2 {
                    let sub = UnsafeRawBufferPointer(rebasing: bytes[i..<(i + Int(len))])
                    var j = 0
                    while j < sub.count {
                        guard let t = varint(sub, &j) else { return nil }
                        if t & 7 == 0 {
                            guard let v = varint(sub, &j) else { return nil }
                            if t >> 3 == 1 { code = Int32(truncatingIfNeeded: v) }
                        } else if t & 7 == 2 {
                            guard let l = varint(sub, &j), l <= UInt64(sub.count - j) else { return nil }
                            j += Int(l)
                        } else { return nil }
                    }
                }
                i += Int(len)
            default: return nil
            }
            if i > bytes.count { return nil }
        }
        return Head(requestId: id, code: code)
    }

    static func varint(_ b: UnsafeRawBufferPointer, _ i: inout Int) -> UInt64? {
        var v: UInt64 = 0, shift: UInt64 = 0
        while i < b.count && shift < 64 {
            let byte = b[i]; i += 1
            v |= UInt64(byte & 0x7f) << shift
            if byte < 0x80 { return v }
            shift += 7
        }
        return nil
    }

    /// Name of a status code (gRPC-like names of `proto/credit.proto`).
    public static func statusName(_ code: Int32) -> String {
        StatusCode(rawValue: code).map { "\($0)" } ?? "CODE_\(code)"
    }
}

/// A framed `Request` whose `request_id` can be rewritten in place, so the generator sends
/// a fresh id per request without re-encoding (or allocating). The id is encoded as a
/// 5-byte varint (ids in [2^28, 2^35)), the first field of the message.
public struct RequestTemplate: Sendable {
    public static let idBase: UInt64 = 1 << 28
    public private(set) var frame: [UInt8]
    /// Applicants per request (for applicants/s).
    public let applicants: Int

    public struct NotPatchable: Error, CustomStringConvertible {
        public var description: String { "the encoded Request does not start with a 5-byte request_id varint" }
    }

    /// `request` must carry `requestId == idBase`.
    public init(_ request: Request, applicants: Int) throws {
        precondition(request.requestId == Self.idBase)
        self.frame = request.framed()
        self.applicants = applicants
        guard frame.count > 10, frame[4] == 0x08 else { throw NotPatchable() }
        var j = 1
        let v = frame.withUnsafeBytes { ProtoScan.varint(UnsafeRawBufferPointer(rebasing: $0[4...]), &j) }
        guard v == Self.idBase, j == 6 else { throw NotPatchable() }
    }

    public static func id(forSequence seq: Int) -> UInt64 { idBase + UInt64(seq) }

    /// Writes the id of sequence number `seq` into `frame` (a copy of `self.frame`).
    @inline(__always)
    public static func patch(_ frame: UnsafeMutableRawBufferPointer, sequence seq: Int) {
        var v = id(forSequence: seq)
        for k in 0..<5 {
            let byte = UInt8(v & 0x7f)
            frame[5 + k] = k < 4 ? byte | 0x80 : byte
            v >>= 7
        }
    }
}
