/// The two timestamp forms of syslog.
package enum SyslogTimestamp {
    /// RFC 5424 section 6.2.3: `2003-10-11T22:14:15.003Z`, `2003-08-24T05:14:15.000003-07:00`.
    /// Returns microseconds since the epoch, or nil when the text is not a valid date and time.
    /// A fraction of more than 6 digits (the RFC's limit) is accepted and cut to microseconds,
    /// as some senders write nanoseconds.
    package static func parseRFC5424(_ text: UnsafeRawBufferPointer) -> Int64? {
        var reader = DigitReader(bytes: text)
        guard let year = reader.number(4), reader.take("-"), let month = reader.number(2), reader.take("-"),
            let day = reader.number(2), reader.take("T"), let hour = reader.number(2), reader.take(":"),
            let minute = reader.number(2), reader.take(":"), let second = reader.number(2)
        else { return nil }
        guard (1...12).contains(month), day >= 1, day <= daysIn(month: month, year: year), hour <= 23, minute <= 59,
            second <= 59
        else { return nil }
        var micros = 0
        if reader.take(".") {
            var digits = 0
            while let digit = reader.digit() {
                if digits < 6 { micros = micros * 10 + digit }
                digits += 1
            }
            guard (1...9).contains(digits) else { return nil }
            if digits < 6 { for _ in digits..<6 { micros *= 10 } }
        }
        var offsetSeconds = 0
        if reader.take("Z") {
        } else if let sign = reader.sign() {
            guard let offsetHours = reader.number(2), reader.take(":"), let offsetMinutes = reader.number(2),
                offsetHours <= 23, offsetMinutes <= 59
            else { return nil }
            offsetSeconds = sign * (offsetHours * 3600 + offsetMinutes * 60)
        } else {
            return nil
        }
        guard reader.atEnd else { return nil }
        let days = daysFromCivil(year: year, month: month, day: day)
        let seconds = Int64(days) * 86_400 + Int64(hour * 3600 + minute * 60 + second) - Int64(offsetSeconds)
        return seconds * 1_000_000 + Int64(micros)
    }

    /// The English month abbreviations of RFC 3164, each as its three bytes in one number.
    private static let monthCodes: [UInt32] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ]
    .map { name in name.utf8.reduce(0) { $0 << 8 | UInt32($1) } }

    /// RFC 3164 section 4.1.2: `Mmm dd hh:mm:ss` with the day space-padded (`Feb  5`); a
    /// zero-padded day is accepted too. Returns the timestamp's length (15) when `text` starts
    /// with one, else nil.
    package static func lengthOfRFC3164(_ text: UnsafeRawBufferPointer) -> Int? {
        guard text.count >= 15 else { return nil }
        // The month's three letters as one number, looked up among the twelve (no string per message).
        let month = UInt32(text[0]) << 16 | UInt32(text[1]) << 8 | UInt32(text[2])
        guard monthCodes.contains(month), text[3] == UInt8(ascii: " ") else { return nil }
        func digit(_ i: Int) -> Int? {
            text[i] >= UInt8(ascii: "0") && text[i] <= UInt8(ascii: "9") ? Int(text[i] - UInt8(ascii: "0")) : nil
        }
        let tens = text[4] == UInt8(ascii: " ") ? 0 : digit(4)
        guard let tens, let units = digit(5), (1...31).contains(tens * 10 + units), text[6] == UInt8(ascii: " "),
            let h1 = digit(7), let h2 = digit(8), h1 * 10 + h2 <= 23, text[9] == UInt8(ascii: ":"),
            let m1 = digit(10), let m2 = digit(11), m1 * 10 + m2 <= 59, text[12] == UInt8(ascii: ":"),
            let s1 = digit(13), let s2 = digit(14), s1 * 10 + s2 <= 60
        else { return nil }
        return 15
    }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    private struct DigitReader {
        let bytes: UnsafeRawBufferPointer
        var index = 0

        var atEnd: Bool { index == bytes.count }

        mutating func digit() -> Int? {
            guard index < bytes.count, bytes[index] >= UInt8(ascii: "0"), bytes[index] <= UInt8(ascii: "9") else {
                return nil
            }
            defer { index += 1 }
            return Int(bytes[index] - UInt8(ascii: "0"))
        }

        mutating func number(_ width: Int) -> Int? {
            var value = 0
            for _ in 0..<width {
                guard let d = digit() else { return nil }
                value = value * 10 + d
            }
            return value
        }

        mutating func take(_ character: Unicode.Scalar) -> Bool {
            guard index < bytes.count, bytes[index] == UInt8(ascii: character) else { return false }
            index += 1
            return true
        }

        mutating func sign() -> Int? {
            if take("+") { return 1 }
            if take("-") { return -1 }
            return nil
        }
    }
}
