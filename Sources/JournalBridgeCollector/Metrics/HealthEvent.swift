/// The collector's own health records and their fixed journald `MESSAGE_ID`s
/// (docs/journalctl.md: `journalctl MESSAGE_ID=...`). The collector puts the id in a metadata
/// field `HealthEvent.messageIDKey`; the journald sink writes it as `MESSAGE_ID` only for the
/// collector's own records (its pid, no session), so no client can claim one.
package enum HealthEvent: String, CaseIterable, Sendable {
    case started, stopped, reloaded, reloadFailed, dropEpisode, recovered, rateLimited

    package static let messageIDKey = "jb.message_id"

    package var id: String {
        switch self {
        case .started: "452847cfd1ee49378b17e5c40c5f047c"
        case .stopped: "6482caf4afda469ea41961693d7dce4d"
        case .reloaded: "8520534ffaa044289096cfba05ccdaa4"
        case .reloadFailed: "d714d558081f4b78bd4d345fdfa513bd"
        case .dropEpisode: "fa2d668222b446c4aac9235abcc648f6"
        case .recovered: "fa93fd787d474cd38ba38070bccc00c1"
        case .rateLimited: "8425a769d6954f3eb0c8a651faef0ec3"
        }
    }
}
