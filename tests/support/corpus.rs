//! Loader for `tests/corpus/*.txt` (format: see `tests/corpus/README.md`).
//! Self-contained (std + `holdfast::classify::Class`) so the bench can include it
//! with `#[path]`.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use holdfast::classify::Class;

/// One corpus line.
#[derive(Debug, Clone)]
pub struct Entry {
    /// File stem, e.g. `fs` for `fs.txt`.
    pub family: String,
    /// 1-based line number in the file.
    pub line_no: usize,
    pub expected: Class,
    pub command: String,
}

/// The corpus directory of this crate.
pub fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests").join("corpus")
}

fn parse_class(s: &str) -> Option<Class> {
    match s {
        "safe" => Some(Class::Safe),
        "ambiguous" => Some(Class::Ambiguous),
        "catastrophic" => Some(Class::Catastrophic),
        _ => None,
    }
}

/// Decode a JSON string literal (with its quotes).
pub fn decode_json_string(s: &str) -> Result<String, String> {
    let s = s.trim();
    let inner = s
        .strip_prefix('"')
        .and_then(|r| r.strip_suffix('"'))
        .ok_or_else(|| "JSON string must be in double quotes".to_string())?;
    let mut out = String::with_capacity(inner.len());
    let mut it = inner.chars();
    while let Some(c) = it.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match it.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some('b') => out.push('\u{8}'),
            Some('f') => out.push('\u{c}'),
            Some('"') => out.push('"'),
            Some('\\') => out.push('\\'),
            Some('/') => out.push('/'),
            Some('u') => {
                let hex: String = it.by_ref().take(4).collect();
                let v = u32::from_str_radix(&hex, 16).map_err(|e| e.to_string())?;
                out.push(char::from_u32(v).ok_or("bad \\u escape")?);
            }
            other => return Err(format!("bad escape \\{other:?}")),
        }
    }
    Ok(out)
}

/// Parse one corpus file's text.
pub fn parse_file(family: &str, text: &str) -> Result<Vec<Entry>, String> {
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line_no = i + 1;
        if raw.trim().is_empty() || raw.trim_start().starts_with('#') {
            continue;
        }
        let (class, cmd) =
            raw.split_once('\t').ok_or_else(|| format!("{family}.txt:{line_no}: expected <class><TAB><command>"))?;
        let expected =
            parse_class(class.trim()).ok_or_else(|| format!("{family}.txt:{line_no}: unknown class {class:?}"))?;
        let command = match cmd.strip_prefix("json:") {
            Some(j) => decode_json_string(j).map_err(|e| format!("{family}.txt:{line_no}: {e}"))?,
            None => cmd.to_string(),
        };
        out.push(Entry { family: family.to_string(), line_no, expected, command });
    }
    Ok(out)
}

/// Load every `*.txt` file of the corpus, sorted by file name.
pub fn load() -> Vec<Entry> {
    let dir = corpus_dir();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "txt"))
        .collect();
    files.sort();
    let mut out = Vec::new();
    for f in files {
        let family = f.file_stem().and_then(|s| s.to_str()).unwrap_or("?").to_string();
        let text = std::fs::read_to_string(&f).unwrap_or_else(|e| panic!("read {}: {e}", f.display()));
        out.extend(parse_file(&family, &text).unwrap_or_else(|e| panic!("{e}")));
    }
    out
}
