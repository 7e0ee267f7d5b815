import CreditDomain
import CreditCore
import CreditWire
import Testing

@Suite struct FramingTests {
    static func frames(_ payloads: [[UInt8]]) -> [UInt8] {
        var out = [UInt8]()
        for p in payloads { Frame.append(p, to: &out) }
        return out
    }

    static func drain(_ d: FrameDecoder) throws -> [[UInt8]] {
        var got = [[UInt8]]()
        while let f = try d.nextFrame() { got.append([UInt8](f)) }
        return got
    }

    static let payloads: [[UInt8]] = [[1, 2, 3], [], Array(repeating: 7, count: 300), [0xff], Array(0..<200).map { UInt8($0) }]

    @Test func headerIsBigEndianLength() {
        #expect(Frame.encode([9, 9]) == [0, 0, 0, 2, 9, 9])
        #expect(Array(Frame.encode(Array(repeating: 0, count: 0x0102)).prefix(4)) == [0, 0, 1, 2])
    }

    @Test func framesSplitByteByByte() throws {
        let stream = Self.frames(Self.payloads)
        let d = FrameDecoder(maxFrameBytes: 1024, initialCapacity: 8)
        var got = [[UInt8]]()
        for b in stream {
            d.append([b])
            got += try Self.drain(d)
        }
        #expect(got == Self.payloads)
        #expect(d.bufferedBytes == 0)
    }

    @Test func severalFramesInOneRead() throws {
        let d = FrameDecoder(maxFrameBytes: 1024)
        d.append(Self.frames(Self.payloads))
        #expect(try Self.drain(d) == Self.payloads)
    }

    @Test func randomSplitsReassemble() throws {
        var rng = SplitMix64(seed: 42)
        let many = (0..<200).map { _ in (0..<Int(rng.next() % 500)).map { _ in UInt8(truncatingIfNeeded: rng.next()) } }
        let stream = Self.frames(many)
        let d = FrameDecoder(maxFrameBytes: 1024, initialCapacity: 16)
        var got = [[UInt8]]()
        var i = 0
        while i < stream.count {
            let n = min(Int(rng.next() % 700) + 1, stream.count - i)
            d.append(Array(stream[i..<(i + n)]))
            got += try Self.drain(d)
            i += n
        }
        #expect(got == many)
    }

    @Test func lengthCapThrowsBeforeBuffering() throws {
        let d = FrameDecoder(maxFrameBytes: 100)
        d.append(Self.frames([Array(repeating: 1, count: 100)]))
        #expect(try d.nextFrame()?.count == 100)  // exactly the cap is fine
        d.append([0, 0, 0, 101])                   // header alone is enough to refuse
        #expect(throws: FrameTooLarge(length: 101, limit: 100)) { try d.nextFrame() }
        let huge = FrameDecoder(maxFrameBytes: 1 << 20)
        huge.append([0xff, 0xff, 0xff, 0xff])
        #expect(throws: FrameTooLarge.self) { try huge.nextFrame() }
    }

    @Test func partialFrameWaits() throws {
        let d = FrameDecoder(maxFrameBytes: 100)
        d.append([0, 0, 0, 5, 1, 2])
        #expect(try d.nextFrame() == nil)
        #expect(d.pendingFrameLength == 5)
        d.append([3, 4, 5])
        #expect(try d.nextFrame().map { [UInt8]($0) } == [1, 2, 3, 4, 5])
    }
}

