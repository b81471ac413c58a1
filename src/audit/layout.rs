//! A strict reader for lines in the writer's exact layout: the verifier's fast path.
//!
//! The writer lays a line out as `{"body":{"seq":N,"ts":"…","prev":"<hex>","kind":"…",
//! "peer":{…},"data":…},"hash":"<hex>","mac":"<hex>"}` with no whitespace. [`parse`] accepts
//! only that layout, with plain strings (no `\u` escapes outside `data`, no escapes at all in
//! `ts`, `prev` and `kind`), plain integers and shallow `data`. It answers `None` on **any**
//! deviation, and the caller then runs the JSON parser on the line: so every line it accepts is
//! one the JSON parser accepts with the same fields, and the verdict on a line never depends on
//! which path read it (see the agreement tests in `record.rs`).

use std::borrow::Cow;

use super::record::Parsed;

/// `,"hash":"<64 hex>","mac":"<64 hex>"}` at the end of a line.
pub(crate) const SUFFIX_LEN: usize = 9 + 64 + 9 + 64 + 2;

/// Deepest `data` nesting the fast path reads (deeper goes to the JSON parser, which has its own limit).
const MAX_DEPTH: u32 = 32;

/// Every byte's low bit / high bit, for eight-bytes-at-a-time (SWAR) scans.
const LO: u64 = 0x0101_0101_0101_0101;
const HI: u64 = 0x8080_8080_8080_8080;

/// High bit of each byte of `x` (whose bytes are all < 0x80) that is `>= n`; exact per byte.
fn ge(x: u64, n: u8) -> u64 {
    ((x | HI) - LO * u64::from(n)) & HI
}

/// Decodes exactly 64 hex digits (either case, as the `hex` crate) into 32 bytes; `None` for anything else.
pub(crate) fn hex32(text: &[u8]) -> Option<[u8; 32]> {
    if text.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    let mut bad = 0u64;
    for (o, chunk) in out.chunks_exact_mut(4).zip(text.chunks_exact(8)) {
        let x = u64::from_le_bytes(chunk.try_into().expect("8-byte chunk"));
        let y = x & !HI;
        let digit = ge(y, b'0') & !ge(y, b'9' + 1);
        let z = y | (LO * 0x20);
        let alpha = ge(z, b'a') & !ge(z, b'f' + 1);
        // A byte is good when it is ASCII (no high bit) and a digit or a letter a-f/A-F.
        bad |= (x & HI) | (!(digit | alpha) & HI);
        let nibbles = (y & (LO * 0x0f)) + (alpha >> 7) * 9;
        let pairs = ((nibbles & 0x000f_000f_000f_000f) << 4) | ((nibbles & 0x0f00_0f00_0f00_0f00) >> 8);
        for (k, b) in o.iter_mut().enumerate() {
            *b = (pairs >> (16 * k)) as u8;
        }
    }
    (bad == 0).then_some(out)
}

/// Index of the first `"`, `\` or control character in `b`.
#[inline]
fn stop(b: &[u8]) -> Option<usize> {
    let mut i = 0;
    while let Some(chunk) = b.get(i..i + 8) {
        let x = u64::from_le_bytes(chunk.try_into().expect("8-byte chunk"));
        // Classic has-zero-byte / has-less-than tests: the lowest flagged byte is exact.
        let zero = |v: u64| v.wrapping_sub(LO) & !v & HI;
        let hit = zero(x ^ (LO * u64::from(b'"')))
            | zero(x ^ (LO * u64::from(b'\\')))
            | (x.wrapping_sub(LO * 0x20) & !x & HI);
        if hit != 0 {
            return Some(i + hit.trailing_zeros() as usize / 8);
        }
        i += 8;
    }
    b[i..].iter().position(|&c| c == b'"' || c == b'\\' || c < 0x20).map(|p| i + p)
}

/// Reads a line (without its newline) in the writer's exact layout; `None` on any deviation.
pub(crate) fn parse(text: &[u8]) -> Option<Parsed<'_>> {
    let n = text.len();
    if n < 8 + SUFFIX_LEN || !text.starts_with(b"{\"body\":") || !text.ends_with(b"\"}") {
        return None;
    }
    let tail = &text[n - SUFFIX_LEN..];
    if !tail.starts_with(b",\"hash\":\"") || &tail[73..82] != b"\",\"mac\":\"" {
        return None;
    }
    let hash = hex32(&tail[9..73])?;
    let mac = hex32(&tail[82..146])?;
    let body = std::str::from_utf8(&text[8..n - SUFFIX_LEN]).ok()?;
    let b = body.as_bytes();

    let mut i = expect(b, 0, b"{\"seq\":")?;
    let (seq, j) = uint(b, i, 19)?;
    i = expect(b, j, b",\"ts\":\"")?;
    let (_, j) = plain_str(b, i)?;
    i = expect(b, j, b",\"prev\":\"")?;
    let (prev, j) = plain_str(b, i)?;
    i = expect(b, j, b",\"kind\":\"")?;
    let (kind, j) = plain_str(b, i)?;
    i = expect(b, j, b",\"peer\":")?;
    i = peer(b, i)?;
    i = expect(b, i, b",\"data\":")?;
    let data_start = i;
    i = value(b, i, 0)?;
    let data_end = i;
    if i + 1 != b.len() || b[i] != b'}' {
        return None;
    }
    Some(Parsed {
        body,
        seq,
        kind: Cow::Borrowed(&body[kind.0..kind.1]),
        prev: hex32(&b[prev.0..prev.1]),
        hash: Some(hash),
        mac: Some(mac),
        data: &body[data_start..data_end],
    })
}

/// Position after `lit` at `i`.
#[inline]
fn expect(b: &[u8], i: usize, lit: &[u8]) -> Option<usize> {
    b.get(i..i + lit.len()).filter(|s| *s == lit).map(|_| i + lit.len())
}

/// An unsigned integer of at most `max_digits` digits, no leading zero (as JSON); value and end.
#[inline]
fn uint(b: &[u8], i: usize, max_digits: usize) -> Option<(u64, usize)> {
    let mut j = i;
    let mut v = 0u64;
    while let Some(&c) = b.get(j).filter(|c| c.is_ascii_digit()) {
        if j - i == max_digits {
            return None;
        }
        v = v * 10 + u64::from(c - b'0');
        j += 1;
    }
    let len = j - i;
    (len == 1 || (len > 1 && b[i] != b'0')).then_some((v, j))
}

/// The rest of a string whose opening quote ends before `i`, without escapes or control
/// characters: its content range and the position after the closing quote.
fn plain_str(b: &[u8], i: usize) -> Option<((usize, usize), usize)> {
    let len = stop(&b[i..])?;
    (b[i + len] == b'"').then_some(((i, i + len), i + len + 1))
}

/// `{}`, `{"pid":N}`, `{"uid":N}` or `{"pid":N,"uid":N}` with `N` a u32.
fn peer(b: &[u8], i: usize) -> Option<usize> {
    let u32_at = |i| uint(b, i, 10).filter(|(v, _)| *v <= u64::from(u32::MAX)).map(|(_, j)| j);
    if let Some(j) = expect(b, i, b"{}") {
        return Some(j);
    }
    let j = match expect(b, i, b"{\"pid\":") {
        Some(k) => {
            let j = u32_at(k)?;
            if let Some(end) = expect(b, j, b"}") {
                return Some(end);
            }
            expect(b, j, b",")?
        }
        None => expect(b, i, b"{")?,
    };
    let k = expect(b, j, b"\"uid\":")?;
    expect(b, u32_at(k)?, b"}")
}

/// A JSON value at `i` without whitespace, `\u` escapes, fractions or exponents; its end.
fn value(b: &[u8], i: usize, depth: u32) -> Option<usize> {
    if depth > MAX_DEPTH {
        return None;
    }
    match *b.get(i)? {
        b'"' => string(b, i + 1),
        b'{' => {
            let mut j = i + 1;
            if b.get(j) == Some(&b'}') {
                return Some(j + 1);
            }
            loop {
                j = expect(b, j, b"\"")?;
                j = expect(b, string(b, j)?, b":")?;
                j = value(b, j, depth + 1)?;
                match *b.get(j)? {
                    b',' => j += 1,
                    b'}' => return Some(j + 1),
                    _ => return None,
                }
            }
        }
        b'[' => {
            let mut j = i + 1;
            if b.get(j) == Some(&b']') {
                return Some(j + 1);
            }
            loop {
                j = value(b, j, depth + 1)?;
                match *b.get(j)? {
                    b',' => j += 1,
                    b']' => return Some(j + 1),
                    _ => return None,
                }
            }
        }
        b't' => expect(b, i, b"true"),
        b'f' => expect(b, i, b"false"),
        b'n' => expect(b, i, b"null"),
        b'-' => uint(b, i + 1, 19).map(|(_, j)| j),
        _ => uint(b, i, 19).map(|(_, j)| j),
    }
}

/// The rest of a string in `data` (simple escapes allowed); the position after its closing quote.
#[inline]
fn string(b: &[u8], mut i: usize) -> Option<usize> {
    loop {
        i += stop(&b[i..])?;
        match b[i] {
            b'"' => return Some(i + 1),
            b'\\' if matches!(b.get(i + 1), Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't')) => i += 2,
            _ => return None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stop_finds_the_first_quote_backslash_or_control() {
        for len in 0..40 {
            for c in [b'"', b'\\', 0x00, 0x1f] {
                for at in 0..len {
                    let mut b: Vec<u8> = (0..len).map(|i| [b'a', 0xc3, 0x7f, b' ', 0x80, b'!'][i % 6]).collect();
                    b[at] = c;
                    if at + 1 < len {
                        b[at + 1] = b'"';
                    }
                    assert_eq!(stop(&b), Some(at), "{b:?}");
                }
            }
            let plain: Vec<u8> = (0..len).map(|i| [b'a', 0xc3, 0x7f, b' ', 0xff, 0x21, 0x5d][i % 7]).collect();
            assert_eq!(stop(&plain), None);
        }
    }

    #[test]
    fn hex32_checks_every_byte() {
        for c in 0..=255u8 {
            for at in [0, 7, 8, 33, 63] {
                let mut t = [b'0'; 64];
                t[at] = c;
                assert_eq!(hex32(&t).is_some(), c.is_ascii_hexdigit(), "{c:#x} at {at}");
                if let Some(v) = hex32(&t) {
                    let mut want = [0u8; 32];
                    hex::decode_to_slice(t, &mut want).unwrap();
                    assert_eq!(v, want);
                }
            }
        }
    }
}
