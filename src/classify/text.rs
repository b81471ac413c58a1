//! Byte-level string tests tuned for the short strings of a command line
//! (words, paths, one-liners of a few dozen bytes).
//!
//! `str::contains(&str)` builds a Two-Way searcher on every call unless the
//! haystack is long enough for its vectorised search, and `str::rsplit('/')`
//! goes through the generic `memrchr`: both cost more than the whole scan at
//! these lengths, and the rules call them for every word. These helpers give
//! the same answers with a plain loop where that is cheaper.

/// From this many bytes beyond the needle's length, the standard search is
/// vectorised and wins (measured with callgrind: about 170 instructions per
/// call from there on, against 2–3 per byte for the loop).
const SIMD_SLACK: usize = 16;

/// `hay.find(needle)`: byte offset of the first occurrence. (`str::find`
/// has no vectorised path: it always builds the Two-Way searcher.)
#[inline]
pub(crate) fn find(hay: &str, needle: &str) -> Option<usize> {
    let (h, n) = (hay.as_bytes(), needle.as_bytes());
    let Some((&first, rest)) = n.split_first() else {
        return Some(0);
    };
    if h.len() < n.len() {
        return None;
    }
    (0..=h.len() - n.len()).find(|&i| h[i] == first && &h[i + 1..i + n.len()] == rest)
}

/// `hay.contains(needle)`.
#[inline]
pub(crate) fn has(hay: &str, needle: &str) -> bool {
    if hay.len() >= needle.len() + SIMD_SLACK {
        return hay.contains(needle);
    }
    find(hay, needle).is_some()
}

/// The part after the last `/` (the whole string when there is none).
#[inline]
pub(crate) fn basename(s: &str) -> &str {
    match s.bytes().rposition(|b| b == b'/') {
        Some(i) => &s[i + 1..],
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn has_matches_contains() {
        let long = "x".repeat(100) + "needle";
        for (h, n) in [
            ("", ""),
            ("", "a"),
            ("a", ""),
            ("abc", "abc"),
            ("abc", "abcd"),
            ("xxabc", "abc"),
            ("abxabc", "abc"),
            ("abcabc", "abc"),
            ("ab", "b"),
            ("~/.config/holdfast", "holdfast"),
            ("hold", "holdfast"),
            (long.as_str(), "needle"),
            (long.as_str(), "needles"),
        ] {
            assert_eq!(has(h, n), h.contains(n), "{h:?} {n:?}");
            assert_eq!(find(h, n), h.find(n), "{h:?} {n:?}");
        }
    }

    #[test]
    fn basename_matches_rsplit() {
        for s in ["", "/", "a", "/a", "a/", "a/b/c", "//x"] {
            assert_eq!(basename(s), s.rsplit('/').next().unwrap_or(s), "{s:?}");
        }
    }
}
