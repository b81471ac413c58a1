//! Placeholder until the classifier branch lands: everything is ambiguous.

/// Ordered classes: safe < ambiguous < catastrophic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Class {
    Safe,
    Ambiguous,
    Catastrophic,
}
