//! Decoders for obfuscated payloads: backslash escapes (`printf`, `echo -e`,
//! awk strings) and hex or base64 literals inside interpreter one-liners.

use base64::Engine as _;

/// Decode `\xHH`, `\NNN` / `\0NNN` (octal), `\n`, `\t`, `\\` escapes; others stay as written.
pub(crate) fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out: Vec<u8> = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'\\' || i + 1 >= b.len() {
            out.push(b[i]);
            i += 1;
            continue;
        }
        let c = b[i + 1];
        match c {
            b'x' => {
                let hex: Vec<u8> = b[i + 2..].iter().take(2).take_while(|c| c.is_ascii_hexdigit()).copied().collect();
                match u8::from_str_radix(std::str::from_utf8(&hex).unwrap_or(""), 16) {
                    Ok(v) => {
                        out.push(v);
                        i += 2 + hex.len();
                    }
                    Err(_) => {
                        out.extend_from_slice(b"\\x");
                        i += 2;
                    }
                }
            }
            b'0'..=b'7' => {
                let start = if c == b'0' { i + 2 } else { i + 1 };
                let oct: Vec<u8> =
                    b[start..].iter().take(3).take_while(|c| (b'0'..=b'7').contains(c)).copied().collect();
                let v = u32::from_str_radix(std::str::from_utf8(&oct).unwrap_or("0"), 8).unwrap_or(0);
                out.push(u8::try_from(v).unwrap_or(b'?'));
                i = start + oct.len();
            }
            b'n' => {
                out.push(b'\n');
                i += 2;
            }
            b't' => {
                out.push(b'\t');
                i += 2;
            }
            b'\\' => {
                out.push(b'\\');
                i += 2;
            }
            _ => {
                out.push(b'\\');
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Code that calls a decoder on literals (`b64decode`, `pack("H*")`, `atob`, `fromhex`, …).
pub(crate) fn mentions_decoder(code: &str) -> bool {
    [
        "b64decode",
        "base64",
        "atob(",
        "pack(",
        "unhexlify",
        "fromhex",
        "decode('hex')",
        "Buffer.from",
        "decode64",
        "unpack",
    ]
    .iter()
    .any(|d| code.contains(d))
}

/// Decoded text of a quoted literal that is hex or base64 of printable text.
pub(crate) fn decode_literal(lit: &str) -> Option<String> {
    if lit.len() < 8 {
        return None;
    }
    let bytes = if lit.len().is_multiple_of(2) && lit.bytes().all(|c| c.is_ascii_hexdigit()) {
        hex::decode(lit).ok()?
    } else {
        base64::engine::general_purpose::STANDARD.decode(lit).ok()?
    };
    let s = String::from_utf8(bytes).ok()?;
    s.chars().all(|c| !c.is_control() || c == '\n' || c == '\t').then_some(s)
}
