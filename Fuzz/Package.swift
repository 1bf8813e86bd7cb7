// swift-tools-version:6.0
import PackageDescription

// libFuzzer targets for the .idz reader (IdzipFuzz) and the inputs of `idzip predict`
// (InputFuzz: PNG, PGM, NPY); see README.md for how to build and run them.
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
        .executableTarget(
            name: "InputFuzz",
            dependencies: [.product(name: "IdzipCore", package: "idzip")]
        ),
    ]
)
