// swift-tools-version:6.0
import PackageDescription

// A libFuzzer target for the .idz reader; see README.md for how to build and run it.
let package = Package(
    name: "IdzipFuzz",
    dependencies: [
        .package(name: "idzip", path: ".."),
    ],
    targets: [
        .executableTarget(
            name: "IdzipFuzz",
            dependencies: [.product(name: "IdzipCore", package: "idzip")]
        ),
    ]
)
