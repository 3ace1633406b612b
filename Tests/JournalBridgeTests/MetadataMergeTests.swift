import JournalBridge
import Logging
import XCTest

final class MetadataMergeTests: XCTestCase {
    struct Boom: Error, CustomStringConvertible { var description: String { "boom" } }

    func testLaterSourcesWinAndErrorIsAdded() {
        let provider = Logger.MetadataProvider { ["trace": "t1", "shared": "provider"] }
        let merged = MetadataMerge.merged(
            base: ["shared": "handler", "only.base": "b"], provider: provider, explicit: ["shared": "call", "n": "1"],
            error: Boom()
        )
        let dict = Dictionary(uniqueKeysWithValues: merged.map { ($0.key, $0.value) })
        XCTAssertEqual(dict["shared"], "call")
        XCTAssertEqual(dict["trace"], "t1")
        XCTAssertEqual(dict["only.base"], "b")
        XCTAssertEqual(dict["error.message"], "boom")
        XCTAssertTrue(dict["error.type"]!.hasSuffix("Boom"))
        XCTAssertEqual(merged.map(\.key), merged.map(\.key).sorted(), "keys come out sorted")
    }

    func testNestedValuesAreFlattenedToTheirDescription() {
        let merged = MetadataMerge.merged(
            base: ["list": ["a", "b"], "map": ["k": "v"]], provider: nil, explicit: nil, error: nil)
        XCTAssertEqual(merged.map(\.value), [#"["a", "b"]"#, #"["k": "v"]"#])
    }
}
