import CreditServer

/// Loads a `.credit` artifact as a `ScoringBackend`.
///
/// MERGE POINT: CreditModels' `ScoringModel` (being written in parallel) is adapted here
/// with one small `ScoringBackend` adapter. Until then every load fails with this message,
/// so `creditd` runs (live, not ready) but cannot load a model.
let artifactLoader: ModelLoader = { path in
    throw ArtifactLoaderMissing(path: path)
}

struct ArtifactLoaderMissing: Error, CustomStringConvertible {
    var path: String
    var description: String {
        "cannot load '\(path)': this build has no .credit artifact loader yet (CreditModels' ScoringModel adapter lands at merge)"
    }
}
