//! Which holdfast binary a hook names, and the hook's command line.
//!
//! An agent runs the hook's command for every shell command, for months: it must name a binary
//! that stays. A build output (`target/release/holdfast`) does not — `cargo clean` would silently
//! unguard every agent — so the installed binary on `PATH` is preferred, and a build output is
//! named only when nothing else exists, with a warning.

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};

/// The binary to name in hook commands, and a warning when it is a build output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chosen {
    /// The binary to name.
    pub path: PathBuf,
    /// Set when `path` is a build output (`target/debug`, …) that may move or vanish.
    pub warning: Option<String>,
}

/// True when `p` lies in a cargo build directory (`…/target/{debug,release}/…`, or a `target`
/// directory cargo marked with `CACHEDIR.TAG`).
pub fn in_build_dir(p: &Path) -> bool {
    let names: Vec<&OsStr> = p.components().map(|c| c.as_os_str()).collect();
    let profile = names.windows(2).any(|w| w[0] == "target" && (w[1] == "debug" || w[1] == "release"));
    profile || p.ancestors().any(|a| a.file_name() == Some(OsStr::new("target")) && a.join("CACHEDIR.TAG").is_file())
}

/// Chooses the binary for `current` (this process's executable) given `PATH`.
pub fn choose(current: &Path, path_var: Option<&OsStr>) -> Chosen {
    let name = if cfg!(windows) { "holdfast.exe" } else { "holdfast" };
    let on_path: Vec<PathBuf> = path_var
        .map(|p| std::env::split_paths(p).map(|d| d.join(name)).filter(|c| c.is_file()).collect())
        .unwrap_or_default();
    let same = |c: &PathBuf| dunce::canonicalize(c).ok() == dunce::canonicalize(current).ok();
    // The PATH spelling of this very binary survives upgrades that swap a symlink's target.
    if let Some(c) = on_path.iter().find(|c| same(c) && !in_build_dir(c)) {
        return Chosen { path: c.clone(), warning: None };
    }
    if !in_build_dir(current) {
        return Chosen { path: current.to_path_buf(), warning: None };
    }
    if let Some(c) = on_path.iter().find(|c| !in_build_dir(c)) {
        let warning = format!(
            "naming the installed {} rather than this build output {} (which `cargo clean` removes)",
            c.display(),
            current.display()
        );
        return Chosen { path: c.clone(), warning: Some(warning) };
    }
    let warning = format!(
        "the only holdfast is the build output {}: `cargo clean` or a rebuild elsewhere would silently unguard \
         every agent. Install it (`make install`, or `cargo install --locked --path .`) and run `holdfast init` again.",
        current.display()
    );
    Chosen { path: current.to_path_buf(), warning: Some(warning) }
}

/// The holdfast environment a hook must share with the daemon the user runs (`HOLDFAST_HOME`,
/// `HOLDFAST_SOCKET`), from `var`.
pub fn carried_env(var: &dyn Fn(&str) -> Option<OsString>) -> Vec<(&'static str, OsString)> {
    ["HOLDFAST_HOME", "HOLDFAST_SOCKET"]
        .into_iter()
        .filter_map(|k| var(k).filter(|v| !v.is_empty()).map(|v| (k, v)))
        .collect()
}

/// The command line an agent runs: `env` assignments (Unix `sh`), then the holdfast executable,
/// quoted when needed — for `sh` on Unix; in double quotes on Windows, which both cmd and the Git
/// Bash that agents use there read (a Windows path cannot hold `"`). Give it a path without the
/// `\\?\` prefix (`dunce`). Windows commands carry no environment (see [`carries_env`]).
pub fn hook_command(exe: &Path, agent: &str, env: &[(&str, OsString)]) -> String {
    let mut out = String::new();
    if carries_env() {
        for (k, v) in env {
            out.push_str(&format!("{k}={} ", quote(&v.to_string_lossy())));
        }
    }
    out.push_str(&quote(&exe.display().to_string()));
    out.push_str(&format!(" hook --agent {agent}"));
    out
}

/// True where the hook command can carry environment assignments (`sh` syntax).
pub fn carries_env() -> bool {
    cfg!(unix)
}

fn quote(s: &str) -> String {
    let plain = !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "/._-+:\\".contains(c));
    if plain {
        s.to_string()
    } else if cfg!(windows) {
        format!("\"{s}\"")
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hook_commands_quote_for_the_platform_shell() {
        assert_eq!(hook_command(Path::new("/usr/bin/holdfast"), "codex", &[]), "/usr/bin/holdfast hook --agent codex");
        let spaced = if cfg!(windows) { r"C:\Program Files\holdfast\holdfast.exe" } else { "/opt/my tools/holdfast" };
        let quoted = hook_command(Path::new(spaced), "cursor", &[]);
        if cfg!(windows) {
            assert_eq!(quoted, format!("\"{spaced}\" hook --agent cursor"));
        } else {
            assert_eq!(quoted, "'/opt/my tools/holdfast' hook --agent cursor");
            assert_eq!(hook_command(Path::new("/o'k/holdfast"), "x", &[]), r"'/o'\''k/holdfast' hook --agent x");
            let env = [("HOLDFAST_HOME", OsString::from("/h f"))];
            assert_eq!(
                hook_command(Path::new("/b/holdfast"), "x", &env),
                "HOLDFAST_HOME='/h f' /b/holdfast hook --agent x"
            );
        }
        assert!(super::super::is_ours(&quoted));
    }

    #[test]
    fn build_outputs_are_recognised() {
        assert!(in_build_dir(Path::new("/src/holdfast/target/release/holdfast")));
        assert!(in_build_dir(Path::new("/src/holdfast/target/debug/holdfast")));
        assert!(!in_build_dir(Path::new("/usr/local/bin/holdfast")));
        let chosen = choose(Path::new("/src/x/target/debug/holdfast"), None);
        assert!(chosen.warning.is_some_and(|w| w.contains("cargo clean")));
    }
}
