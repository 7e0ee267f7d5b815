/// A walk over a serialized `credit.Request` before libprotobuf-c unpacks it, for what
/// protobuf-c cannot guard against:
///
/// - **Work per frame.** protobuf-c allocates every sub-message, string, unknown field and
///   repeated array it meets, so a frame of empty sub-messages (2 bytes each) costs ~50× its
///   size in memory (protobuf-c issue #796). The scan counts those elements without
///   allocating and the daemon refuses a frame over its element budget before unpacking.
/// - **Strings that are not text.** proto3 strings must be UTF-8, and protobuf-c hands them
///   out as C strings, so an embedded NUL would silently cut a value ("Own\0junk" would score
///   as "Own"). The scan checks every string field and reports where a bad one is: a
///   category value becomes that applicant's row error; an id, a field name or a Reload
///   path makes the request INVALID_ARGUMENT.
///
/// It follows the schema of proto/credit.proto (which has no recursive messages) and skips
/// unknown fields as protobuf-c does (counting them). Wire errors are left to `unpack`.
public struct RequestScan {
    /// Sub-messages, strings, unknown fields and repeated arrays that unpacking allocates.
    public private(set) var elements = 0
    /// The first string that is not valid UTF-8 or holds a NUL, outside category values.
    public private(set) var badString: (location: String, problem: String)?
    /// Category values that are not text: where (the categorical column's index in the
    /// request and the row; in the row form, the field/value pair's index and row 0), the
    /// value escaped for display, and the problem.
    public private(set) var badValues: [(column: Int, row: Int, shown: String, problem: String)] = []
    /// Scanning stopped: the bytes are not a well-formed message (unpack will say so too).
    public private(set) var malformed = false

    private enum Message { case request, score, columns, numeric, categorical, row, field, reload, empty }

    /// Scans `bytes`; stops early once `elementLimit` is passed (the frame is refused anyway).
    public init(_ bytes: UnsafeRawBufferPointer, elementLimit: Int) {
        guard let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return }
        walk(.request, base, base + bytes.count, elementLimit: elementLimit)
    }

    /// What is wrong with a string outside category values (INVALID_ARGUMENT), if anything.
    public var problem: String? {
        if let b = badString { return "\(b.location) \(b.problem)" }
        return nil
    }

    private mutating func walk(_ message: Message, _ start: UnsafePointer<UInt8>, _ end: UnsafePointer<UInt8>, elementLimit: Int) {
        var p = start
        var categoricalIndex = 0, fieldValueIndex = 0
        var repeatedSeen: UInt32 = 0   // bit per field number < 32: its array counted once
        var stringRow = 0              // index of the next repeated string of this message
        while p < end {
            guard elements <= elementLimit, !malformed else { return }
            guard let tag = Self.varint(&p, end) else { malformed = true; return }
            let field = Int(tag >> 3), wire = Int(tag & 7)
            switch wire {
            case 0: guard Self.varint(&p, end) != nil else { malformed = true; return }
            case 1: guard end - p >= 8 else { malformed = true; return }; p += 8
            case 5: guard end - p >= 4 else { malformed = true; return }; p += 4
            case 2:
                guard let n = Self.varint(&p, end), n <= UInt64(end - p) else { malformed = true; return }
                let body = p, bodyEnd = p + Int(n)
                p = bodyEnd
                switch Self.kind(message, field) {
                case .string(let location, let repeated, let isCategoryValue):
                    elements += 1
                    if repeated && field < 32 && repeatedSeen & (1 << field) == 0 { repeatedSeen |= 1 << field; elements += 1 }
                    let row = repeated ? stringRow : 0
                    if repeated { stringRow += 1 }
                    if let problem = Self.textProblem(body, bodyEnd) {
                        if isCategoryValue {
                            let column = message == .categorical ? currentCategorical : currentFieldValue
                            if badValues.count < 1024 { badValues.append((column, row, Self.shown(body, bodyEnd), problem)) }
                        } else if badString == nil {
                            badString = (repeated ? "\(location)[\(row)]" : "\(location)", problem)
                        }
                    }
                case .message(let inner, let repeated):
                    elements += 1
                    if repeated && field < 32 && repeatedSeen & (1 << field) == 0 { repeatedSeen |= 1 << field; elements += 1 }
                    if inner == .categorical { currentCategorical = categoricalIndex; categoricalIndex += 1 }
                    if inner == .field { currentFieldValue = fieldValueIndex; fieldValueIndex += 1 }
                    walk(inner, body, bodyEnd, elementLimit: elementLimit)
                case .packed:
                    if field < 32 && repeatedSeen & (1 << field) == 0 { repeatedSeen |= 1 << field; elements += 1 }
                case .unknown:
                    elements += 1
                }
            default:
                malformed = true   // groups (3, 4) and wire types 6, 7: not in this schema
                return
            }
        }
    }

    /// The categorical column (or row-form field/value pair) being walked: its bad values'
    /// row errors name its field.
    private var currentCategorical = 0
    private var currentFieldValue = 0

    private enum Kind {
        // StaticString: no reference counting per string element walked.
        case string(location: StaticString, repeated: Bool, categoryValue: Bool)
        case message(Message, repeated: Bool)
        case packed
        case unknown
    }

    /// What field `field` of `message` is, when it arrives length-delimited.
    private static func kind(_ message: Message, _ field: Int) -> Kind {
        switch (message, field) {
        case (.request, 10): .message(.score, repeated: false)
        case (.request, 11), (.request, 12), (.request, 13): .message(.empty, repeated: false)
        case (.request, 14): .message(.reload, repeated: false)
        case (.reload, 1): .string(location: "reload path", repeated: false, categoryValue: false)
        case (.score, 1): .message(.columns, repeated: false)
        case (.score, 2): .message(.row, repeated: false)
        case (.columns, 1): .string(location: "ids", repeated: true, categoryValue: false)
        case (.columns, 2): .message(.numeric, repeated: true)
        case (.columns, 3): .message(.categorical, repeated: true)
        case (.numeric, 1), (.categorical, 1), (.field, 1): .string(location: "field name", repeated: false, categoryValue: false)
        case (.numeric, 2): .packed
        case (.categorical, 2): .string(location: "value", repeated: true, categoryValue: true)
        case (.row, 1): .string(location: "id", repeated: false, categoryValue: false)
        case (.row, 2): .message(.field, repeated: true)
        case (.field, 3): .string(location: "value", repeated: false, categoryValue: true)
        default: .unknown
        }
    }

    @inline(__always)
    private static func varint(_ p: inout UnsafePointer<UInt8>, _ end: UnsafePointer<UInt8>) -> UInt64? {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while p < end && shift < 64 {
            let b = p.pointee
            p += 1
            value |= UInt64(b & 0x7f) << shift
            if b & 0x80 == 0 { return value }
            shift += 7
        }
        return nil
    }

    /// nil when the bytes are UTF-8 text without NUL; else what is wrong.
    static func textProblem(_ start: UnsafePointer<UInt8>, _ end: UnsafePointer<UInt8>) -> String? {
        let bytes = UnsafeBufferPointer(start: start, count: end - start)
        // ASCII fast path: most values are short ASCII words.
        var allASCII = true
        for b in bytes {
            if b == 0 { return "contains a NUL byte" }
            if b >= 0x80 { allASCII = false }
        }
        if allASCII { return nil }
        var it = bytes.makeIterator()
        var decoder = UTF8()
        while true {
            switch decoder.decode(&it) {
            case .scalarValue: continue
            case .emptyInput: return nil
            case .error: return "is not valid UTF-8"
            }
        }
    }

    /// The bytes for a message: printable ASCII as is, anything else as \xHH (so an error
    /// answer is always valid UTF-8 and never a different value).
    static func shown(_ start: UnsafePointer<UInt8>, _ end: UnsafePointer<UInt8>) -> String {
        var out = ""
        for b in UnsafeBufferPointer(start: start, count: min(end - start, 64)) {
            if b >= 0x20 && b < 0x7f && b != 0x5c { out.unicodeScalars.append(Unicode.Scalar(b)) }
            else { out += "\\x" + String(b, radix: 16, uppercase: true).leftPadded(2) }
        }
        if end - start > 64 { out += "…" }
        return out
    }
}

extension String {
    fileprivate func leftPadded(_ n: Int) -> String { count >= n ? self : String(repeating: "0", count: n - count) + self }
}
