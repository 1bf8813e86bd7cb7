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
    ],
    targets: [
        // System libraries from Debian (zlib1g-dev, libopenblas-dev), found with pkg-config.
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

        // Bulk Philox and Box-Muller with AVX-512 / AVX2 / portable paths chosen at run
        // time (function attributes, no compiler flags); all give the same bits.
        .target(name: "CRandomKernels"),
        // SIMD kernels of the projections (Walsh-Hadamard, Fastfood permutations) for AVX2
        // and AVX-512, chosen at run time, with a portable fallback giving the same bits.
        .target(name: "CProjectionKernels"),

        // Float32 products with training's materialised dense projection: AVX2 and
        // portable paths chosen at run time, the same float operations in the same order.
        .target(name: "CDenseKernels"),

        // The embeddable core: portable randomness, projections, the .idz container,
        // weight expansion and inference.
        .target(
            name: "IdzipCore",
            dependencies: [
                "CProjectionKernels",
                "CZlib",
                "COpenBLAS",
                "CRandomKernels",
                "CDenseKernels",
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),

        // Training: data sets, layers with gradients, optimisers, the training loop.
        .target(
            name: "IdzipTraining",
            dependencies: [
                "IdzipCore", "CZlib", "COpenBLAS",
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
            dependencies: ["IdzipTraining", .product(name: "Crypto", package: "swift-crypto")]),
        .testTarget(name: "IdzipCLITests", dependencies: ["IdzipCore"]),
    ]
)
