import Testing
import IdzipCore

@Test func paperParameterCounts() throws {
    #expect(try Architecture.fullyConnected(inputShape: [1, 28, 28], widths: [200, 200, 10]).parameterCount() == 199_210)
    #expect(try Architecture.leNet().parameterCount() == 44_426)
    #expect(try Architecture.leNet(inputShape: [3, 32, 32]).parameterCount() == 62_006)
    #expect(try Architecture.fullyConnected(inputShape: [784], widths: [400, 400, 400, 400, 400, 10]).parameterCount() == 959_610)
    #expect(try Architecture.toy().parameterCount() == 1000)
}

@Test func architectureSpecs() throws {
    #expect(try Architecture(spec: "fc:784-200-200-10").parameterCount() == 199_210)
    #expect(try Architecture(spec: "lenet").parameterCount() == 44_426)
    #expect(try Architecture(spec: "lenet:3x32x32").parameterCount() == 62_006)
    #expect(try Architecture(spec: "fc5").parameterCount() == 959_610)
    #expect(try Architecture(spec: "toy").parameterCount() == 1000)
    for bad in ["", "fc", "fc:", "fc:784", "fc:784-x-10", "fc:784--10", "fc:0-10", "lenet:28x28", "lenet:1x4x4", "mlp", "toy:3", "fc:99999999999999999999-1"] {
        #expect(throws: ArchitectureError.self, "\(bad)") { try Architecture(spec: bad) }
    }
}
