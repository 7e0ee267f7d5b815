import Foundation

/// A byte reader over a file that holds one chunk (64 KiB) at a time and counts lines.
///
/// The dump tokenizer pulls bytes from it, so memory stays bounded by the chunk plus
/// the token being built, whatever the size of the dump.
final class ChunkedByteReader {
    private let handle: FileHandle
    private var buffer: [UInt8] = []
    private var position = 0
    private var atEnd = false
    private let chunkSize: Int
    /// 1-based line number of the next byte.
    private(set) var line = 1

    init(path: String, chunkSize: Int = 1 << 16) throws {
        guard let h = FileHandle(forReadingAtPath: path) else {
            throw DumpRestoreError(file: path, line: 0, message: "cannot open the file")
        }
        handle = h
        self.chunkSize = chunkSize
    }

    deinit { try? handle.close() }

    @inline(__always)
    private func fill() -> Bool {
        if position < buffer.count { return true }
        if atEnd { return false }
        let data = (try? handle.read(upToCount: chunkSize)) ?? nil
        guard let data, !data.isEmpty else {
            atEnd = true
            return false
        }
        buffer = [UInt8](data)
        position = 0
        return true
    }

    /// The next byte without consuming it; nil at end of file.
    @inline(__always)
    func peek() -> UInt8? {
        guard fill() else { return nil }
        return buffer[position]
    }

    /// The byte after the next one (crosses a chunk boundary when needed).
    func peek2() -> UInt8? {
        guard fill() else { return nil }
        if position + 1 < buffer.count { return buffer[position + 1] }
        if atEnd { return nil }
        // Keep the unread tail and append the next chunk.
        let tail = Array(buffer[position...])
        let data = (try? handle.read(upToCount: chunkSize)) ?? nil
        guard let data, !data.isEmpty else {
            atEnd = true
            return nil
        }
        buffer = tail + [UInt8](data)
        position = 0
        return buffer[1]
    }

    /// Consumes and returns the next byte; nil at end of file.
    @inline(__always)
    func next() -> UInt8? {
        guard fill() else { return nil }
        let b = buffer[position]
        position += 1
        if b == 0x0A { line += 1 }
        return b
    }
}

/// One token of a MySQL dump.
enum DumpToken: Equatable {
    /// A bare word: keyword or unquoted identifier (`INSERT`, `use`, `dados_mutuarios`, `NULL`).
    case word(String)
    /// A backquoted identifier (`` `person_id` ``), unquoted.
    case identifier(String)
    /// A string literal with escapes resolved.
    case string(String)
    /// A number literal as written (sign is a separate `symbol`).
    case number(String)
    /// Any other single character: `( ) , ; = . - +` ...
    case symbol(UInt8)
    case endOfFile

    var display: String {
        switch self {
        case .word(let w): return "'\(w)'"
        case .identifier(let i): return "`\(i)`"
        case .string(let s): return "string '\(s.prefix(40))'"
        case .number(let n): return "number \(n)"
        case .symbol(let b): return "'\(Character(UnicodeScalar(b)))'"
        case .endOfFile: return "end of file"
        }
    }

    /// The uppercased word, for keyword comparisons.
    var keyword: String? {
        if case .word(let w) = self { return w.uppercased() }
        return nil
    }
}

/// Splits a MySQL dump into tokens, skipping `-- ` / `#` line comments, `/* */` comments
/// and `/*!NNNNN ... */` version directives (mysqldump's session settings, which SQLite
/// has no use for).
final class DumpTokenizer {
    let file: String
    private let reader: ChunkedByteReader
    private var lookahead: (DumpToken, Int)?
    /// A '-' already consumed while checking for "-- " (the second of "--x").
    private var pendingMinus: Int?
    private var scratch: [UInt8] = []
    /// Line of the token most recently returned by `next()`.
    private(set) var tokenLine = 1

    init(path: String) throws {
        file = path
        reader = try ChunkedByteReader(path: path)
    }

    var currentLine: Int { reader.line }

    func error(_ message: String, line: Int? = nil) -> DumpRestoreError {
        DumpRestoreError(file: file, line: line ?? tokenLine, message: message)
    }

    func peek() throws -> DumpToken {
        if let (t, _) = lookahead { return t }
        let t = try scan()
        lookahead = t
        return t.0
    }

    func next() throws -> DumpToken {
        if let (t, l) = lookahead {
            lookahead = nil
            tokenLine = l
            return t
        }
        let (t, l) = try scan()
        tokenLine = l
        return t
    }

    @inline(__always)
    private static func isSpace(_ b: UInt8) -> Bool {
        b == 0x20 || b == 0x0A || b == 0x0D || b == 0x09 || b == 0x0C || b == 0x0B
    }

    @inline(__always)
    private static func isWordStart(_ b: UInt8) -> Bool {
        (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == 0x5F || b == 0x24 || b >= 0x80
    }

    @inline(__always)
    private static func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }

    private func scan() throws -> (DumpToken, Int) {
        if let line = pendingMinus {
            pendingMinus = nil
            return (.symbol(0x2D), line)
        }
        while true {
            guard let b = reader.peek() else { return (.endOfFile, reader.line) }
            if Self.isSpace(b) { _ = reader.next(); continue }
            let line = reader.line
            // Comments.
            if b == 0x23 { skipLine(); continue } // '#'
            if b == 0x2D, reader.peek2() == 0x2D { // "--"
                _ = reader.next(); _ = reader.next()
                if let c = reader.peek(), !Self.isSpace(c) {
                    // MySQL needs a space after "--"; "--x" is two minus signs.
                    pendingMinus = line
                    return (.symbol(0x2D), line)
                }
                skipLine()
                continue
            }
            if b == 0x2F, reader.peek2() == 0x2A { // "/*"
                _ = reader.next(); _ = reader.next()
                try skipBlockComment(startLine: line)
                continue
            }
            if b == 0x27 || b == 0x22 { // quote
                _ = reader.next()
                return (.string(try scanString(quote: b, startLine: line)), line)
            }
            if b == 0x60 { // backquote
                _ = reader.next()
                return (.identifier(try scanBackquoted(startLine: line)), line)
            }
            if Self.isDigit(b) || (b == 0x2E && reader.peek2().map(Self.isDigit) == true) {
                return (.number(scanNumber()), line)
            }
            if Self.isWordStart(b) {
                scratch.removeAll(keepingCapacity: true)
                while let c = reader.peek(), Self.isWordStart(c) || Self.isDigit(c) {
                    scratch.append(c)
                    _ = reader.next()
                }
                return (.word(String(decoding: scratch, as: UTF8.self)), line)
            }
            _ = reader.next()
            return (.symbol(b), line)
        }
    }

    private func skipLine() {
        while let c = reader.next(), c != 0x0A {}
    }

    private func skipBlockComment(startLine: Int) throws {
        var previous: UInt8 = 0
        while let c = reader.next() {
            if previous == 0x2A && c == 0x2F { return }
            previous = c
        }
        throw error("unterminated /* comment (started on line \(startLine)); expected '*/'", line: reader.line)
    }

    private func scanString(quote: UInt8, startLine: Int) throws -> String {
        scratch.removeAll(keepingCapacity: true)
        while true {
            guard let c = reader.next() else {
                throw error("unterminated string literal (started on line \(startLine)); expected a closing quote",
                            line: reader.line)
            }
            if c == quote {
                if reader.peek() == quote { // doubled quote
                    _ = reader.next()
                    scratch.append(quote)
                    continue
                }
                return String(decoding: scratch, as: UTF8.self)
            }
            if c == 0x5C { // backslash escape
                guard let e = reader.next() else {
                    throw error("unterminated string literal (started on line \(startLine)); expected a closing quote",
                                line: reader.line)
                }
                switch e {
                case 0x30: scratch.append(0) // \0
                case 0x62: scratch.append(0x08) // \b
                case 0x6E: scratch.append(0x0A) // \n
                case 0x72: scratch.append(0x0D) // \r
                case 0x74: scratch.append(0x09) // \t
                case 0x5A: scratch.append(0x1A) // \Z
                case 0x25, 0x5F: scratch.append(0x5C); scratch.append(e) // \% and \_ keep the backslash
                default: scratch.append(e) // \\ \' \" and any other char stand for themselves
                }
                continue
            }
            scratch.append(c)
        }
    }

    private func scanBackquoted(startLine: Int) throws -> String {
        scratch.removeAll(keepingCapacity: true)
        while true {
            guard let c = reader.next() else {
                throw error("unterminated `identifier` (started on line \(startLine)); expected '`'",
                            line: reader.line)
            }
            if c == 0x60 {
                if reader.peek() == 0x60 { _ = reader.next(); scratch.append(0x60); continue }
                return String(decoding: scratch, as: UTF8.self)
            }
            scratch.append(c)
        }
    }

    private func scanNumber() -> String {
        scratch.removeAll(keepingCapacity: true)
        while let c = reader.peek() {
            if Self.isDigit(c) || c == 0x2E || Self.isWordStart(c) {
                scratch.append(c)
                _ = reader.next()
                if c == 0x65 || c == 0x45, let s = reader.peek(), s == 0x2B || s == 0x2D { // exponent sign
                    scratch.append(s)
                    _ = reader.next()
                }
            } else {
                break
            }
        }
        return String(decoding: scratch, as: UTF8.self)
    }
}
