//! Lexical path normalisation and classification (no file system access).

use std::borrow::Cow;

use super::text;

/// What a path argument designates, from the point of view of deletion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PathKind {
    /// `/`, `/*`, `/.*`
    Root,
    /// `~`, `~/`, `~/*`, `$HOME`, `/home/user`, `/Users/user`, `/root`
    Home,
    /// A direct child of the home directory: `~/Documents`, `~/.config`.
    HomeTop,
    /// A cache directory directly under home: `~/.cache`, `~/.npm`.
    HomeCache,
    /// Deeper under home: `~/src/app/lib`.
    HomePath,
    /// `.`, `./`, `*`, `./*`, `.*`
    Cwd,
    /// `..`, `../`, `../*`, `../..`
    Parent,
    /// A `.git` directory.
    GitDir,
    /// A top-level system directory or its direct children: `/etc`, `/usr/*`, `/usr/lib`.
    SystemDir,
    /// Deeper inside a system directory: `/etc/nginx/nginx.conf`.
    SystemPath,
    /// `/tmp`, `/tmp/*`, `/var/tmp`.
    TmpRoot,
    /// Inside a temporary directory: `/tmp/build-1234`.
    Tmp,
    /// A regenerable build artefact: `node_modules`, `target`, `./build`, `dist/*`.
    Artifact,
    /// Another relative path: `src/old`, `notes.txt`.
    Relative,
    /// Starts with an unknown variable: `$DIR/`, `${OUT}/x`.
    Variable,
    /// A block device: `/dev/sda`, `/dev/nvme0n1`.
    Device,
    /// A harmless device: `/dev/null`, `/dev/stdout`.
    DevNull,
    /// Some other absolute path: `/data/x`.
    OtherAbs,
}

/// Top-level directories of the system (`/etc`, `/usr`, …).
// A `match` on literals compiles to inline length-and-bytes tests; `[&str]::contains`
// calls memcmp for every entry of the same length.
fn is_system_top(s: &str) -> bool {
    matches!(
        s,
        "bin"
            | "boot"
            | "dev"
            | "etc"
            | "lib"
            | "lib32"
            | "lib64"
            | "libx32"
            | "opt"
            | "proc"
            | "sbin"
            | "sys"
            | "usr"
            | "var"
            | "srv"
            | "mnt"
            | "media"
            | "snap"
            | "System"
            | "Library"
            | "Applications"
            | "private"
            | "Volumes"
            | "nix"
            | "home"
            | "Users"
            | "run"
            | "cores"
    )
}

/// Names of regenerable build artefacts (whole path segments, or the whole relative path).
// A `match` on literals compiles to inline length-and-bytes tests; `[&str]::contains`
// calls memcmp for every entry of the same length.
fn is_artifact(s: &str) -> bool {
    matches!(
        s,
        "node_modules"
            | "target"
            | "dist"
            | "build"
            | "out"
            | ".next"
            | ".nuxt"
            | ".output"
            | "coverage"
            | "__pycache__"
            | ".pytest_cache"
            | ".mypy_cache"
            | ".ruff_cache"
            | ".venv"
            | "venv"
            | ".tox"
            | ".cache"
            | ".turbo"
            | ".parcel-cache"
            | ".gradle"
            | ".terraform"
            | "obj"
            | ".angular"
            | ".svelte-kit"
            | ".eggs"
            | "_build"
            | ".dart_tool"
            | ".expo"
            | "DerivedData"
            | "htmlcov"
            | ".nyc_output"
            | "storybook-static"
            | ".docusaurus"
            | ".sass-cache"
            | "tmp"
            | "temp"
            | "bin"
            | "pkg"
            | "deps"
            | ".webpack"
            | ".vite"
            | "site"
            | "_site"
            | "public/build"
            | "cmake-build-debug"
            | "cmake-build-release"
            | ".pnpm-store"
            | ".yarn"
            | "Pods"
            | "vendor"
            | ".bundle"
            | "logs"
    )
}

/// Cache directories directly under home (`~/.cache`, `~/.npm`, …, and
/// `~/Library/Caches`), given `r`, the home-relative path: `r` is one of them
/// or lies below one.
fn home_cache(r: &str, first: &str) -> bool {
    // The one entry of two segments; every other entry is a whole first segment.
    r == "Library/Caches"
        || r.starts_with("Library/Caches/")
        || matches!(
            first,
            ".cache"
                | ".npm"
                | ".yarn"
                | ".pnpm-store"
                | ".m2"
                | ".gradle"
                | ".cargo"
                | ".rustup"
                | ".nvm"
                | ".pyenv"
                | ".local"
                | ".bun"
                | ".deno"
                | ".composer"
                | "go"
                | ".cocoapods"
                | ".node-gyp"
                | ".pip"
                | ".Trash"
                | "tmp"
                | ".tmp"
        )
}

/// Lexically normalise a path: `$HOME`/`/home/u`/`/root` become `~`,
/// duplicate slashes, `.` segments and trailing slashes are removed and `..`
/// is resolved for absolute and home paths.
pub(crate) fn normalize(p: &str) -> Cow<'_, str> {
    let (prefix, rest) = home_prefix(p);
    // Common cases without rebuilding: every segment is kept and at most one
    // trailing slash is dropped (`/etc/` → `/etc`, `~/src/` → `~/src`).
    if prefix.is_empty() {
        let body = if rest.len() > 1 { rest.strip_suffix('/').unwrap_or(rest) } else { rest };
        if clean(body) {
            return Cow::Borrowed(&p[..body.len()]);
        }
    } else {
        // `rest` is empty or starts with `/`.
        let body = rest.strip_suffix('/').unwrap_or(rest);
        if body.is_empty() || (body.len() > 1 && clean(body)) {
            // Only the home prefix is rewritten (`~/…` already is its own form).
            return if p.len() == rest.len() + 1 && p.starts_with('~') {
                Cow::Borrowed(&p[..1 + body.len()])
            } else {
                Cow::Owned(format!("~{body}"))
            };
        }
    }
    if !prefix.is_empty() || rest.starts_with('/') {
        return Cow::Owned(resolve_absolute(prefix, rest, p.len()));
    }
    Cow::Owned(resolve_relative(rest))
}

/// `~` and what follows it when `p` starts with the home directory in any spelling (`$HOME`,
/// `~user`, `/home/user`, `/Users/user`, `/root`); else `""` and `p`.
fn home_prefix(p: &str) -> (&'static str, &str) {
    let mut rest: &str = p;
    let mut prefix = "";
    if rest.starts_with('$') {
        for h in ["$HOME", "${HOME}", "$(echo ~)"] {
            if let Some(r) = rest.strip_prefix(h)
                && (r.is_empty() || r.starts_with('/'))
            {
                prefix = "~";
                rest = r;
                break;
            }
        }
    }
    if prefix.is_empty() {
        if let Some(r) = rest.strip_prefix('~') {
            // `~user/...` is some user's home too.
            let end = r.bytes().position(|c| c == b'/').unwrap_or(r.len());
            if r[..end].bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'-' || c == b'.') {
                prefix = "~";
                rest = &r[end..];
            }
        } else if rest.starts_with('/') {
            for h in ["/home/", "/Users/"] {
                if let Some(r) = rest.strip_prefix(h) {
                    let end = r.bytes().position(|c| c == b'/').unwrap_or(r.len());
                    let user = &r[..end];
                    if !user.is_empty() && !user.contains(['*', '?', '[']) && user != "Shared" {
                        prefix = "~";
                        rest = &r[end..];
                    }
                    break;
                }
            }
            if prefix.is_empty()
                && let Some(r) = rest.strip_prefix("/root")
                && (r.is_empty() || r.starts_with('/'))
            {
                prefix = "~";
                rest = r;
            }
        }
    }
    (prefix, rest)
}

/// `prefix` and `rest` with `.` and empty segments dropped and `..` resolved (an absolute or
/// home path: nothing goes above the root).
fn resolve_absolute(prefix: &str, rest: &str, len: usize) -> String {
    // The output itself is the stack of kept segments (`/seg` each, after
    // the `~` if any): `..` drops the last one.
    let mut out = String::with_capacity(len);
    out.push_str(prefix);
    let base = out.len();
    for seg in rest.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                if let Some(k) = out[base..].rfind('/') {
                    out.truncate(base + k);
                }
            }
            s => {
                out.push('/');
                out.push_str(s);
            }
        }
    }
    if out.is_empty() {
        out.push('/');
    }
    out
}

/// A relative path with `.` and empty segments dropped and `..` resolved where it can be.
fn resolve_relative(rest: &str) -> String {
    // Relative: a leading `.` or a run of leading `..` (what `..` cannot
    // resolve), then the kept segments, again stacked as `/seg` each.
    let mut dot = false;
    let mut ups = 0usize;
    let mut parts = String::with_capacity(rest.len() + 1);
    for seg in rest.split('/') {
        match seg {
            "" => {}
            "." => dot |= parts.is_empty() && ups == 0,
            ".." => match parts.rfind('/') {
                Some(k) => parts.truncate(k),
                None => {
                    dot = false;
                    ups += 1;
                }
            },
            s => {
                parts.push('/');
                parts.push_str(s);
            }
        }
    }
    let mut out = String::with_capacity(rest.len() + 1);
    if dot {
        out.push('.');
    }
    for k in 0..ups {
        out.push_str(if k == 0 { ".." } else { "/.." });
    }
    out.push_str(if out.is_empty() { parts.get(1..).unwrap_or("") } else { &parts });
    if out.is_empty() {
        out.push('.');
    }
    out
}

/// No segment to drop or resolve: no trailing slash (beyond a lone `/`) and
/// no `/` followed by `/`, `./`, `..` or `.` at the end. One scan instead of
/// a substring search for each.
fn clean(rest: &str) -> bool {
    let b = rest.as_bytes();
    let trailing_slash = b.len() > 1 && b[b.len() - 1] == b'/';
    !trailing_slash
        && !b.iter().enumerate().any(|(i, &c)| {
            c == b'/'
                && match b.get(i + 1) {
                    Some(b'/') => true,
                    Some(b'.') => matches!(b.get(i + 2), None | Some(b'/' | b'.')),
                    _ => false,
                }
        })
}

fn is_globby(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

/// The rest of a path that starts with the temporary directory variable.
fn tmpdir_rest(p: &str) -> Option<&str> {
    ["$TMPDIR", "${TMPDIR}", "${TMPDIR:-/tmp}", "${TMPDIR:-/tmp/}", "${TMPDIR-/tmp}"]
        .iter()
        .find_map(|v| p.strip_prefix(v))
        .filter(|r| r.is_empty() || r.starts_with('/'))
}

/// Classify a (raw) path argument.
pub(crate) fn kind(raw: &str) -> PathKind {
    let n = normalize(raw);
    let p: &str = &n;
    if p.is_empty() {
        return PathKind::Relative;
    }
    if p.starts_with('$') {
        // `$TMPDIR/x`, `${TMPDIR:-/tmp}/x` are scratch space like `/tmp/x`.
        if let Some(r) = tmpdir_rest(p) {
            return kind(&format!("/tmp{r}"));
        }
        return PathKind::Variable;
    }
    if p == "/" || (p.starts_with('/') && p[1..].bytes().all(|c| matches!(c, b'*' | b'.' | b'/'))) {
        return PathKind::Root;
    }
    if let Some(r) = p.strip_prefix('~') {
        return home_kind(r.trim_start_matches('/'));
    }
    if let Some(r) = p.strip_prefix('/') {
        return absolute_kind(r);
    }
    relative_kind(p.strip_prefix("./").unwrap_or(p))
}

/// A path under the home directory (`r`: after `~/`).
fn home_kind(r: &str) -> PathKind {
    if r.is_empty() || r.bytes().all(|c| matches!(c, b'*' | b'.' | b'/')) {
        return PathKind::Home;
    }
    let first = r.split('/').next().unwrap_or("");
    if first.contains('*') {
        return PathKind::Home;
    }
    let depth = r.split('/').count();
    if home_cache(r, first) {
        return if depth == 1 || r == "Library/Caches" { PathKind::HomeCache } else { PathKind::Tmp };
    }
    if depth == 1 {
        return PathKind::HomeTop;
    }
    if r.split('/').any(|s| s == ".git") {
        return PathKind::GitDir;
    }
    if depth >= 2 && r.split('/').skip(1).any(is_artifact) {
        return PathKind::Artifact;
    }
    PathKind::HomePath
}

/// An absolute path (`r`: after the leading `/`).
fn absolute_kind(r: &str) -> PathKind {
    let mut segs = r.split('/');
    let top = segs.next().unwrap_or("");
    let second = segs.next();
    let deeper = segs.next().is_some();
    if top == "dev" {
        return match second {
            Some("null" | "zero" | "stdout" | "stderr" | "stdin" | "tty" | "random" | "urandom" | "full") => {
                PathKind::DevNull
            }
            Some(s) if s.starts_with("fd") || s.starts_with("pts") || s == "shm" => PathKind::DevNull,
            Some(_) => PathKind::Device,
            None => PathKind::SystemDir,
        };
    }
    if top == "tmp" || (top == "var" && second == Some("tmp")) || (top == "private" && second == Some("tmp")) {
        let inner = if top == "tmp" { second } else { r.split('/').nth(2) };
        return match inner {
            None => PathKind::TmpRoot,
            // `/tmp/*` clears scratch files; `/tmp`, `/tmp/.`, `/tmp/..` are the directory itself or above.
            Some(s) if s.is_empty() || s.bytes().all(|c| c == b'.') => PathKind::TmpRoot,
            _ => PathKind::Tmp,
        };
    }
    if top == "var" && second == Some("lib") {
        return match r.split('/').nth(2) {
            None => PathKind::SystemDir,
            Some(_) if r.split('/').nth(3).is_none() => PathKind::SystemDir,
            _ => PathKind::SystemPath,
        };
    }
    if is_system_top(top) || is_globby(top) {
        return match second {
            None => PathKind::SystemDir,
            Some(s) if is_globby(s) && !deeper => PathKind::SystemDir,
            Some(_) if !deeper && matches!(top, "usr" | "etc" | "var" | "System" | "Library") => PathKind::SystemDir,
            _ => PathKind::SystemPath,
        };
    }
    // A top-level directory of the file system (`/data`, `/data/*`) is broad.
    if second.is_none()
        || (!deeper && second.is_some_and(|s| s.is_empty() || s.bytes().all(|c| matches!(c, b'*' | b'.'))))
    {
        return PathKind::SystemDir;
    }
    PathKind::OtherAbs
}

/// A relative path (`r`: without a leading `./`).
fn relative_kind(r: &str) -> PathKind {
    if r.is_empty()
        || r == "."
        || r == "*"
        || r == ".*"
        || r == "./*"
        || r.bytes().all(|c| matches!(c, b'*' | b'.' | b'/')) && !r.starts_with("..")
    {
        return PathKind::Cwd;
    }
    if r == ".." || r.starts_with("../") || r.starts_with("..*") {
        // `../x` leaves the project: treat a bare parent (or its glob) as broad.
        let rest = r.trim_start_matches("../").trim_start_matches("..");
        if rest.is_empty() || rest.bytes().all(|c| matches!(c, b'*' | b'.' | b'/')) {
            return PathKind::Parent;
        }
        return PathKind::Relative;
    }
    if r == ".git" || r.starts_with(".git/") || r.ends_with("/.git") || r.contains("/.git/") {
        return PathKind::GitDir;
    }
    if r.split('/').any(is_artifact) || is_artifact(r) {
        return PathKind::Artifact;
    }
    PathKind::Relative
}

/// Kinds of secret material.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Secret {
    /// Private keys, credential stores, password vaults.
    Key,
    /// `.env` style files of a project.
    EnvFile,
}

/// Files under the home directory (and `/etc`) that hold keys or credentials; a path inside
/// one of them (`~/.local/share/keyrings/x`) is one too.
const KEY_FILES: &[&str] = &[
    "~/.aws/credentials",
    "~/.netrc",
    "~/.git-credentials",
    "~/.docker/config.json",
    "~/.kube/config",
    "~/.config/gh/hosts.yml",
    "~/.npmrc",
    "~/.pypirc",
    "~/.vault-token",
    "/etc/shadow",
    "/etc/gshadow",
    "~/.config/gcloud/credentials.db",
    "~/.config/gcloud/application_default_credentials.json",
    "~/.azure/accessTokens.json",
    "~/.terraform.d/credentials.tfrc.json",
    "~/.cargo/credentials.toml",
    "~/.cargo/credentials",
    "~/.gem/credentials",
    "~/.config/hub",
    "~/.local/share/keyrings",
    "~/.pgpass",
    "~/.my.cnf",
];

/// Files of `~/.ssh` that are no secret.
const SSH_PUBLIC: &[&str] = &["config", "known_hosts", "known_hosts.old", "authorized_keys", "config.d"];

/// Whether the path designates secret material.
pub(crate) fn secret(raw: &str) -> Option<Secret> {
    let n = normalize(raw);
    let p: &str = &n;
    let base = text::basename(p);
    if base.ends_with(".pub") {
        return None;
    }
    if let Some(r) = p.strip_prefix("~/.ssh/") {
        return (!SSH_PUBLIC.contains(&r)).then_some(Secret::Key);
    }
    if secret_store(p) || secret_name(p, base) {
        return Some(Secret::Key);
    }
    env_file(base)
}

/// A credential store of the home directory: `~/.gnupg`, `~/.aws/credentials`, [`KEY_FILES`].
fn secret_store(p: &str) -> bool {
    if p == "~/.ssh"
        || p == "~/.gnupg"
        || p.starts_with("~/.gnupg/")
        || p == "~/.aws"
        || p == "~/.password-store"
        || p.starts_with("~/.password-store/")
    {
        return true;
    }
    // Every entry of KEY_FILES starts with `~/` or `/etc/` and is longer than
    // four bytes: an entry whose fourth byte differs can be neither `p` nor
    // its prefix, which spares most string comparisons.
    (p.starts_with("~/") || p.starts_with("/etc/"))
        && KEY_FILES.iter().any(|k| {
            p.as_bytes().get(3) == Some(&k.as_bytes()[3])
                && (p == *k || (p.starts_with(k) && p[k.len()..].starts_with('/')))
        })
}

/// A key by its name: keychains, `id_rsa`, `credentials.json`, `*.pem`, `*.kdbx`.
fn secret_name(p: &str, base: &str) -> bool {
    if text::has(p, "/Keychains/") || base.ends_with(".keychain") || base.ends_with(".keychain-db") {
        return true;
    }
    if matches!(
        base,
        "id_rsa"
            | "id_dsa"
            | "id_ecdsa"
            | "id_ed25519"
            | "id_ecdsa_sk"
            | "id_ed25519_sk"
            | "vault.json"
            | "credentials.json"
            | "service-account.json"
            | "secrets.json"
    ) {
        return true;
    }
    // Each extension has one dot, its first byte: compare the part from the
    // base name's last dot (which must not be its first byte).
    if let Some(d) = base.bytes().rposition(|c| c == b'.')
        && d > 0
        && matches!(
            &base[d..],
            ".pem" | ".key" | ".p12" | ".pfx" | ".jks" | ".keystore" | ".ppk" | ".asc" | ".gpg" | ".kdbx"
        )
    {
        return true;
    }
    false
}

/// A project's `.env` file (not its `.env.example`).
fn env_file(base: &str) -> Option<Secret> {
    if base == ".env" || base.starts_with(".env.") || base.ends_with(".env") && base.len() > 4 && !base.contains('*') {
        if base.ends_with(".example")
            || base.ends_with(".sample")
            || base.ends_with(".template")
            || base.ends_with(".dist")
        {
            return None;
        }
        return Some(Secret::EnvFile);
    }
    None
}

/// The name every directory of [`SELF_DIRS`] ends with.
const SELF_NAME: &str = "holdfast";

/// Directories of holdfast's own configuration, state and binary.
const SELF_DIRS: [&str; 13] = [
    ".config/holdfast",
    ".local/share/holdfast",
    ".local/state/holdfast",
    "Application Support/holdfast",
    "/etc/holdfast",
    "/var/lib/holdfast",
    "/run/holdfast",
    "AppData/Roaming/holdfast",
    "AppData/Local/holdfast",
    "Library/Preferences/holdfast",
    "Library/Caches/holdfast",
    "/bin/holdfast",
    ".holdfast",
];

/// Holdfast's own configuration, data, binary or service files.
pub(crate) fn is_self_path(raw: &str) -> bool {
    let n = normalize(raw);
    let p: &str = &n;
    let base = text::basename(p);
    if matches!(
        base,
        "audit.jsonl" | "vault.json" | "policy.toml" | ".holdfast.toml" | "holdfast.service" | "holdfast.toml"
    ) || (text::has(base, "holdfast")
        && (base.ends_with(".plist") || base.ends_with(".service") || base.ends_with(".sock")))
    {
        return true;
    }
    // Every directory of SELF_DIRS ends with SELF_NAME: one search rules them
    // all out, and each directory's first occurrence (the one tested) ends at
    // one of the name's occurrences, visited in order.
    let mut seen = 0u16;
    let mut from = 0;
    while let Some(k) = text::find(&p[from..], SELF_NAME) {
        let end = from + k + SELF_NAME.len();
        for (d, dir) in SELF_DIRS.iter().enumerate() {
            if seen & (1 << d) == 0 && p[..end].ends_with(dir) {
                seen |= 1 << d;
                let after = &p[end..];
                if after.is_empty() || after.starts_with('/') || after.starts_with('*') {
                    return true;
                }
            }
        }
        from = end;
    }
    false
}

/// The coding agents' hook configuration (where holdfast is wired in).
pub(crate) fn is_hook_config(raw: &str) -> bool {
    let n = normalize(raw);
    let p: &str = &n;
    // `dir` is `~/.name`: the directory itself, anything below it, or any `/.name` directory.
    let tail = |dir: &str| {
        let slash_name = &dir[1..];
        p == dir
            || p.strip_prefix(dir).is_some_and(|r| r.starts_with('/'))
            || p.ends_with(slash_name)
            || p.match_indices(slash_name).any(|(i, _)| p[i + slash_name.len()..].starts_with('/'))
    };
    p.ends_with(".claude/settings.json")
        || p.ends_with(".claude/settings.local.json")
        || p.ends_with(".claude.json")
        || p == "~/.claude"
        || tail("~/.codex")
        || p.ends_with(".gemini/settings.json")
        || p == "~/.gemini"
        || p.ends_with(".cursor/hooks.json")
        || p == "~/.cursor"
        || tail("~/.copilot")
        || p.ends_with(".github/hooks") && p.starts_with('~')
}

/// Shell start-up files (persistence when written).
pub(crate) fn is_shell_rc(raw: &str) -> bool {
    let n = normalize(raw);
    matches!(
        &*n,
        "~/.bashrc"
            | "~/.bash_profile"
            | "~/.profile"
            | "~/.zshrc"
            | "~/.zprofile"
            | "~/.zshenv"
            | "~/.bash_login"
            | "~/.bash_logout"
            | "~/.config/fish/config.fish"
            | "~/.login"
            | "~/.cshrc"
            | "~/.tcshrc"
            | "/etc/profile"
            | "/etc/bash.bashrc"
            | "/etc/zshrc"
            | "/etc/environment"
    )
}

/// Files whose clobbering breaks the system or grants access.
pub(crate) fn is_critical_file(raw: &str) -> bool {
    let n = normalize(raw);
    let p: &str = &n;
    matches!(
        p,
        "/etc/passwd"
            | "/etc/shadow"
            | "/etc/group"
            | "/etc/gshadow"
            | "/etc/sudoers"
            | "/etc/fstab"
            | "/etc/resolv.conf"
            | "/etc/crontab"
            | "/etc/ld.so.preload"
            | "/etc/ssh/sshd_config"
            | "/etc/pam.conf"
            | "~/.ssh/authorized_keys"
            | "~/.ssh/config"
            | "/etc/rc.local"
            | "/etc/inittab"
    ) || p.starts_with("/etc/sudoers.d/")
        || p.starts_with("/etc/pam.d/")
        || p.starts_with("/boot/")
        || p.starts_with("/etc/cron")
        || p.starts_with("/bin/")
        || p.starts_with("/sbin/")
        || p.starts_with("/usr/bin/")
        || p.starts_with("/usr/sbin/")
        || p.starts_with("/lib/")
        || p.starts_with("/usr/lib/")
        || p.starts_with("~/.ssh/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn norm() {
        assert_eq!(normalize("$HOME/"), "~");
        assert_eq!(normalize("/home/bob/.ssh/id_rsa"), "~/.ssh/id_rsa");
        assert_eq!(normalize("/tmp/../etc//passwd"), "/etc/passwd");
        assert_eq!(normalize("./build/"), "./build");
        assert_eq!(normalize("//"), "/");
        assert_eq!(normalize("~/a/../../b/"), "~/b");
        assert_eq!(normalize("a/../../b"), "../b");
        assert_eq!(normalize("./a/../.."), "..");
        assert_eq!(normalize("././a"), "./a");
        assert_eq!(normalize("a/./b/"), "a/b");
        assert_eq!(normalize("../a/./../b"), "../b");
        assert_eq!(normalize("https://x.io//a/"), "https:/x.io/a");
    }

    #[test]
    fn self_paths() {
        assert!(SELF_DIRS.iter().all(|d| d.ends_with(SELF_NAME)), "is_self_path finds them from the name");
        assert!(is_self_path("~/.config/holdfast"));
        assert!(is_self_path("AppData/Local/holdfast/*"));
        assert!(is_self_path("/tmp/x/.holdfast/y"));
        assert!(!is_self_path("~/.config/holdfast.bak"));
        // Only a directory's first occurrence is tested.
        assert!(!is_self_path("/x/.config/holdfastx/.config/holdfast"));
    }

    #[test]
    fn kinds() {
        assert_eq!(kind("/"), PathKind::Root);
        assert_eq!(kind("/*"), PathKind::Root);
        assert_eq!(kind("~"), PathKind::Home);
        assert_eq!(kind("$HOME/"), PathKind::Home);
        assert_eq!(kind("."), PathKind::Cwd);
        assert_eq!(kind("*"), PathKind::Cwd);
        assert_eq!(kind(".."), PathKind::Parent);
        assert_eq!(kind("/etc"), PathKind::SystemDir);
        assert_eq!(kind("/usr/local/lib/x"), PathKind::SystemPath);
        assert_eq!(kind("node_modules"), PathKind::Artifact);
        assert_eq!(kind("./build/"), PathKind::Artifact);
        assert_eq!(kind("src/old"), PathKind::Relative);
        assert_eq!(kind("/tmp/x"), PathKind::Tmp);
        assert_eq!(kind("/dev/sda"), PathKind::Device);
        assert_eq!(kind("/dev/null"), PathKind::DevNull);
        assert_eq!(kind(".git"), PathKind::GitDir);
        assert_eq!(kind("~/Documents"), PathKind::HomeTop);
    }
}
