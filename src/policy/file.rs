//! Policy files: TOML parsing with bounds, strict keys and errors that name file, line and column.
//!
//! The same schema serves the global `policy.toml` and a repository's `.holdfast.toml`; which
//! settings take effect from a repository file is decided by [`super::merge`] (tighten-only).
//! See the crate README ("Policy") for the documented schema.

use std::fmt;
use std::io::Read;
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use toml::Spanned;

use super::pattern::{MatchKind, Pattern};
use crate::audit::segments::{MIN_SEGMENT_BYTES, SegmentPolicy};

/// Largest policy file accepted.
pub(crate) const MAX_FILE_BYTES: u64 = 1024 * 1024;
/// Most patterns (`allow` + `deny` + `hold`) one file may hold.
pub(crate) const MAX_PATTERNS: usize = 10_000;
/// Longest pattern or reason, in bytes.
pub(crate) const MAX_PATTERN_BYTES: usize = 4096;
/// Bounds of `hold_expiry_secs`: one second to one day.
pub(crate) const HOLD_EXPIRY_RANGE: std::ops::RangeInclusive<u64> = 1..=86_400;
/// Default `hold_expiry_secs`.
pub(crate) const DEFAULT_HOLD_EXPIRY_SECS: u64 = 600;
/// Bounds of `[daemon] batch_ms`.
pub(crate) const BATCH_MS_RANGE: std::ops::RangeInclusive<u64> = 1..=1000;
/// Default `[daemon] batch_ms`.
pub(crate) const DEFAULT_BATCH_MS: u64 = 5;

/// How held and risky commands are treated. Ordered from loosest to strictest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Everything is allowed and risky commands are flagged. Global policy only.
    Notify,
    /// A human is near: ambiguous and catastrophic commands are held (the default).
    #[default]
    Attended,
    /// Nobody is near: ambiguous and catastrophic commands are denied.
    Unattended,
}

impl Mode {
    /// The schema name of this mode.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Notify => "notify",
            Mode::Attended => "attended",
            Mode::Unattended => "unattended",
        }
    }
}

/// When audit records reach the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Durability {
    /// Every decision is synced before it is answered (the default).
    #[default]
    Always,
    /// Syncs at most every `batch_ms`.
    Batch,
}

/// The `[daemon]` table: daemon-wide settings, global policy only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DaemonSettings {
    /// When audit records are made durable.
    pub durability: Durability,
    /// With `batch`: the longest time between two syncs, in ms.
    pub batch_ms: u64,
    /// `tcp = "127.0.0.1:PORT"`: also serve the protocol on this TCP address, each connection
    /// gated by the token (off when absent). An IP literal; port 0 picks a free port.
    pub tcp: Option<std::net::SocketAddr>,
    /// `tcp_allow_remote = true`: the admin's explicit consent to a `tcp` address that is not
    /// loopback. Without it such an address is refused.
    pub tcp_allow_remote: bool,
}

impl Default for DaemonSettings {
    fn default() -> Self {
        DaemonSettings {
            durability: Durability::Always,
            batch_ms: DEFAULT_BATCH_MS,
            tcp: None,
            tcp_allow_remote: false,
        }
    }
}

/// The `[notify]` table: a program the daemon runs when a command is held, global policy only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotifySettings {
    /// Program and arguments, run directly (never through a shell); `{id}`, `{class}`, `{rule}`,
    /// `{reason}`, `{agent}`, `{cwd}`, `{command}` in an argument are replaced by the hold's fields.
    pub command: Vec<String>,
    /// The program is killed after this many seconds.
    pub timeout_secs: u64,
}

/// Most arguments in a `[notify] command`.
const MAX_NOTIFY_ARGS: usize = 64;
/// Allowed `[notify] timeout_secs`.
const NOTIFY_TIMEOUT_RANGE: std::ops::RangeInclusive<u64> = 1..=300;

/// Where a setting or rule was written: file and 1-based line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// The policy file.
    pub path: PathBuf,
    /// 1-based line.
    pub line: usize,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} line {}", self.path.display(), self.line)
    }
}

/// A setting's value and where it was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting<T> {
    /// The value.
    pub value: T,
    /// Where it was written.
    pub origin: Origin,
}

/// One `[[allow]]`, `[[deny]]` or `[[hold]]` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleEntry {
    /// What the entry matches.
    pub pattern: Pattern,
    /// The admin's sentence explaining the rule, if given.
    pub reason: Option<String>,
    /// Where it was written.
    pub origin: Origin,
}

impl RuleEntry {
    /// `glob pattern "git push * main" at /etc/policy.toml line 7`.
    pub fn describe(&self) -> String {
        format!("{} pattern \"{}\" at {}", self.pattern.kind().as_str(), self.pattern.text(), self.origin)
    }
}

/// A parsed, validated policy file. Absent settings are `None`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyFile {
    /// Where the file was read from.
    pub path: PathBuf,
    /// `mode`, if set.
    pub mode: Option<Setting<Mode>>,
    /// `hold_expiry_secs`, if set.
    pub hold_expiry_secs: Option<Setting<u64>>,
    /// `fail_closed`, if set.
    pub fail_closed: Option<Setting<bool>>,
    /// The `[[allow]]` entries.
    pub allow: Vec<RuleEntry>,
    /// The `[[deny]]` entries.
    pub deny: Vec<RuleEntry>,
    /// The `[[hold]]` entries.
    pub hold: Vec<RuleEntry>,
    /// The `[daemon]` table, if present.
    pub daemon: Option<Setting<DaemonSettings>>,
    /// The `[notify]` table, if present.
    pub notify: Option<Setting<NotifySettings>>,
    /// The `[audit]` table: segments, retention, compression (global policy only).
    pub audit: Option<Setting<SegmentPolicy>>,
}

/// Why a policy file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// The file could not be read.
    #[error("cannot read policy file {}: {source}", path.display())]
    Io {
        /// The policy file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The file is over the size limit.
    #[error("policy file {} is larger than the limit of {MAX_FILE_BYTES} bytes", path.display())]
    TooLarge {
        /// The policy file.
        path: PathBuf,
    },
    /// The file is not valid TOML or breaks the schema.
    #[error("policy file {} line {line} column {column}: {message}", path.display())]
    Invalid {
        /// The policy file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What is wrong.
        message: String,
    },
}

impl PolicyError {
    /// Why the daemon will not start with this error in the global policy, and what to do.
    pub fn refusal(&self) -> String {
        format!(
            "{self}\nholdfast will not start with a global policy it cannot read (it would run without your \
             rules). Fix the file (`holdfast doctor` checks it), then start again."
        )
    }

    /// The file the error is about.
    pub fn path(&self) -> &Path {
        match self {
            PolicyError::Io { path, .. } | PolicyError::TooLarge { path } | PolicyError::Invalid { path, .. } => path,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    mode: Option<Spanned<Mode>>,
    hold_expiry_secs: Option<Spanned<u64>>,
    fail_closed: Option<Spanned<bool>>,
    #[serde(default)]
    allow: Vec<Spanned<RawRule>>,
    #[serde(default)]
    deny: Vec<Spanned<RawRule>>,
    #[serde(default)]
    hold: Vec<Spanned<RawRule>>,
    daemon: Option<Spanned<RawDaemon>>,
    notify: Option<Spanned<RawNotify>>,
    audit: Option<Spanned<RawAudit>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNotify {
    command: Spanned<Vec<String>>,
    timeout_secs: Option<Spanned<u64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    pattern: Spanned<String>,
    #[serde(rename = "match", default)]
    kind: MatchKind,
    reason: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAudit {
    segment_bytes: Option<Spanned<u64>>,
    segment_age: Option<Spanned<String>>,
    retain_segments: Option<u64>,
    retain_days: Option<u64>,
    compress: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDaemon {
    durability: Option<Durability>,
    batch_ms: Option<Spanned<u64>>,
    tcp: Option<Spanned<String>>,
    tcp_allow_remote: Option<bool>,
}

/// Byte offset → 1-based (line, column in characters).
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let mut offset = offset;
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
    (line, column)
}

impl PolicyFile {
    /// Reads and parses `path`, refusing files over `MAX_FILE_BYTES`.
    pub fn load(path: &Path) -> Result<PolicyFile, PolicyError> {
        let io = |source| PolicyError::Io { path: path.to_path_buf(), source };
        let file = std::fs::File::open(path).map_err(io)?;
        let mut bytes = Vec::new();
        // Read one byte past the limit so a file that grows while we read is still caught.
        file.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes).map_err(io)?;
        if bytes.len() as u64 > MAX_FILE_BYTES {
            return Err(PolicyError::TooLarge { path: path.to_path_buf() });
        }
        let text = match String::from_utf8(bytes) {
            Ok(t) => t,
            Err(e) => {
                let valid = e.utf8_error().valid_up_to();
                let bytes = e.into_bytes();
                let prefix = String::from_utf8_lossy(&bytes[..valid]);
                let (line, column) = line_col(&prefix, prefix.len());
                return Err(PolicyError::Invalid {
                    path: path.to_path_buf(),
                    line,
                    column,
                    message: "the file is not valid UTF-8".into(),
                });
            }
        };
        PolicyFile::parse(path, &text)
    }

    /// Like [`PolicyFile::load`], but a missing file is `Ok(None)`.
    pub fn load_optional(path: &Path) -> Result<Option<PolicyFile>, PolicyError> {
        match PolicyFile::load(path) {
            Err(PolicyError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => Ok(None),
            other => other.map(Some),
        }
    }

    /// Parses policy text; `path` is used for origins and error messages.
    pub fn parse(path: &Path, text: &str) -> Result<PolicyFile, PolicyError> {
        let invalid = |span: Range<usize>, message: String| {
            let (line, column) = line_col(text, span.start);
            PolicyError::Invalid { path: path.to_path_buf(), line, column, message }
        };
        if text.len() as u64 > MAX_FILE_BYTES {
            return Err(PolicyError::TooLarge { path: path.to_path_buf() });
        }
        let raw: RawFile =
            toml::from_str(text).map_err(|e| invalid(e.span().unwrap_or(0..0), e.message().trim_end().to_string()))?;
        let origin = |span: Range<usize>| Origin { path: path.to_path_buf(), line: line_col(text, span.start).0 };
        let setting = |s: Spanned<_>| Setting { origin: origin(s.span()), value: s.into_inner() };

        let total = raw.allow.len() + raw.deny.len() + raw.hold.len();
        if total > MAX_PATTERNS {
            let last = [&raw.allow, &raw.deny, &raw.hold].into_iter().flatten().map(|r| r.span().start).max();
            return Err(invalid(
                last.unwrap_or(0)..0,
                format!("{total} patterns; the limit is {MAX_PATTERNS} per file"),
            ));
        }
        let rules = |list: Vec<Spanned<RawRule>>| -> Result<Vec<RuleEntry>, PolicyError> {
            list.into_iter()
                .map(|entry| {
                    let span = entry.span();
                    let rule = entry.into_inner();
                    let pspan = rule.pattern.span();
                    let source = rule.pattern.into_inner();
                    if source.len() > MAX_PATTERN_BYTES {
                        return Err(invalid(pspan, format!("pattern is longer than {MAX_PATTERN_BYTES} bytes")));
                    }
                    let pattern = Pattern::new(rule.kind, &source)
                        .ok_or_else(|| invalid(pspan.clone(), "pattern is empty".to_string()))?;
                    let reason = match rule.reason {
                        Some(r) if r.get_ref().len() > MAX_PATTERN_BYTES => {
                            return Err(invalid(r.span(), format!("reason is longer than {MAX_PATTERN_BYTES} bytes")));
                        }
                        Some(r) => Some(r.into_inner().trim().to_string()).filter(|r| !r.is_empty()),
                        None => None,
                    };
                    Ok(RuleEntry { pattern, reason, origin: origin(span) })
                })
                .collect()
        };
        let hold_expiry_secs = match raw.hold_expiry_secs {
            Some(s) if !HOLD_EXPIRY_RANGE.contains(s.get_ref()) => {
                return Err(invalid(
                    s.span(),
                    format!(
                        "hold_expiry_secs = {} is out of range {}..={}",
                        s.get_ref(),
                        HOLD_EXPIRY_RANGE.start(),
                        HOLD_EXPIRY_RANGE.end()
                    ),
                ));
            }
            other => other.map(setting),
        };
        let daemon = match raw.daemon {
            Some(d) => {
                let span = d.span();
                let d = d.into_inner();
                let batch_ms = match d.batch_ms {
                    Some(b) if !BATCH_MS_RANGE.contains(b.get_ref()) => {
                        return Err(invalid(
                            b.span(),
                            format!(
                                "batch_ms = {} is out of range {}..={}",
                                b.get_ref(),
                                BATCH_MS_RANGE.start(),
                                BATCH_MS_RANGE.end()
                            ),
                        ));
                    }
                    Some(b) => b.into_inner(),
                    None => DEFAULT_BATCH_MS,
                };
                let tcp_allow_remote = d.tcp_allow_remote.unwrap_or(false);
                let tcp = match d.tcp {
                    Some(t) => Some(tcp_address(t, tcp_allow_remote, &invalid)?),
                    None => None,
                };
                Some(Setting {
                    origin: origin(span),
                    value: DaemonSettings {
                        durability: d.durability.unwrap_or_default(),
                        batch_ms,
                        tcp,
                        tcp_allow_remote,
                    },
                })
            }
            None => None,
        };
        let notify = match raw.notify {
            Some(n) => Some(Setting { origin: origin(n.span()), value: notify_settings(n.into_inner(), &invalid)? }),
            None => None,
        };
        let audit = match raw.audit {
            Some(a) => Some(Setting { origin: origin(a.span()), value: audit_settings(a.into_inner(), &invalid)? }),
            None => None,
        };
        Ok(PolicyFile {
            audit,
            path: path.to_path_buf(),
            mode: raw.mode.map(|s| Setting { origin: origin(s.span()), value: s.into_inner() }),
            hold_expiry_secs,
            fail_closed: raw.fail_closed.map(|s| Setting { origin: origin(s.span()), value: s.into_inner() }),
            allow: rules(raw.allow)?,
            deny: rules(raw.deny)?,
            hold: rules(raw.hold)?,
            daemon,
            notify,
        })
    }
}

/// Checks `[daemon] tcp`: an IP address and port, loopback unless `tcp_allow_remote` says otherwise.
fn tcp_address(
    raw: Spanned<String>,
    allow_remote: bool,
    invalid: &dyn Fn(Range<usize>, String) -> PolicyError,
) -> Result<std::net::SocketAddr, PolicyError> {
    let span = raw.span();
    // An IP literal, never a name: what the daemon binds must not depend on a resolver.
    let addr: std::net::SocketAddr = raw.get_ref().parse().map_err(|_| {
        invalid(
            span.clone(),
            format!("tcp = {:?} is not an IP address and port, e.g. \"127.0.0.1:7474\"", raw.get_ref()),
        )
    })?;
    // Loopback only by default: the token alone should not be all that guards a port open to a network.
    if !addr.ip().is_loopback() && !allow_remote {
        return Err(invalid(
            span,
            format!(
                "tcp = \"{addr}\" is not a loopback address; holdfast refuses to listen beyond this machine unless \
                 the admin also sets tcp_allow_remote = true"
            ),
        ));
    }
    Ok(addr)
}

/// Checks an `[audit]` table: `segment_bytes` at least [`MIN_SEGMENT_BYTES`], `segment_age` a
/// duration (`"7d"`, `"12h"`) of at least a second; absent keys take their defaults.
fn audit_settings(
    raw: RawAudit,
    invalid: &dyn Fn(Range<usize>, String) -> PolicyError,
) -> Result<SegmentPolicy, PolicyError> {
    let d = SegmentPolicy::default();
    let segment_bytes = match raw.segment_bytes {
        Some(b) if *b.get_ref() < MIN_SEGMENT_BYTES => {
            return Err(invalid(b.span(), format!("segment_bytes = {} is below {MIN_SEGMENT_BYTES}", b.get_ref())));
        }
        Some(b) => b.into_inner(),
        None => d.segment_bytes,
    };
    let segment_age = match raw.segment_age {
        Some(a) => match humantime::parse_duration(a.get_ref()) {
            Ok(age) if age >= std::time::Duration::from_secs(1) => age,
            _ => {
                return Err(invalid(
                    a.span(),
                    format!(
                        "segment_age = {:?} is not a duration of at least 1s (like \"7d\" or \"12h\")",
                        a.get_ref()
                    ),
                ));
            }
        },
        None => d.segment_age,
    };
    Ok(SegmentPolicy {
        segment_bytes,
        segment_age,
        retain_segments: raw.retain_segments.unwrap_or(d.retain_segments),
        retain_days: raw.retain_days.unwrap_or(d.retain_days),
        compress: raw.compress.unwrap_or(d.compress),
    })
}

/// Checks a `[notify]` table: a non-empty program, bounded arguments, a timeout in range.
fn notify_settings(
    raw: RawNotify,
    invalid: &dyn Fn(Range<usize>, String) -> PolicyError,
) -> Result<NotifySettings, PolicyError> {
    let span = raw.command.span();
    let command = raw.command.into_inner();
    if command.first().is_none_or(|p| p.trim().is_empty()) {
        return Err(invalid(span, "[notify] command needs a program: command = [\"program\", \"arg\", …]".into()));
    }
    if command.len() > MAX_NOTIFY_ARGS || command.iter().any(|a| a.len() > MAX_PATTERN_BYTES || a.contains('\0')) {
        return Err(invalid(
            span,
            format!("[notify] command: at most {MAX_NOTIFY_ARGS} arguments of {MAX_PATTERN_BYTES} bytes, no NUL"),
        ));
    }
    let timeout_secs = match raw.timeout_secs {
        Some(t) if !NOTIFY_TIMEOUT_RANGE.contains(t.get_ref()) => {
            return Err(invalid(t.span(), format!("timeout_secs = {} is out of range 1..=300", t.get_ref())));
        }
        Some(t) => t.into_inner(),
        None => 10,
    };
    Ok(NotifySettings { command, timeout_secs })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<PolicyFile, PolicyError> {
        PolicyFile::parse(Path::new("/p/policy.toml"), text)
    }

    fn err_at(text: &str) -> (usize, usize, String) {
        match parse(text) {
            Err(PolicyError::Invalid { line, column, message, .. }) => (line, column, message),
            other => panic!("expected Invalid, got {other:?}"),
        }
    }

    #[test]
    fn audit_tables_are_checked() {
        let f = parse("[audit]\nsegment_bytes = 1048576\nsegment_age = \"12h\"\nretain_days = 90\n").unwrap();
        let a = f.audit.unwrap().value;
        assert_eq!((a.segment_bytes, a.segment_age.as_secs(), a.retain_days), (1 << 20, 43_200, 90));
        assert_eq!((a.retain_segments, a.compress), (0, true));
        assert!(err_at("[audit]\nsegment_bytes = 10\n").2.contains("below"));
        assert_eq!(err_at("[audit]\n\nsegment_age = \"soon\"\n").0, 3);
        assert!(err_at("[audit]\nkeep = 1\n").2.contains("unknown field"));
    }

    #[test]
    fn notify_tables_are_checked() {
        let f = parse("[notify]\ncommand = [\"ntfy\", \"publish\", \"t\", \"{command}\"]\n").unwrap();
        let n = f.notify.unwrap().value;
        assert_eq!((n.command.len(), n.timeout_secs), (4, 10));
        assert_eq!(err_at("mode = \"attended\"\n[notify]\ncommand = []\n").0, 3);
        assert!(err_at("[notify]\ncommand = [\" \"]\n").2.contains("needs a program"));
        assert!(err_at("[notify]\ncommand = [\"x\"]\ntimeout_secs = 0\n").2.contains("out of range"));
        assert!(err_at("[notify]\ncommand = [\"x\"]\nshell = true\n").2.contains("unknown field"));
    }

    #[test]
    fn empty_file_is_all_defaults() {
        let f = parse("").unwrap();
        assert!(f.mode.is_none() && f.hold_expiry_secs.is_none() && f.fail_closed.is_none() && f.daemon.is_none());
        assert!(f.allow.is_empty() && f.deny.is_empty() && f.hold.is_empty());
    }

    #[test]
    fn full_schema_parses_with_lines() {
        let f = parse(
            "mode = \"unattended\"\nhold_expiry_secs = 120\nfail_closed = true\n\n[[allow]]\npattern = \"make deploy-staging\"\n\n[[deny]]\npattern = \"git push * main\"\nmatch = \"glob\"\nreason = \"CI pushes to main\"\n\n[[hold]]\npattern = \"terraform apply\"\nmatch = \"prefix\"\n\n[daemon]\ndurability = \"batch\"\nbatch_ms = 7\n",
        )
        .unwrap();
        assert_eq!(f.mode.as_ref().unwrap().value, Mode::Unattended);
        assert_eq!(f.mode.as_ref().unwrap().origin.line, 1);
        assert_eq!(f.hold_expiry_secs.as_ref().unwrap().value, 120);
        assert!(f.fail_closed.as_ref().unwrap().value);
        assert_eq!(f.allow[0].pattern.kind(), MatchKind::Exact);
        assert_eq!(f.deny[0].pattern.kind(), MatchKind::Glob);
        assert_eq!(f.deny[0].reason.as_deref(), Some("CI pushes to main"));
        assert_eq!(f.deny[0].origin.line, 8); // the [[deny]] header
        assert_eq!(f.hold[0].pattern.kind(), MatchKind::Prefix);
        let d = f.daemon.unwrap().value;
        assert_eq!(
            d,
            DaemonSettings { durability: Durability::Batch, batch_ms: 7, tcp: None, tcp_allow_remote: false }
        );
    }

    #[test]
    fn tcp_is_loopback_unless_remote_is_allowed_explicitly() {
        let d = parse("[daemon]\ntcp = \"127.0.0.1:7474\"\n").unwrap().daemon.unwrap().value;
        assert_eq!(d.tcp, Some("127.0.0.1:7474".parse().unwrap()));
        let d = parse("[daemon]\ntcp = \"[::1]:0\"\n").unwrap().daemon.unwrap().value;
        assert_eq!(d.tcp, Some("[::1]:0".parse().unwrap()));
        for remote in ["0.0.0.0:7474", "192.168.1.2:7474", "[::]:7474"] {
            let (line, _, msg) = err_at(&format!("[daemon]\ntcp = \"{remote}\"\n"));
            assert_eq!(line, 2);
            assert!(msg.contains("tcp_allow_remote = true"), "{msg}");
        }
        let d = parse("[daemon]\ntcp = \"0.0.0.0:7474\"\ntcp_allow_remote = true\n").unwrap().daemon.unwrap().value;
        assert!(d.tcp_allow_remote && d.tcp == Some("0.0.0.0:7474".parse().unwrap()));
        assert!(err_at("[daemon]\ntcp = \"localhost:7474\"\n").2.contains("not an IP address"));
    }

    #[test]
    fn unknown_keys_are_errors_with_position() {
        let (line, col, msg) = err_at("mode = \"attended\"\nmdoe = \"notify\"\n");
        assert_eq!((line, col), (2, 1));
        assert!(msg.contains("mdoe"), "{msg}");
        let (line, _, msg) = err_at("[[deny]]\npattern = \"x\"\nmatches = \"glob\"\n");
        assert_eq!(line, 3);
        assert!(msg.contains("matches"), "{msg}");
        let (line, _, _) = err_at("[daemon]\ndurabilty = \"batch\"\n");
        assert_eq!(line, 2);
    }

    #[test]
    fn bad_values_are_errors_with_position() {
        let (line, col, msg) = err_at("mode = \"sometimes\"\n");
        assert_eq!((line, col), (1, 8));
        assert!(msg.contains("sometimes") || msg.contains("variant"), "{msg}");
        assert_eq!(err_at("\n[[deny]]\npattern = \"x\"\nmatch = \"regex\"\n").0, 4);
        assert_eq!(err_at("hold_expiry_secs = 0\n").0, 1);
        assert_eq!(err_at("x\nhold_expiry_secs = 100000\n").0, 1); // syntax error first
        assert_eq!(err_at("fail_closed = \"yes\"\n").0, 1);
        assert_eq!(err_at("[daemon]\nbatch_ms = 0\n").0, 2);
        assert_eq!(err_at("[[deny]]\npattern = \"   \"\n").0, 2);
        assert_eq!(err_at("[[deny]]\nmatch = \"glob\"\n").0, 1);
        let long = "x".repeat(MAX_PATTERN_BYTES + 1);
        assert_eq!(err_at(&format!("\n\n[[deny]]\npattern = \"{long}\"\n")).0, 4);
    }

    #[test]
    fn syntax_error_line_and_column() {
        let (line, col, _) = err_at("mode = \"attended\"\nfail_closed = tru\n");
        assert_eq!(line, 2);
        assert!(col >= 15, "{col}");
    }

    #[test]
    fn pattern_count_is_bounded() {
        let mut text = String::new();
        for i in 0..=MAX_PATTERNS {
            text.push_str(&format!("[[deny]]\npattern = \"p{i}\"\n"));
        }
        let (_, _, msg) = err_at(&text);
        assert!(msg.contains("limit"), "{msg}");
    }

    #[test]
    fn line_col_counts_characters() {
        assert_eq!(line_col("ab\ncdé f", 9), (2, 6));
        assert_eq!(line_col("", 0), (1, 1));
        assert_eq!(line_col("abc", 99), (1, 4));
    }

    #[test]
    fn mode_order_is_strictness() {
        assert!(Mode::Notify < Mode::Attended && Mode::Attended < Mode::Unattended);
    }
}
