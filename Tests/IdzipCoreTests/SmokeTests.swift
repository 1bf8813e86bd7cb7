import Testing
@testable import IdzipCore

@Test func paperParameterCounts() throws {
    #expect(try Architecture.fullyConnected(inputShape: [1, 28, 28], widths: [200, 200, 10]).parameterCount() == 199_210)
    #expect(try Architecture.leNet().parameterCount() == 44_426)
    #expect(try Architecture.leNet(inputShape: [3, 32, 32]).parameterCount() == 62_006)
    #expect(try Architecture.fullyConnected(inputShape: [784], widths: [400, 400, 400, 400, 400, 10]).parameterCount() == 959_610)
    #expect(try Architecture.toy().parameterCount() == 1000)
}
