import CreditModelServing
import CreditService

/// Loads a `.credit` artifact as a `ScoringBackend` (CreditModels' `ScoringModel` through
/// `ScoringModelBackend`).
let artifactLoader: ModelLoader = ScoringModelBackend.loader
