/// Hyperparameters of the gradient-boosted tree learner (`GBDTLearner`).
///
/// The defaults are the configuration that meets the project's quality bar on the loan book
/// (see docs/gbdt.md for the measured figures and the configurations that were tried):
/// shrinkage 0.1 with up to 1000 rounds and early stopping on the validation log-loss
/// (patience 30; ~350 trees kept on the loan book), trees of depth ≤ 6 grown loss-guided
/// (best-first) up to 48 leaves, λ = 1, min child hessian 1, no row subsampling (at η = 0.1
/// 80 % rows cost ~0.003 AUC), 80 % of the features per tree, and up to 4096 histogram bins
/// per feature (features with fewer distinct training values get one bin per value, i.e.
/// exact thresholds; 256 bins cost ~0.003 AUC on the loan book).
public struct GBDTParameters: Codable, Sendable, Equatable {
    /// Shrinkage (η) applied to every leaf value.
    public var learningRate: Double = 0.1
    /// Maximum number of boosting rounds (trees).
    public var maxRounds: Int = 1000
    /// Stop when the validation log-loss has not improved for this many rounds. With a
    /// validation set the model is always truncated to its best round (0 = run all
    /// `maxRounds`, then truncate). Ignored without a validation set. With the defaults, 30
    /// keeps exactly the models that 50 kept on the anchor split and the five split seeds.
    public var earlyStoppingRounds: Int = 30
    /// Maximum depth of a tree (root = depth 0). Must be ≥ 1.
    public var maxDepth: Int = 6
    /// Maximum number of leaves per tree. Trees grow best-first (the leaf whose split gains
    /// most is split next, LightGBM's leaf-wise growth); with `maxLeaves >= 2^maxDepth` this is
    /// exactly depth-wise growth.
    public var maxLeaves: Int = 48
    /// Minimum sum of hessians (p·(1−p)·weight) in a child (XGBoost `min_child_weight`).
    public var minChildWeight: Double = 1
    /// Minimum number of training rows in a child (LightGBM `min_data_in_leaf`).
    public var minDataInLeaf: Int = 1
    /// L2 regularization on leaf values (λ).
    public var lambda: Double = 1
    /// L1 regularization on leaf values (α).
    public var alpha: Double = 0
    /// Minimum loss reduction to make a split (γ).
    public var minSplitGain: Double = 0
    /// Fraction of training rows drawn (Bernoulli, seeded) for each tree.
    public var subsample: Double = 1
    /// Fraction of features drawn (seeded) for each tree.
    public var colsampleByTree: Double = 0.8
    /// Fraction of the tree's features drawn (seeded) for each split.
    public var colsampleByNode: Double = 1
    /// Maximum histogram bins per numeric feature (quantile bins built once on the training
    /// rows; a feature with at most this many distinct values gets exact thresholds). With
    /// ≤ 255 every bin index (missing bin included) fits a byte and the bin matrix is UInt8.
    public var maxBins: Int = 4096
    /// Categorical splits: categories are sorted by G / (H + catSmooth) before the best
    /// prefix partition is searched (LightGBM `cat_smooth`).
    public var catSmooth: Double = 10
    /// Extra L2 added to λ when scoring a categorical partition (LightGBM `cat_l2`).
    public var catL2: Double = 10
    /// Categorical features with at most this many categories present in a node use
    /// one-vs-rest splits instead of the sorted partition (LightGBM `max_cat_to_onehot`).
    public var maxCatToOneHot: Int = 4
    /// Largest number of categories on the bitset (left) side of a sorted partition.
    public var maxCatThreshold: Int = 32
    /// Worker threads (at most 2 are used; `CreditCore.ForkJoin`): each thread owns part of a
    /// tree's features and builds, subtracts and scans their histograms; large nodes are
    /// partitioned in two halves; the loss/gradient pass and the scoring of the new tree on
    /// validation and out-of-bag rows run in two fixed halves. The model does not depend on
    /// the thread count.
    public var threads: Int = 2
    /// Progress reports the training log-loss on round 1, every `trainLossEvery` rounds and
    /// on the last round (0: only those two). It costs a logarithm per training row, so it is
    /// not computed on every round (the validation loss, which early stopping needs, is).
    public var trainLossEvery: Int = 10
    /// The trees' shape: nil or `.lossGuided` (the default: best-first, asymmetric) or
    /// `.oblivious` (symmetric: one split per level for all its nodes, CatBoost-style; the
    /// compiled evaluator then tests a level for 16 rows at once). Optional so parameters
    /// encoded before it existed still decode.
    public var treeShape: GBDTTreeShape? = nil
    /// How monotone constraints bound the leaves of loss-guided trees: nil or `.basic` (the
    /// default: by the midpoints of the monotone splits above a leaf) or `.intermediate` (by
    /// the values of the leaves it must stay in order with; docs/models.md has both measured).
    /// Oblivious trees use midpoint bounds, or projected leaves with `levelScore` cosine.
    /// Optional so parameters encoded before it existed still decode.
    public var monotoneMethod: GBDTMonotoneMethod? = nil
    /// How oblivious trees score a level: nil or `.gain` (the default: XGBoost's gain summed
    /// over the level's nodes, monotone features by midpoint bounds) or `.cosine` (CatBoost's
    /// `Cosine` score, monotone features by projecting the leaf values; GBDTCosineLevelSplit.swift).
    /// Loss-guided trees always use the gain. Optional so parameters encoded before it existed
    /// still decode.
    public var levelScore: GBDTLevelScore? = nil

    public init() {}

    /// Checks ranges; throws a `GBDTError.invalidParameter` naming the field.
    public func validate() throws {
        func bad(_ name: String, _ value: Any, _ why: String) -> GBDTError {
            .invalidParameter(name: name, value: "\(value)", reason: why)
        }
        guard learningRate > 0, learningRate.isFinite else { throw bad("learningRate", learningRate, "must be > 0") }
        guard maxRounds >= 1 else { throw bad("maxRounds", maxRounds, "must be >= 1") }
        guard earlyStoppingRounds >= 0 else { throw bad("earlyStoppingRounds", earlyStoppingRounds, "must be >= 0") }
        guard (1...30).contains(maxDepth) else { throw bad("maxDepth", maxDepth, "must be in 1...30") }
        guard maxLeaves >= 2 else { throw bad("maxLeaves", maxLeaves, "must be >= 2") }
        guard minChildWeight >= 0, minChildWeight.isFinite else { throw bad("minChildWeight", minChildWeight, "must be >= 0") }
        guard minDataInLeaf >= 1 else { throw bad("minDataInLeaf", minDataInLeaf, "must be >= 1") }
        guard lambda >= 0, lambda.isFinite else { throw bad("lambda", lambda, "must be >= 0") }
        guard alpha >= 0, alpha.isFinite else { throw bad("alpha", alpha, "must be >= 0") }
        guard minSplitGain >= 0, minSplitGain.isFinite else { throw bad("minSplitGain", minSplitGain, "must be >= 0") }
        guard subsample > 0, subsample <= 1 else { throw bad("subsample", subsample, "must be in (0, 1]") }
        guard colsampleByTree > 0, colsampleByTree <= 1 else { throw bad("colsampleByTree", colsampleByTree, "must be in (0, 1]") }
        guard colsampleByNode > 0, colsampleByNode <= 1 else { throw bad("colsampleByNode", colsampleByNode, "must be in (0, 1]") }
        guard (2...65_535).contains(maxBins) else { throw bad("maxBins", maxBins, "must be in 2...65535") }
        guard catSmooth >= 0, catL2 >= 0 else { throw bad("catSmooth/catL2", "\(catSmooth)/\(catL2)", "must be >= 0") }
        guard maxCatToOneHot >= 0, maxCatThreshold >= 1 else { throw bad("maxCatThreshold", maxCatThreshold, "must be >= 1") }
        guard threads >= 1 else { throw bad("threads", threads, "must be >= 1") }
        guard trainLossEvery >= 0 else { throw bad("trainLossEvery", trainLossEvery, "must be >= 0") }
    }
}

/// How `GBDTLearner` grows a tree (`GBDTParameters.treeShape`).
public enum GBDTTreeShape: String, Codable, Sendable, CaseIterable {
    /// Best-first (leaf-wise) up to `maxLeaves` leaves within `maxDepth` (`GBDTTreeLearner.grow`).
    case lossGuided = "loss-guided"
    /// Symmetric: every level splits all its nodes on one (feature, threshold, missing side),
    /// chosen by the gain summed over the level's nodes (`GBDTTreeLearner.growOblivious`);
    /// `maxDepth` levels at most (`maxLeaves` is not used).
    case oblivious
}

/// How monotone constraints bound leaf values (`GBDTParameters.monotoneMethod`; LightGBM's
/// `monotone_constraints_method`, of which these are the first two).
public enum GBDTMonotoneMethod: String, Codable, Sendable, CaseIterable {
    /// XGBoost's and LightGBM's "basic": a monotone split's children, and everything below
    /// them, stay on their side of the midpoint of the two children's values.
    case basic
    /// LightGBM's "intermediate" (`GBDTMonotoneBounds`): a leaf stays between the values of
    /// the leaves it must be in order with, updated as they split.
    case intermediate
}

/// How oblivious trees score a level's candidates (`GBDTParameters.levelScore`).
public enum GBDTLevelScore: String, Codable, Sendable, CaseIterable {
    /// The second-order gain summed over the level's nodes (`GBDTSplitFinder.findLevelSplit`).
    case gain
    /// CatBoost's `Cosine` score function (`GBDTSplitFinder.findCosineLevelSplit`).
    case cosine
}

/// Errors of the GBDT learner: bad hyperparameters or bad training input.
public enum GBDTError: Error, CustomStringConvertible, Equatable {
    case invalidParameter(name: String, value: String, reason: String)
    /// A label that is not 0 or 1.
    case invalidLabel(row: Int, value: Float)
    /// A weight that is negative, NaN or infinite.
    case invalidWeight(row: Int, value: Float)
    /// A categorical cell that is not NaN and not an integer code in 0...cardinality.
    case invalidCategory(row: Int, column: String, value: Float, cardinality: Int)
    case emptyTrainingSet
    case validationWidthMismatch(expected: Int, got: Int)
    /// All training weights are zero, or only one class carries weight.
    case degenerateLabels(positiveWeight: Double, totalWeight: Double)

    public var description: String {
        switch self {
        case let .invalidParameter(name, value, reason):
            return "gbdt: parameter \(name) = \(value) \(reason)"
        case let .invalidLabel(row, value):
            return "gbdt: row \(row): label \(value) is not 0 or 1"
        case let .invalidWeight(row, value):
            return "gbdt: row \(row): weight \(value) must be finite and >= 0"
        case let .invalidCategory(row, column, value, cardinality):
            return "gbdt: row \(row), column \(column): category code \(value) is not an integer in 0...\(cardinality) or NaN"
        case .emptyTrainingSet:
            return "gbdt: the training set has no rows"
        case let .validationWidthMismatch(expected, got):
            return "gbdt: validation has \(got) columns, training has \(expected)"
        case let .degenerateLabels(positiveWeight, totalWeight):
            return "gbdt: training labels are degenerate (positive weight \(positiveWeight) of \(totalWeight)); both classes are needed"
        }
    }
}
