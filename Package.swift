// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "idzip",
    products: [
        .library(name: "IdzipCore", targets: ["IdzipCore"]),
        .library(name: "IdzipTraining", targets: ["IdzipTraining"]),
        .executable(name: "idzip", targets: ["idzip"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        // The ONNX export's protobuf messages (Sources/IdzipCore/Export/onnx.pb.swift).
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
    ],
    targets: [
        // System libraries from Debian (zlib1g-dev, libopenblas-dev, libpng-dev), found with pkg-config.
        .systemLibrary(
            name: "CZlib",
            pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]
        ),
        .systemLibrary(
            name: "COpenBLAS",
            pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]
        ),
        // PNG inputs of `idzip predict`, through libpng's simplified API (IdzipCore/Inputs/PNGDecoder).
        .systemLibrary(
            name: "CLibPNG",
            pkgConfig: "libpng",
            providers: [.apt(["libpng-dev"])]
        ),
        // MuJoCo 2.2.2 (libmujoco-dev), the physics of the InvertedPendulum environment
        // (IdzipTraining/Reinforcement). Debian ships no pkg-config file for it: the module map
        // names the header (/usr/include/mujoco) and links libmujoco.
        .systemLibrary(
            name: "CMujoco",
            providers: [.apt(["libmujoco-dev"])]
        ),

        // The C kernels, one target: bulk Philox and Box-Muller (random/), the projections'
        // Walsh-Hadamard and Fastfood permutations (projection/) and training's float32
        // dense products (dense/), each with portable, AVX2 and AVX-512 paths chosen at run
        // time by one level (cpu.c; function attributes, no compiler flags). Every level
        // gives the same bits.
        .target(name: "CIdzipKernels"),

        // The embeddable core: portable randomness, projections, the .idz container,
        // weight expansion, inference and its inputs (PNG, PGM, NPY), deployment formats (ONNX, C).
        .target(
            name: "IdzipCore",
            dependencies: [
                "CIdzipKernels",
                "CZlib",
                "COpenBLAS",
                "CLibPNG",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ]
        ),

        // Training: data sets, layers with gradients, optimisers, the training loop.
        .target(
            name: "IdzipTraining",
            dependencies: [
                "IdzipCore", "CZlib", "COpenBLAS", "CMujoco",
                // The dense kernels of the materialised training projection (Caches/).
                "CIdzipKernels",
                // SHA-256 checks of the named data sets.
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),

        // The thin command-line tool.
        .executableTarget(
            name: "idzip",
            dependencies: [
                "IdzipCore",
                "IdzipTraining",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),

        .testTarget(name: "IdzipCoreTests", dependencies: ["IdzipCore"], resources: [.copy("Fixtures")]),
        .testTarget(
            name: "IdzipTrainingTests",
            dependencies: ["IdzipTraining", .product(name: "Crypto", package: "swift-crypto")],
            // Read from the source tree (#filePath): recorded training curves.
            exclude: ["Fixtures"]),
        // IdzipTraining reads the MNIST images that the predict tests feed the binary.
        .testTarget(name: "IdzipCLITests", dependencies: ["IdzipCore", "IdzipTraining"]),
    ]
)
