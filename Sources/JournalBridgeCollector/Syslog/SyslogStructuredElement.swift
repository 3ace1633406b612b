/// One SD-ELEMENT of an RFC 5424 message: `[SD-ID PARAM="VALUE" ...]`.
package struct SyslogStructuredElement: Sendable, Equatable {
    /// One SD-PARAM. The value is unescaped (`\"`, `\\`, `\]`) and otherwise the bytes as sent:
    /// RFC 5424 wants UTF-8, but a value that is not stays as it came.
    package struct Parameter: Sendable, Equatable {
        package var name: String
        package var value: [UInt8]

        package init(name: String, value: [UInt8]) {
            self.name = name
            self.value = value
        }
    }

    /// The SD-ID, `exampleSDID@32473` or a registered name such as `timeQuality`.
    package var id: String
    /// In the order sent; a name may repeat.
    package var parameters: [Parameter]

    package init(id: String, parameters: [Parameter]) {
        self.id = id
        self.parameters = parameters
    }
}
