//! Policy: policy files, patterns, the tighten-only merge and the decision matrix (DESIGN §4).
//!
//! A proposed command's verdict is `decide(DecideInput { .. })`, fed by:
//! [`Policy`] (the global `policy.toml`, compiled once at start and on reload),
//! [`RepoPolicy`] (the nearest `.holdfast.toml`, found by [`find_repo_policy`]),
//! [`Effective::new`] (the merge, tighten-only, with loosening attempts reported) and
//! [`Effective::check`] (which pattern matches the command line).
//!
//! # Schema (both files; see [`merge`] for what a repository file may change)
//!
//! ```toml
//! mode = "attended"        # attended | unattended | notify (notify: global only). Default attended.
//! hold_expiry_secs = 600   # held commands expire (and are denied) after this; 1..=86400
//! fail_closed = false      # hooks deny everything when the daemon is unreachable
//!
//! [[allow]]                # global only: lowers ambiguous → safe; never touches catastrophic
//! pattern = "make deploy-staging"
//! match = "exact"          # exact (default) | prefix | glob
//!
//! [[hold]]                 # raises a matching command to at least ambiguous (held when attended)
//! pattern = "terraform apply"
//! match = "prefix"
//! reason = "infrastructure changes need a human"
//!
//! [[deny]]                 # always denies
//! pattern = "git push * main"
//! match = "glob"
//! reason = "pushing to main is done by CI"
//!
//! [daemon]                 # global only
//! durability = "always"    # always | batch
//! batch_ms = 5             # 1..=1000, with batch
//! ```
//!
//! Unknown keys are errors. Limits: file ≤ 1 MiB, ≤ 10,000 patterns per file, pattern and reason
//! ≤ 4 KiB each. Matching rules are in [`pattern`].

pub mod cache;
pub mod carry;
pub mod decide;
pub(crate) mod discover;
pub mod file;
pub mod merge;
pub mod pattern;

pub use cache::{RepoCache, RepoLookup};
pub use decide::{DecideInput, Decided, decide};
pub use discover::{Discovery, REPO_FILE_NAME, discover, find_repo_policy, memory_scope, repo_root};
pub use file::{DaemonSettings, Durability, Mode, NotifySettings, Origin, PolicyError, PolicyFile, RuleEntry};
pub use merge::{Effective, Policy, PolicyMatch, RepoPolicy};
pub use pattern::{MatchKind, Pattern};

/// The repository policy that governs `cwd`: `Ok(None)` when there is none, `Err` when the nearest
/// `.holdfast.toml` cannot be used (callers deny via [`PolicyMatch::Broken`]).
pub fn repo_policy_for(cwd: &std::path::Path) -> Result<Option<RepoPolicy>, PolicyError> {
    find_repo_policy(cwd).map(|p| RepoPolicy::load(&p)).transpose()
}
