//! Windows and PowerShell: credential hives, shadow copies, boot settings,
//! download cradles, Defender, recursive deletes of the system drive, and
//! `powershell -EncodedCommand` (decoded from UTF-16LE base64, then classified).

use std::borrow::Cow;
use std::ops::Range;

use base64::Engine as _;

use super::super::cx::Cx;
use super::super::ir::Word;
use super::table::{Handler, Row, When};
use super::{Inv, code};

rules! {
    HIVE_DUMP = ("win.hive_dump", Catastrophic, "Saves the SAM, SYSTEM or SECURITY registry hive: the machine's password hashes and secrets.");
    SHADOW_DELETE = ("win.shadow_delete", Catastrophic, "Deletes volume shadow copies or backups, the machine's restore points (what ransomware does first).");
    BOOT_CONFIG = ("win.boot_config", Catastrophic, "Changes the boot configuration (recovery, safe boot): the machine may not start again. `bcdedit /enum` only reads it.");
    LOLBIN_FETCH = ("win.lolbin_fetch", Ambiguous, "Downloads, decodes or runs a script through a system tool (certutil, bitsadmin, mshta, regsvr32, rundll32), a common way to slip code past checks. Download with a visible tool and inspect the file.");
    DEFENDER_OFF = ("win.defender_off", Catastrophic, "Disables Windows Defender or excludes paths from it, leaving the machine unprotected.");
    DISK_WIPE = ("win.disk_wipe", Catastrophic, "Formats, clears or repartitions a disk: every file on it is lost. Check the disk number with `Get-Disk` first.");
    DISK_TOOL = ("win.disk_tool", Ambiguous, "Runs diskpart, which can erase or repartition disks from a script that cannot be checked here.");
    DOWNLOAD_EXEC = ("win.download_exec", Catastrophic, "Downloads a script and runs it at once (Invoke-Expression of a web request). Download it to a file and read it first.");
    DELETE_BROAD = ("win.delete_broad", Catastrophic, "Recursively deletes a drive root, Windows, Program Files or a user profile: everything there is lost. Delete the specific project folder instead.");
    CREDENTIALS = ("win.credentials", Ambiguous, "Lists or stores Windows saved credentials (cmdkey).");
    ACCOUNT = ("win.account", Ambiguous, "Creates a Windows user or adds one to a group such as Administrators.");
    AUDIT_OFF = ("win.audit_off", Ambiguous, "Clears event logs or turns the firewall off, removing the machine's record or protection.");
    POLICY_BYPASS = ("win.policy_bypass", Ambiguous, "Runs a PowerShell script with the execution policy bypassed; the script's content is not checked.");
    PROCESS_KILL = ("win.process_kill", Ambiguous, "Force-stops processes, losing their unsaved work. Stop the one process by its id (`Stop-Process -Id`).");
    ENCODED_UNREADABLE = ("win.encoded_unreadable", Ambiguous, "Runs an encoded PowerShell command that does not decode, so its effect cannot be known.");
}

pub(crate) const ROWS: &[Row] = &[
    Row { progs: &["reg", "reg.exe"], path: &["save|export"], when: When::Test(credential_hive), rule: &HIVE_DUMP },
    Row { progs: &["vssadmin", "vssadmin.exe"], path: &["delete|resize"], when: When::Always, rule: &SHADOW_DELETE },
    Row { progs: &["wmic", "wmic.exe"], path: &[], when: When::All(&["shadowcopy", "delete"]), rule: &SHADOW_DELETE },
    Row { progs: &["wbadmin", "wbadmin.exe"], path: &["delete"], when: When::Always, rule: &SHADOW_DELETE },
    Row {
        progs: &["bcdedit", "bcdedit.exe"],
        path: &[],
        when: When::Flag(&["/set", "/deletevalue", "/delete", "/import"]),
        rule: &BOOT_CONFIG,
    },
    Row {
        progs: &["certutil", "certutil.exe"],
        path: &[],
        when: When::Flag(&["-urlcache", "-decode", "-decodehex", "/urlcache", "/decode", "-verifyctl"]),
        rule: &LOLBIN_FETCH,
    },
    Row {
        progs: &["bitsadmin", "bitsadmin.exe"],
        path: &[],
        when: When::Flag(&["/transfer", "/addfile", "/create"]),
        rule: &LOLBIN_FETCH,
    },
    Row {
        progs: &["mshta", "mshta.exe", "rundll32", "rundll32.exe"],
        path: &[],
        when: When::Always,
        rule: &LOLBIN_FETCH,
    },
    Row {
        progs: &["regsvr32", "regsvr32.exe"],
        path: &[],
        when: When::Contains(&["/i:", "scrobj"]),
        rule: &LOLBIN_FETCH,
    },
    Row { progs: &["diskpart", "diskpart.exe"], path: &[], when: When::Always, rule: &DISK_TOOL },
    Row { progs: &["cmdkey", "cmdkey.exe"], path: &[], when: When::Always, rule: &CREDENTIALS },
    Row {
        progs: &["net", "net.exe", "net1"],
        path: &["user|localgroup|group"],
        when: When::Flag(&["/add"]),
        rule: &ACCOUNT,
    },
    Row { progs: &["wevtutil", "wevtutil.exe"], path: &["cl|clear-log"], when: When::Always, rule: &AUDIT_OFF },
    Row { progs: &["netsh", "netsh.exe"], path: &[], when: When::All(&["advfirewall", "off"]), rule: &AUDIT_OFF },
    Row { progs: &["rd", "rmdir", "del", "erase"], path: &[], when: When::Test(deletes_broad), rule: &DELETE_BROAD },
];

/// A drive root, the Windows or Program Files tree, or a user profile. The
/// shell may have eaten the backslashes (`C:\Users` reaches us as `C:Users`).
fn win_broad(t: &str) -> bool {
    let l = t.trim_matches(|c| c == '"' || c == '\'').to_ascii_lowercase().replace('/', "\\");
    let l = l.trim_end_matches(['\\', '*', '.']);
    let compact: String = l.chars().filter(|&c| c != '\\').collect();
    let b = compact.as_bytes();
    let drive = b.len() == 2 && b[1] == b':' && b[0].is_ascii_alphabetic();
    let users_depth = l.split('\\').count();
    drive
        || compact.starts_with("c:windows")
        || compact.starts_with("c:program")
        || (compact.starts_with("c:users") && (!l.contains('\\') || users_depth <= 3))
        || matches!(
            l,
            "$home" | "~" | "$env:userprofile" | "%userprofile%" | "%systemroot%" | "%windir%" | "$env:systemroot"
        )
}

/// `HKLM\SAM`, `HKLM\SYSTEM`, `HKLM\SECURITY` (or `HKLMSAM` once the shell ate the backslash).
fn credential_hive(args: &[Word<'_>], _: &Inv<'_>) -> bool {
    args.iter().any(|a| {
        let l: String = a.as_str().to_ascii_lowercase().chars().filter(|&c| c != '\\').collect();
        let rest = l.strip_prefix("hklm").or_else(|| l.strip_prefix("hkey_local_machine"));
        rest.is_some_and(|r| matches!(r, "sam" | "system" | "security"))
    })
}

fn deletes_broad(args: &[Word<'_>], _: &Inv<'_>) -> bool {
    args.iter().any(|a| a.as_str().eq_ignore_ascii_case("/s")) && args.iter().any(|a| win_broad(a.as_str()))
}

/// PowerShell text facts: each row is a conjunction of alternatives (ASCII lowercase substrings).
const PS_TEXT: &[(&[&[&str]], &Rule)] = &[
    (&[&["set-mppreference", "add-mppreference"], &["-disable", "-exclusion"]], &DEFENDER_OFF),
    (&[&["format-volume", "clear-disk", "remove-partition", "initialize-disk"]], &DISK_WIPE),
    (
        &[
            &["iex", "invoke-expression"],
            &[
                "downloadstring",
                "invoke-webrequest",
                "iwr ",
                "irm ",
                "invoke-restmethod",
                "net.webclient",
                "downloadfile",
            ],
        ],
        &DOWNLOAD_EXEC,
    ),
    (&[&["stop-process", "taskkill"], &["-force", "/f"]], &PROCESS_KILL),
    (&[&["-executionpolicy", "-ep ", "-exec "], &["bypass", "unrestricted"]], &POLICY_BYPASS),
];

use super::super::Rule;

const REMOVERS: &[&str] = &["remove-item", "rm", "ri", "del", "rd", "rmdir", "erase", "rimraf"];

/// Classify PowerShell text (a `-Command`, a decoded `-EncodedCommand`, a cmdlet line).
fn ps_scan(cx: &mut Cx<'_>, text: &str, span: Range<usize>, depth: u32) {
    let lower = text.to_ascii_lowercase();
    for (conj, rule) in PS_TEXT {
        if conj.iter().all(|alts| alts.iter().any(|a| lower.contains(a))) {
            cx.hit(rule, span.clone());
        }
    }
    let tokens: Vec<&str> =
        lower.split(|c: char| c.is_whitespace() || matches!(c, ';' | '|' | '(' | ')' | '{' | '}')).collect();
    if tokens.iter().any(|t| REMOVERS.contains(t))
        && tokens.iter().any(|t| t.starts_with("-r"))
        && tokens.iter().any(|t| win_broad(t))
    {
        cx.hit(&DELETE_BROAD, span.clone());
    }
    code::scan(cx, text, span, depth);
}

/// `-EncodedCommand` and the abbreviations PowerShell accepts (`-e`, `-ec`, `-enc`, …).
fn is_encoded_flag(t: &str) -> bool {
    let l = t.to_ascii_lowercase();
    let l = l.strip_prefix('/').map(|r| format!("-{r}")).unwrap_or(l);
    l == "-e" || l == "-ec" || (l.len() >= 4 && "-encodedcommand".starts_with(&l))
}

/// Base64 of UTF-16LE, as `-EncodedCommand` takes it.
fn decode_utf16_b64(s: &str) -> Option<String> {
    let bytes = base64::engine::general_purpose::STANDARD.decode(s.trim()).ok()?;
    if !bytes.len().is_multiple_of(2) {
        return None;
    }
    let units: Vec<u16> = bytes.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect();
    String::from_utf16(&units).ok()
}

fn powershell(cx: &mut Cx<'_>, _name: &str, argv: &[Word<'_>], inv: &Inv<'_>) {
    let whole = argv[0].span.start..argv[argv.len() - 1].span.end;
    let joined = argv.iter().map(|w| w.as_str()).collect::<Vec<_>>().join(" ");
    ps_scan(cx, &joined, whole.clone(), inv.depth);
    let args = &argv[1..];
    if let Some(k) = args.iter().position(|a| is_encoded_flag(a.as_str())) {
        let Some(payload) = args.get(k + 1) else { return };
        match decode_utf16_b64(payload.as_str()) {
            Some(text) => {
                ps_scan(cx, &text, payload.span.clone(), inv.depth + 1);
                // The decoded text is also a command line (`rm -rf …` works in PowerShell).
                let origin = super::super::cx::Origin { base: payload.span.start, pin: Some(payload.span.clone()) };
                cx.run_code(&text, &origin, inv.depth + 1);
            }
            None => cx.hit(&ENCODED_UNREADABLE, payload.span.clone()),
        }
    }
}

/// `cmd /c LINE`: the line's words are classified as a command.
fn cmd(cx: &mut Cx<'_>, _name: &str, argv: &[Word<'_>], inv: &Inv<'_>) {
    let Some(k) = argv.iter().position(|a| matches!(a.as_str().to_ascii_lowercase().as_str(), "/c" | "/k" | "/r"))
    else {
        return;
    };
    let rest = &argv[k + 1..];
    let Some(first) = rest.first() else { return };
    let span = first.span.start..rest[rest.len() - 1].span.end;
    let joined = rest.iter().map(|w| w.as_str()).collect::<Vec<_>>().join(" ");
    let words: Vec<Word<'_>> = joined
        .split(|c: char| c.is_whitespace() || c == '"')
        .filter(|s| !s.is_empty())
        .map(|s| Word { text: Cow::Owned(s.to_string()), span: span.clone(), ..Default::default() })
        .collect();
    if !words.is_empty() {
        let inner = Inv { depth: inv.depth + 1, ..inv.clone() };
        super::super::unwrap::eval_argv(cx, &words, &inner);
    }
}

pub(crate) const HANDLERS: &[(&[&str], Handler)] = &[
    (&["powershell", "pwsh", "powershell.exe", "pwsh.exe"], powershell),
    (
        &[
            "set-mppreference",
            "add-mppreference",
            "format-volume",
            "clear-disk",
            "remove-partition",
            "remove-item",
            "invoke-expression",
            "iex",
            "stop-process",
        ],
        powershell,
    ),
    (&["cmd", "cmd.exe"], cmd),
];
