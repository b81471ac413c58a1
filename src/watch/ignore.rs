//! Which paths the watcher does not report.
//!
//! Patterns are globs over `/`-separated paths relative to the watched root:
//! - a pattern without `/` matches any single component, at any depth
//!   (`node_modules`, `*.swp`);
//! - a pattern with `/` matches the whole relative path; `*` and `?` stay inside
//!   one component, `**` spans any number of components, and a trailing `/**`
//!   matches everything *inside* a directory but not the directory itself.
//!
//! A path is ignored when it, or one of its ancestors, matches. That is how the
//! default `**/.git/**` hides git's internals while the removal or rename of
//! `.git` itself — exactly what the watcher exists to see — is still reported.

use std::path::{Component, Path, PathBuf};

/// Patterns ignored unless `--no-default-ignores` is given.
pub(crate) const DEFAULT_IGNORES: &[&str] = &["**/.git/**", "target", "node_modules"];

#[derive(Debug, Clone)]
enum Pattern {
    /// No `/`: matches one component anywhere.
    Component(String),
    /// Matches the whole relative path, component by component.
    Anchored(Vec<String>),
}

/// Ignore patterns plus directories ignored outright (holdfast's own data and run dirs).
#[derive(Debug, Clone, Default)]
pub(crate) struct IgnoreSet {
    roots: Vec<PathBuf>,
    patterns: Vec<Pattern>,
    prefixes: Vec<PathBuf>,
}

impl IgnoreSet {
    /// An ignore set for paths under `roots`.
    pub fn new(roots: &[PathBuf]) -> Self {
        IgnoreSet { roots: roots.to_vec(), ..Default::default() }
    }

    /// Adds a glob pattern (see the module doc).
    pub fn add_glob(&mut self, glob: &str) {
        let glob = glob.trim_start_matches("./");
        let trimmed = glob.trim_end_matches('/');
        if !trimmed.contains('/') {
            self.patterns.push(Pattern::Component(trimmed.to_string()));
        } else {
            let segs = trimmed.trim_start_matches('/').split('/').filter(|s| !s.is_empty()).map(String::from);
            self.patterns.push(Pattern::Anchored(segs.collect()));
        }
    }

    /// Ignores `dir` and everything below it (an absolute path).
    pub fn add_dir(&mut self, dir: &Path) {
        self.prefixes.push(dir.to_path_buf());
        if let Some(real) = dir.canonicalize().ok().filter(|r| r != dir) {
            self.prefixes.push(real);
        }
    }

    /// True when the watcher must not report `path`.
    pub fn is_ignored(&self, path: &Path) -> bool {
        if self.prefixes.iter().any(|p| path.starts_with(p)) {
            return true;
        }
        let rel = self
            .roots
            .iter()
            .filter(|r| path.starts_with(r))
            .max_by_key(|r| r.components().count())
            .map(|r| path.strip_prefix(r).unwrap_or(path))
            .unwrap_or(path);
        let comps: Vec<String> = rel
            .components()
            .filter_map(|c| match c {
                Component::Normal(s) => Some(s.to_string_lossy().into_owned()),
                _ => None,
            })
            .collect();
        self.patterns.iter().any(|p| match p {
            Pattern::Component(g) => comps.iter().any(|c| wildcard(g, c)),
            Pattern::Anchored(segs) => (1..=comps.len()).any(|n| segments(segs, &comps[..n])),
        })
    }
}

/// Matches path components against pattern segments; `**` spans components.
fn segments(pat: &[String], comps: &[String]) -> bool {
    match pat.split_first() {
        None => comps.is_empty(),
        // A trailing `**` needs at least one component: `dir/**` is the inside of `dir`.
        Some((first, rest)) if first == "**" && rest.is_empty() => !comps.is_empty(),
        Some((first, rest)) if first == "**" => (0..=comps.len()).any(|skip| segments(rest, &comps[skip..])),
        Some((first, rest)) => match comps.split_first() {
            Some((c, more)) => wildcard(first, c) && segments(rest, more),
            None => false,
        },
    }
}

/// Glob match of one component: `*` any run, `?` one character, everything else literal.
pub(crate) fn wildcard(pat: &str, text: &str) -> bool {
    let p: Vec<char> = pat.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(globs: &[&str]) -> IgnoreSet {
        let mut s = IgnoreSet::new(&[PathBuf::from("/r")]);
        for g in globs {
            s.add_glob(g);
        }
        s
    }

    #[test]
    fn defaults_hide_git_internals_but_not_git_itself() {
        let s = set(DEFAULT_IGNORES);
        assert!(s.is_ignored(Path::new("/r/.git/HEAD")));
        assert!(s.is_ignored(Path::new("/r/.git/objects/ab/cdef")));
        assert!(s.is_ignored(Path::new("/r/sub/.git/index")));
        assert!(!s.is_ignored(Path::new("/r/.git")));
        assert!(!s.is_ignored(Path::new("/r/sub/.git")));
        assert!(s.is_ignored(Path::new("/r/target")));
        assert!(s.is_ignored(Path::new("/r/target/debug/x")));
        assert!(s.is_ignored(Path::new("/r/web/node_modules/a/b.js")));
        assert!(!s.is_ignored(Path::new("/r/src/main.rs")));
        assert!(!s.is_ignored(Path::new("/r/targets")));
    }

    #[test]
    fn globs() {
        let s = set(&["*.swp", "build/*.o", "docs/**"]);
        assert!(s.is_ignored(Path::new("/r/a/.x.swp")));
        assert!(s.is_ignored(Path::new("/r/build/a.o")));
        assert!(!s.is_ignored(Path::new("/r/build/a.c")));
        assert!(!s.is_ignored(Path::new("/r/x/build/a.o")));
        assert!(!s.is_ignored(Path::new("/r/docs")));
        assert!(s.is_ignored(Path::new("/r/docs/a/b")));
        assert!(wildcard("a*b?c", "axxbyc"));
        assert!(!wildcard("a*b?c", "axxbc"));
        assert!(wildcard("*", ""));
    }

    #[test]
    fn data_dir_is_ignored_wherever_it_is() {
        let mut s = set(&[]);
        s.add_dir(Path::new("/r/.hf/data"));
        assert!(s.is_ignored(Path::new("/r/.hf/data/watch.spool")));
        assert!(s.is_ignored(Path::new("/r/.hf/data")));
        assert!(!s.is_ignored(Path::new("/r/.hf/config")));
    }
}
