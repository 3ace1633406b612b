/// The mutations the fuzz tests share: a byte flipped, a tail cut, random bytes inserted, a
/// slice repeated, another corpus entry spliced on, pure noise; plus each format's own
/// (`special`: length fields at their edges, syntax bytes). One to four per input, chosen by a
/// `SplitMix64`, so that a failure names an input that can be replayed.
public struct ByteMutator {
    /// What a format adds: a mutation of `bytes` in place, drawing from the generator.
    public typealias Mutation = (inout [UInt8], inout SplitMix64) -> Void

    /// The entries spliced on (case "splice").
    public var corpus: [[UInt8]]
    /// The format's own mutations, chosen as often as each shared one.
    public var special: [Mutation]

    /// A mutator splicing from `corpus`, with the format's `special` mutations.
    public init(corpus: [[UInt8]], special: [Mutation] = []) {
        self.corpus = corpus
        self.special = special
    }

    /// `start` mutated one to four times.
    public func mutate(_ start: [UInt8], _ g: inout SplitMix64) -> [UInt8] {
        var bytes = start
        let shared = 6
        for _ in 0..<Int.random(in: 1...4, using: &g) {
            let choice = Int.random(in: 0..<(shared + special.count), using: &g)
            switch choice {
            case 0 where !bytes.isEmpty:  // flip a byte
                bytes[Int.random(in: 0..<bytes.count, using: &g)] = UInt8.random(in: 0...255, using: &g)
            case 1 where !bytes.isEmpty:  // truncate
                bytes.removeLast(Int.random(in: 0...bytes.count, using: &g))
            case 2:  // random bytes inserted
                let at = bytes.isEmpty ? 0 : Int.random(in: 0...bytes.count, using: &g)
                let count = Int.random(in: 1...16, using: &g)
                bytes.insert(contentsOf: (0..<count).map { _ in UInt8.random(in: 0...255, using: &g) }, at: at)
            case 3:  // a slice repeated
                if bytes.count > 2 {
                    let a = Int.random(in: 0..<bytes.count, using: &g)
                    let b = Int.random(in: a..<bytes.count, using: &g)
                    bytes.append(contentsOf: bytes[a...b])
                }
            case 4:  // spliced with another corpus entry
                bytes += corpus.randomElement(using: &g) ?? []
            case 0..<shared:  // pure noise (and an empty input's flip or cut)
                bytes = (0..<Int.random(in: 0...256, using: &g)).map { _ in UInt8.random(in: 0...255, using: &g) }
            default:
                special[choice - shared](&bytes, &g)
            }
        }
        return bytes
    }
}
