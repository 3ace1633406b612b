/// Eight bytes read as one word, and the word-at-a-time tests of "Bit Twiddling Hacks" on them.
/// Each test is exact for "is there such a byte" (not for which one), which is all a scan needs
/// to skip eight plain bytes at once before it looks at bytes one by one. The one home of the
/// trick: the file escape, the syslog framer's line end and the forward sink's PARAM-VALUE use it.
struct ByteWord {
    let value: UInt64

    private static let ones: UInt64 = 0x0101_0101_0101_0101
    private static let highs: UInt64 = 0x8080_8080_8080_8080

    /// The eight bytes at `bytes`, wherever they lie (no alignment needed).
    @inline(__always)
    init(_ bytes: UnsafeRawPointer) { value = bytes.loadUnaligned(as: UInt64.self) }

    /// Some byte is zero.
    @inline(__always)
    private static func hasZero(_ value: UInt64) -> Bool { (value &- ones) & ~value & highs != 0 }

    /// Some byte equals `byte`.
    @inline(__always)
    func contains(_ byte: UInt8) -> Bool { Self.hasZero(value ^ (Self.ones &* UInt64(byte))) }

    /// Some byte is below `limit`, which must be at most 128.
    @inline(__always)
    func containsByte(below limit: UInt8) -> Bool { (value &- Self.ones &* UInt64(limit)) & ~value & Self.highs != 0 }

    /// Some byte is 0x80 or above (not ASCII).
    @inline(__always)
    var containsNonASCII: Bool { value & Self.highs != 0 }
}
