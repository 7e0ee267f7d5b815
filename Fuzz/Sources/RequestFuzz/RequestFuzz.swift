import CreditWire

/// One fuzz input: a request frame's payload, decoded the way creditd decodes it. Crashes,
/// sanitizer reports and leaks are the findings; the checks below turn silent wrong answers
/// into crashes too.
@_cdecl("LLVMFuzzerTestOneInput")
public func requestFuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    let scan = RequestScan(bytes, elementLimit: 10_000 * 32 + 64)
    // A frame over the budget or with a non-text id/name is refused before unpacking.
    if scan.elements > 10_000 * 32 + 64 || scan.problem != nil { return 0 }
    guard let request = UnpackedRequest(bytes, arena: arena) else { return 0 }
    _ = request.requestId
    _ = request.reloadPath
    let copy = request.toRequest()
    _ = request.withScore { view in
        switch view.form {
        case .columns:
            for i in 0..<view.numericCount { _ = view.numeric(i).values.reduce(0, +) }
            for i in 0..<view.categoricalCount { _ = view.categorical(i).values.count }
            precondition(view.ids.count >= 0)
        case .row:
            for i in 0..<view.rowFieldCount { _ = view.rowField(i) }
        case .empty: break
        }
    }
    // Re-encoding what was decoded must give a request that decodes the same way.
    if case .score = copy.method {
        let again = copy.serialized()
        let decodes = again.withUnsafeBytes { b -> Bool in
            guard let r = UnpackedRequest(b) else { return false }
            return r.method == .score
        }
        precondition(decodes, "re-encoded request does not decode")
    }
    return 0
}

nonisolated(unsafe) let arena = UnpackArena()
