/// For the counters, a forward sink's records are written once the receiver has them
/// (`ForwardBuffer.confirmed`); until then they are held (its buffer and spill). The two counts
/// are read one after the other while the link's thread moves records, so a record confirmed or
/// dropped in between shows in the next reading: the totals stay exact, each reading's split
/// between written and held may lag by those records.
extension ForwardSink: AccountedSink {
    package var backlogDropCount: Int { 0 }
    package var heldCount: Int { buffer.count }
}
