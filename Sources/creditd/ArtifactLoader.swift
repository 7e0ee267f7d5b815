import CreditModelServing
import CreditService

/// Loads a `.credit` artifact as a `ScoringBackend` (CreditModels' `ScoringModel` through
/// `ScoringModelBackend`); with `--trusted-keys DIR`, only artifacts signed by a key in DIR.
func artifactLoader(trustedKeys: String?) -> ModelLoader { ScoringModelBackend.loader(trustedKeys: trustedKeys) }
