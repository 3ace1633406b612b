/// Who a connected worker is, as the kernel and its cgroup said when it connected: its systemd
/// unit and the process facts journald would otherwise look up in `/proc` for every entry.
///
/// journald files an entry under a unit (`journalctl -u`) by the sender's own cgroup, or, for
/// a sender of uid 0, by the `OBJECT_SYSTEMD_UNIT` field it sends about someone else. journald
/// reads `/proc/<pid>` only when the entry arrives, so a worker that has exited by then is
/// attributed to nothing (or to whoever reused its pid). The collector reads these facts at
/// connect time, while the worker is alive, and its journald sink sends them as `OBJECT_*`
/// fields. One instance is shared by every record of a connection.
package final class PeerIdentity: Sendable, Equatable {
    /// From SO_PEERCRED.
    package let uid: UInt32
    package let gid: UInt32
    /// `/proc/<pid>/comm` and the target of `/proc/<pid>/exe` (nil when unreadable: the
    /// kernel lets only the process's own uid or CAP_SYS_PTRACE read the link).
    package let comm: String?
    package let exe: String?
    /// The cgroup v2 path (`/system.slice/app.service`) and what systemd's naming makes of it.
    package let cgroup: String?
    package let unit: String?
    package let slice: String?
    package let userUnit: String?
    package let userSlice: String?
    package let ownerUID: UInt32?
    /// The unit's invocation id (32 hex digits) from its cgroup's `invocation_id` attribute.
    package let invocationID: String?

    package init(
        uid: UInt32, gid: UInt32, comm: String? = nil, exe: String? = nil, cgroup: String? = nil,
        invocationID: String? = nil
    ) {
        self.uid = uid
        self.gid = gid
        self.comm = comm
        self.exe = exe
        self.cgroup = cgroup
        self.invocationID = invocationID
        let units = cgroup.map(Self.units(ofCgroup:)) ?? UnitPath()
        self.unit = units.unit
        self.slice = units.slice
        self.userUnit = units.userUnit
        self.userSlice = units.userSlice
        self.ownerUID = units.ownerUID
    }

    /// The unit a sender's records count under for the fair share (README: uid, unit,
    /// identifier): its system unit, else its user unit. The one home of that choice.
    package var sourceUnit: String? { unit ?? userUnit }

    /// The `OBJECT_*` fields journald would have added for this process, in a fixed order.
    package var journaldFields: [(name: StaticString, value: String)] {
        var fields: [(name: StaticString, value: String)] = [("OBJECT_UID", String(uid)), ("OBJECT_GID", String(gid))]
        if let comm { fields.append(("OBJECT_COMM", comm)) }
        if let exe { fields.append(("OBJECT_EXE", exe)) }
        if let cgroup { fields.append(("OBJECT_SYSTEMD_CGROUP", cgroup)) }
        if let unit { fields.append(("OBJECT_SYSTEMD_UNIT", unit)) }
        if let slice { fields.append(("OBJECT_SYSTEMD_SLICE", slice)) }
        if let userUnit { fields.append(("OBJECT_SYSTEMD_USER_UNIT", userUnit)) }
        if let userSlice { fields.append(("OBJECT_SYSTEMD_USER_SLICE", userSlice)) }
        if let ownerUID { fields.append(("OBJECT_SYSTEMD_OWNER_UID", String(ownerUID))) }
        if let invocationID { fields.append(("OBJECT_SYSTEMD_INVOCATION_ID", invocationID)) }
        return fields
    }

    package static func == (lhs: PeerIdentity, rhs: PeerIdentity) -> Bool {
        lhs === rhs
            || (lhs.uid == rhs.uid && lhs.gid == rhs.gid && lhs.comm == rhs.comm && lhs.exe == rhs.exe
                && lhs.cgroup == rhs.cgroup && lhs.invocationID == rhs.invocationID)
    }

    /// Units and slices named by a cgroup path, the way systemd derives `_SYSTEMD_UNIT` and
    /// friends: the first component that is not a slice is the unit, the last slice before it
    /// is its slice; inside `user@UID.service` the same again gives the user unit.
    package struct UnitPath: Equatable {
        package var unit: String?
        package var slice: String?
        package var userUnit: String?
        package var userSlice: String?
        package var ownerUID: UInt32?

        package init(
            unit: String? = nil, slice: String? = nil, userUnit: String? = nil, userSlice: String? = nil,
            ownerUID: UInt32? = nil
        ) {
            self.unit = unit
            self.slice = slice
            self.userUnit = userUnit
            self.userSlice = userSlice
            self.ownerUID = ownerUID
        }
    }

    package static func units(ofCgroup path: String) -> UnitPath {
        var result = UnitPath()
        var components = path.split(separator: "/").map(String.init)[...]
        func next() -> (unit: String?, slice: String?) {
            var slice: String?
            while let first = components.first, first.hasSuffix(".slice") {
                slice = first
                components = components.dropFirst()
            }
            guard let first = components.first, isUnitName(first) else { return (nil, slice) }
            components = components.dropFirst()
            return (first, slice)
        }
        let system = next()
        result.unit = system.unit
        result.slice = system.slice ?? (system.unit == nil ? nil : "-.slice")
        if let unit = system.unit, unit.hasPrefix("user@"), unit.hasSuffix(".service"),
            let uid = UInt32(unit.dropFirst(5).dropLast(8))
        {
            result.ownerUID = uid
            let user = next()
            result.userUnit = user.unit
            result.userSlice = user.slice ?? (user.unit == nil ? nil : "-.slice")
        }
        return result
    }

    /// A unit name as systemd accepts one in a cgroup path: a name, a dot and a known type.
    static func isUnitName(_ name: String) -> Bool {
        let types = ["service", "scope", "socket", "mount", "swap", "timer", "path", "target", "device", "automount"]
        guard let dot = name.lastIndex(of: "."), dot != name.startIndex, name.utf8.count <= 255 else { return false }
        guard types.contains(String(name[name.index(after: dot)...])) else { return false }
        return name.utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                || byte == UInt8(ascii: ":") || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_")
                || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "\\") || byte == UInt8(ascii: "@")
        }
    }
}
