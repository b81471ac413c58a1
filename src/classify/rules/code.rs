//! Interpreter one-liners (`python -c`, `node -e`, `perl -e`, `ruby -e`,
//! `php -r`, `awk`, here-documents fed to interpreters): shell-outs are
//! classified as shell code, destructive file APIs by their target.

use std::borrow::Cow;
use std::ops::Range;
use std::sync::LazyLock;

use super::super::cx::{Cx, Origin};
use super::super::ir::Word;
use super::super::paths::{self, PathKind, Secret};
use super::super::text;
use super::{Inv, Stdin, db, decode, remote, secrets, selfprot};

rules! {
    DESTRUCTIVE_API = ("code.destructive_api", Ambiguous, "An interpreter one-liner deletes files or directories. Use a shell `rm` of the named path, or `trash`.");
    DESTRUCTIVE_API_BROAD = ("code.destructive_api_broad", Catastrophic, "An interpreter one-liner deletes the root, home, a system directory or the whole project. Delete the one subdirectory you mean, by name.");
    SHELL_DYNAMIC = ("code.shell_exec_dynamic", Ambiguous, "An interpreter one-liner runs a shell command that cannot be read. Run the shell command directly.");
    INTERP_STDIN_UNKNOWN = ("code.stdin_unknown", Ambiguous, "An interpreter runs code piped from another command, unread. Write it to a file and run that.");
}

const SHELL_CALLS: &[&str] = &[
    "os.system(",
    "os.popen(",
    "subprocess.run(",
    "subprocess.call(",
    "subprocess.Popen(",
    "subprocess.check_output(",
    "subprocess.check_call(",
    "subprocess.getoutput(",
    "subprocess.getstatusoutput(",
    "execSync(",
    "exec(",
    "spawnSync(",
    "spawn(",
    "execFileSync(",
    "system(",
    "shell_exec(",
    "passthru(",
    "proc_open(",
    "popen(",
    "IO.popen(",
    "Open3.capture2(",
    "Open3.capture3(",
    "%x(",
    "Runtime.getRuntime().exec(",
    "do shell script ",
    "qx(",
    "qx{",
    "sh(",
    "run(",
    "Command::new(",
    "exec.Command(",
    "$.spawn(",
    "Bun.spawn(",
    "Deno.run(",
    "new Deno.Command(",
];

const DESTRUCTIVE_CALLS: &[&str] = &[
    "shutil.rmtree(",
    "os.remove(",
    "os.unlink(",
    "os.rmdir(",
    "os.removedirs(",
    ".unlink(",
    ".rmdir(",
    "rmSync(",
    "rmdirSync(",
    "unlinkSync(",
    "fs.rm(",
    "fs.rmdir(",
    "fs.unlink(",
    "fsp.rm(",
    "promises.rm(",
    "rimraf(",
    "rimraf.sync(",
    "FileUtils.rm_rf(",
    "FileUtils.rm_r(",
    "FileUtils.rm(",
    "FileUtils.remove_dir(",
    "FileUtils.remove_entry(",
    "FileUtils.rm_f(",
    "File.delete(",
    "Dir.rmdir(",
    "rmtree(",
    "remove_tree(",
    "unlink(",
    "unlink ",
    "rm_rf(",
    "rm_rf ",
    "os.RemoveAll(",
    "remove_dir_all(",
    "Deno.remove(",
    "Remove-Item ",
    "rmtree ",
    "send2trash(",
    "fs.emptyDirSync(",
    "emptyDir(",
    "del(",
    "rmdir(",
];

const HOME_EXPRS: &[&str] = &[
    "expanduser",
    "Path.home()",
    "homedir()",
    "os.homedir",
    "process.env.HOME",
    "ENV['HOME']",
    "ENV[\"HOME\"]",
    "$ENV{HOME}",
    "$ENV{'HOME'}",
    "getenv(\"HOME\")",
    "getenv('HOME')",
    "environ['HOME']",
    "environ[\"HOME\"]",
    "Dir.home",
    "$HOME",
    "~",
    "home_dir()",
];

/// Whether `s` contains one of [`HOME_EXPRS`]. Each of them has a `~`,
/// `home` in some case, or is `expanduser`: test for those first.
fn mentions_home(s: &str) -> bool {
    let b = s.as_bytes();
    let hint = b.contains(&b'~')
        || b.windows(4).any(|w| (w[0] | 0x20) == b'h' && w.eq_ignore_ascii_case(b"home"))
        || s.contains("expanduser");
    hint && HOME_EXPRS.iter().any(|h| s.contains(h))
}

/// String literals in `s` (single, double and backquoted), unescaped.
/// A literal without backslashes is borrowed as is.
fn literals(s: &str) -> Vec<Cow<'_, str>> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let q = b[i];
        if q == b'\'' || q == b'"' || q == b'`' {
            i += 1;
            let start = i;
            let mut escaped = false;
            while i < b.len() && b[i] != q {
                if b[i] == b'\\' && i + 1 < b.len() {
                    escaped = true;
                    i += 1;
                }
                i += 1;
            }
            if !escaped {
                // Quotes are ASCII: both ends are character boundaries.
                out.push(Cow::Borrowed(&s[start..i]));
            } else {
                let mut lit = Vec::with_capacity(i - start);
                let mut k = start;
                while k < i {
                    if b[k] == b'\\' && k + 1 < b.len() {
                        k += 1;
                        lit.push(match b[k] {
                            b'n' => b'\n',
                            b't' => b'\t',
                            c => c,
                        });
                    } else {
                        lit.push(b[k]);
                    }
                    k += 1;
                }
                out.push(Cow::Owned(String::from_utf8_lossy(&lit).into_owned()));
            }
        }
        i += 1;
    }
    out
}

/// Text of a call's arguments: from after the opening parenthesis to its match.
fn call_args(s: &str) -> &str {
    let b = s.as_bytes();
    let mut depth = 1i32;
    let mut i = 0;
    let mut quote = 0u8;
    while i < b.len() {
        let c = b[i];
        if quote != 0 {
            if c == b'\\' {
                i += 1;
            } else if c == quote {
                quote = 0;
            }
        } else {
            match c {
                b'\'' | b'"' | b'`' => quote = c,
                b'(' | b'[' | b'{' => depth += 1,
                b')' | b']' | b'}' => {
                    depth -= 1;
                    if depth == 0 {
                        return &s[..i];
                    }
                }
                b';' | b'\n' if depth == 1 => return &s[..i],
                _ => {}
            }
        }
        i += 1;
    }
    s
}

fn word_boundary_before(code: &str, pos: usize) -> bool {
    code[..pos].chars().next_back().is_none_or(|c| !(c.is_ascii_alphanumeric() || c == '_'))
}

/// Patterns found by substring search rather than from call sites: those
/// not ending in `(` and the one with a parenthesis inside.
fn searched(call: &str) -> bool {
    !call.ends_with('(') || call.starts_with("Runtime.")
}

/// A pattern list prepared once for [`find_calls`]: the patterns found from
/// call sites, bucketed by the byte before their `(` (a call site can only
/// match the patterns of its chain's last byte), and the searched ones.
/// Both keep the list's order.
struct CallTable {
    by_last: Vec<Vec<&'static str>>,
    searched: Vec<&'static str>,
}

impl CallTable {
    fn new(calls: &[&'static str]) -> Self {
        let mut by_last = vec![Vec::new(); 256];
        let mut searched_calls = Vec::new();
        for &call in calls {
            if searched(call) {
                searched_calls.push(call);
            } else if call.len() >= 2 {
                by_last[usize::from(call.as_bytes()[call.len() - 2])].push(call);
            }
        }
        CallTable { by_last, searched: searched_calls }
    }
}

static SHELL_TABLE: LazyLock<CallTable> = LazyLock::new(|| CallTable::new(SHELL_CALLS));
static DESTRUCTIVE_TABLE: LazyLock<CallTable> = LazyLock::new(|| CallTable::new(DESTRUCTIVE_CALLS));

/// Occurrences of a table's patterns in `code`, as `(pattern, byte position)`:
/// call sites in order (and, at each, patterns in list order), then each
/// searched pattern's occurrences. Patterns ending in `(` are found from the
/// call sites (one pass over the parentheses) instead of one substring search
/// per pattern.
fn find_calls(code: &str, table: &CallTable) -> Vec<(&'static str, usize)> {
    let b = code.as_bytes();
    let mut out = Vec::new();
    for (paren, _) in code.match_indices('(') {
        let mut start = paren;
        while start > 0
            && (b[start - 1].is_ascii_alphanumeric() || matches!(b[start - 1], b'_' | b'.' | b'$' | b'%' | b':'))
        {
            start -= 1;
        }
        let chain = &code[start..paren];
        let Some(&last) = chain.as_bytes().last() else {
            continue;
        };
        for call in &table.by_last[usize::from(last)] {
            let name = &call[..call.len() - 1];
            if chain.ends_with(name) {
                out.push((*call, paren - name.len()));
            }
        }
    }
    for call in &table.searched {
        if !text::has(code, call) {
            continue;
        }
        // Non-overlapping occurrences, as `match_indices`.
        let mut from = 0;
        while let Some(p) = text::find(&code[from..], call) {
            out.push((*call, from + p));
            from += p + call.len();
        }
    }
    out
}

/// Scan interpreter code. `span` is where the code sits in the input.
pub(crate) fn scan(cx: &mut Cx<'_>, code: &str, span: Range<usize>, depth: u32) {
    let pin = Origin { base: span.start, pin: Some(span.clone()) };
    // Hex or base64 literals the code decodes: the payload is classified as a command line.
    if decode::mentions_decoder(code) {
        for lit in literals(code) {
            if let Some(payload) = decode::decode_literal(&lit) {
                cx.run_code(&payload, &pin, depth + 1);
            }
        }
    }
    shell_outs(cx, code, &span, &pin, depth);
    // Ruby/Perl backquotes.
    if code.contains('`') && !code.contains("${") {
        let mut parts = code.split('`');
        parts.next();
        while let Some(inner) = parts.next() {
            cx.run_code(inner, &pin, depth + 1);
            parts.next();
        }
    }
    for (call, pos) in find_calls(code, &DESTRUCTIVE_TABLE) {
        if call.starts_with('.') || word_boundary_before(code, pos) {
            destructive_call(cx, code, call, pos, &span);
        }
    }
    literal_mentions(cx, code, &span);
}

/// Shell-outs (`os.system("…")`, `execSync('…')`): their literal command is shell code.
fn shell_outs(cx: &mut Cx<'_>, code: &str, span: &Range<usize>, pin: &Origin, depth: u32) {
    for (call, pos) in find_calls(code, &SHELL_TABLE) {
        if call.as_bytes()[0].is_ascii_alphabetic() && !call.contains('.') && !word_boundary_before(code, pos) {
            continue;
        }
        let rest = &code[pos + call.len()..];
        let args = if call.ends_with('(') || call.ends_with('{') {
            call_args(rest)
        } else {
            rest.lines().next().unwrap_or("")
        };
        let lits = literals(args);
        if lits.is_empty() {
            if !matches!(call, "run(" | "sh(" | "exec(" | "del(") {
                cx.hit(&SHELL_DYNAMIC, span.clone());
            }
            continue;
        }
        let list = args.trim_start().starts_with('[')
            || call.starts_with("spawn")
            || call.starts_with("Command")
            || call.starts_with("exec.Command")
            || call.starts_with("execFile")
            || lits.len() > 1 && args.contains(',');
        let shell = if list { Cow::Owned(lits.join(" ")) } else { lits[0].clone() };
        cx.run_code(&shell, pin, depth + 1);
    }
}

/// Path kinds whose deletion by a one-liner is broad.
const BROAD_TARGETS: &[PathKind] = &[
    PathKind::Root,
    PathKind::Home,
    PathKind::HomeTop,
    PathKind::SystemDir,
    PathKind::Cwd,
    PathKind::Parent,
    PathKind::GitDir,
];

/// A destructive file API (`shutil.rmtree(…)`, `fs.rmSync(…)`, `Path(…).unlink()`) at `pos`.
fn destructive_call(cx: &mut Cx<'_>, code: &str, call: &str, pos: usize, span: &Range<usize>) {
    let rest = &code[pos + call.len()..];
    let args = if call.ends_with('(') { call_args(rest) } else { rest.split([';', '\n']).next().unwrap_or("") };
    let head = &code[..pos];
    let lits = literals(args);
    let broad_lit = lits.iter().any(|l| BROAD_TARGETS.contains(&paths::kind(l)));
    let home = mentions_home(args)
        && !lits.iter().any(|l| {
            let home_child = l.starts_with("~/") && !l[2..].contains('/');
            l.trim_matches('/').contains('/') && !home_child
        });
    let receiver_broad = call.starts_with('.') && {
        // `Path('/').rmdir()`, `Path.home().unlink()`
        let recv = head.rsplit([' ', ';', '=', '\n']).next().unwrap_or("");
        mentions_home(recv)
            || literals(recv)
                .iter()
                .any(|l| matches!(paths::kind(l), PathKind::Root | PathKind::Home | PathKind::SystemDir))
    };
    if let Some(l) = lits.iter().find(|l| selfprot::guarded_path(l)) {
        selfprot::hit_path(cx, l, span.clone());
    } else if broad_lit || home || receiver_broad {
        cx.hit(&DESTRUCTIVE_API_BROAD, span.clone());
    } else if lits.iter().any(|l| paths::secret(l) == Some(Secret::Key)) {
        cx.hit(&super::fs::RM_SECRET, span.clone());
    } else if lits.is_empty() || !lits.iter().all(|l| matches!(paths::kind(l), PathKind::Artifact | PathKind::Tmp)) {
        cx.hit(&DESTRUCTIVE_API, span.clone());
    }
}

/// Words in code that write to something.
const WRITE_WORDS: &[&str] = &[
    "write", "dump", "truncate", "rename", "replace", "copy", "move", "unlink", "remove", "'w'", "\"w\"", "'a'",
    "\"a\"", ">", "sed", "tee",
];
/// Words in code that send something over the network.
const SEND_WORDS: &[&str] = &["requests.post", "fetch(", "urlopen", "http"];

/// Literals of the code: guarded paths written, secrets read or sent, SQL run through a driver.
fn literal_mentions(cx: &mut Cx<'_>, code: &str, span: &Range<usize>) {
    let lits = literals(code);
    for l in &lits {
        if selfprot::guarded_path(l) && WRITE_WORDS.iter().any(|w| code.contains(w)) {
            selfprot::hit_path(cx, l, span.clone());
        }
        match paths::secret(l) {
            Some(Secret::Key) => cx.hit(&secrets::READ_KEY, span.clone()),
            Some(Secret::EnvFile) if SEND_WORDS.iter().any(|w| code.contains(w)) => {
                cx.hit(&secrets::EXFILTRATE, span.clone())
            }
            _ => {}
        }
    }
    for l in &lits {
        if l.len() > 6
            && let Some(r) = db::sql_danger(l)
            && (r.class == super::super::Class::Catastrophic || l.to_ascii_uppercase().starts_with("DROP"))
        {
            cx.hit(r, span.clone());
        }
    }
}

fn code_option<'a, 'w>(name: &str, args: &'a [Word<'w>]) -> (Option<&'a Word<'w>>, Option<usize>) {
    // Returns (code word, index of first script/positional operand).
    let opts: &[&str] = match name {
        "python" | "pypy" | "python2" => &["-c"],
        "node" | "nodejs" | "bun" => &["-e", "--eval", "-p", "--print"],
        "deno" => &["eval"],
        "perl" | "ruby" | "lua" | "julia" | "osascript" | "Rscript" | "irb" | "elixir" | "erl" | "groovy" => {
            &["-e", "-E", "-eval"]
        }
        "php" => &["-r"],
        "pwsh" | "powershell" => &["-Command", "-c", "-command", "-C"],
        "tclsh" | "jshell" | "scala" | "swift" => &["-e"],
        _ => &[],
    };
    let with_arg: &[&str] = match name {
        "python" | "pypy" | "python2" => &["-m", "-W", "-X", "-Q"],
        "node" | "nodejs" | "bun" => &["-r", "--require", "--import", "--loader", "--inspect-port", "--env-file"],
        "perl" => &["-I", "-M", "-m"],
        "ruby" => &["-I", "-r", "-C"],
        "php" => &["-d", "-c", "-f"],
        _ => &[],
    };
    let mut k = 0;
    while k < args.len() {
        let t = args[k].as_str();
        if opts.contains(&t) {
            return (args.get(k + 1), None);
        }
        // Bundled short options ending in the code flag: `perl -pe`, `perl -lne`, `ruby -ne`.
        if t.starts_with('-') && !t.starts_with("--") && t.len() > 2 {
            // By byte: a bundle is ASCII letters, and a last byte inside a wider character matches no flag.
            let last = t.as_bytes()[t.len() - 1];
            if opts.iter().any(|o| o.len() == 2 && o.as_bytes()[1] == last)
                && t.as_bytes()[1..t.len() - 1].iter().all(|c| c.is_ascii_alphabetic())
            {
                return (args.get(k + 1), None);
            }
            // `python -cCODE`
            if name == "python" && t.starts_with("-c") {
                return (Some(&args[k]), None);
            }
        }
        if t == "-m" && name == "python" {
            return (None, None); // module run: `python -m pytest`
        }
        if with_arg.contains(&t) {
            k += 2;
            continue;
        }
        if t.starts_with('-') && t.len() > 1 {
            k += 1;
            continue;
        }
        return (None, Some(k));
    }
    (None, None)
}

pub(crate) fn check(cx: &mut Cx<'_>, name: &str, argv: &[Word<'_>], inv: &Inv<'_>) {
    let args = &argv[1..];
    if matches!(name, "awk" | "gawk" | "mawk" | "nawk") {
        // Program text: first operand unless -f.
        let mut k = 0;
        while k < args.len() {
            let t = args[k].as_str();
            if matches!(t, "-F" | "-v" | "-f" | "--field-separator" | "--assign") {
                if t == "-f" {
                    return;
                }
                k += 2;
                continue;
            }
            if t.starts_with('-') && t.len() > 1 {
                k += 1;
                continue;
            }
            let prog = &args[k];
            let p = prog.as_str();
            if p.contains("system(") || p.contains("| \"") || p.contains("|\"") || p.contains("getline") {
                scan(cx, p, prog.span.clone(), inv.depth);
                // `system("\x72\x6d …")`: awk decodes the escapes before the shell sees them.
                if p.contains('\\') {
                    scan(cx, &decode::unescape(p), prog.span.clone(), inv.depth);
                }
                // `print … | "sh"` pipes data into a shell.
                if p.contains("| \"sh\"") || p.contains("|\"sh\"") || p.contains("| \"bash\"") {
                    cx.hit(&SHELL_DYNAMIC, prog.span.clone());
                }
            }
            return;
        }
        return;
    }
    let (code, script) = code_option(name, args);
    if let Some(c) = code {
        if c.fetch {
            return cx.hit(&remote::EVAL_DOWNLOAD, c.span.clone());
        }
        return scan(cx, c.as_str(), c.span.clone(), inv.depth);
    }
    if let Some(s) = script {
        let sw = &args[s];
        if sw.fetch {
            return cx.hit(&remote::PROCESS_SUBST, sw.span.clone());
        }
        let base = sw.as_str().rsplit('/').next().unwrap_or("");
        if base == "manage.py" || base == "artisan" {
            return db::check(cx, base, &args[s..], inv);
        }
        if sw.as_str() != "-" {
            return;
        }
    }
    if code.is_none() && script.is_none() && args.iter().any(|a| a.as_str() == "-m") {
        return;
    }
    // Code from stdin.
    match &inv.stdin {
        Stdin::Fetch(span) => {
            let span = span.start.min(argv[0].span.start)..argv[0].span.end.max(span.end);
            cx.hit(&remote::PIPE_TO_INTERPRETER, span);
        }
        Stdin::Data(text, w) => scan(cx, text, w.span.clone(), inv.depth),
        Stdin::Pipe if !matches!(name, "osascript") && args.is_empty() => {
            cx.hit(&INTERP_STDIN_UNKNOWN, argv[0].span.clone())
        }
        _ => {}
    }
    let _ = PathKind::Root;
}
