/// The fourth counter word of every Philox block idzip draws: which quantity a random
/// number belongs to. The values are part of the `.idz` format (Formats/idz-v1.md) and
/// never change meaning.
public enum StreamPurpose: UInt32, Sendable, CaseIterable {
    /// theta0: the initial weights; sub-stream = tensor index.
    case theta0 = 1
    /// Dense projection entries; sub-stream = 0.
    case denseProjection = 2
    /// Sparse projection positions and signs; sub-stream = column.
    case sparseProjection = 3
    /// Fastfood diagonal of random signs B; sub-stream = block.
    case fastfoodSigns = 4
    /// Fastfood permutation Pi; sub-stream = block.
    case fastfoodPermutation = 5
    /// Fastfood Gaussian diagonal G; sub-stream = block.
    case fastfoodGaussian = 6

    // Training-time purposes. They are not needed to expand a model, but are fixed so that
    // a training run is reproducible from its seed.

    /// Order of training examples; sub-stream = epoch.
    case exampleOrder = 16
    /// The pixel permutation of the "shuffled pixels" data set variant.
    case pixelPermutation = 17
    /// Random training labels of the "shuffled labels" variant.
    case labelShuffle = 18
    /// Which examples a fractional training set keeps.
    case subsetSelection = 19
    /// Resampling of a sweep's runs for the bootstrap interval of d_int90.
    case bootstrap = 20
    /// Which training examples are held out as the validation set (`--validation-fraction`).
    case validationSplit = 21
    /// Dropout masks of training (`Layer.dropout`): the dropout kernel documents which
    /// seed, sub-stream and position each mask entry uses. Not needed to expand a model.
    case dropout = 22
    /// The initial state of a reinforcement-learning episode (CartPole: four uniform
    /// doubles); seed = the episode's seed, sub-stream = 0.
    case environmentReset = 24
    /// Seeds of reinforcement-learning episodes: 64-bit value k is the seed of episode k;
    /// sub-stream 0 for training episodes, 1 for evaluation episodes.
    case episodeSeed = 25
    /// DQN's epsilon-greedy exploration: per environment step, one uniform number against
    /// epsilon and one random action; sub-stream = 0.
    case exploration = 26
    /// DQN's replay sampling: which transitions form each minibatch; sub-stream = 0.
    case replaySampling = 27
    /// Evolution strategies' Gaussian perturbations (IdzipTraining `EvolutionStrategies`):
    /// sub-stream = iteration, normal (i m + k) = component k of pair i's noise vector
    /// (m = the trained vector's length).
    case esPerturbation = 28
    /// Random theta_d of sample models written by `idzip create`.
    case sampleTheta = 32
}
