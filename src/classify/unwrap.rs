//! Unwrapping of wrapper programs (`sudo`, `env`, `nice`, `timeout`, `xargs`,
//! `bash -c`, `eval`, `find -exec`, …) so the rules see the real program.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::LazyLock;

use super::cx::Cx;
use super::ir::Word;
use super::limits;
use super::rules::names::FnvBuild;
use super::rules::{self, Inv, Stdin, meta, program_name, remote};

/// Skip options of a wrapper. `with_arg` lists short/long options that take
/// a separate argument. Returns the index of the first operand.
fn skip_opts(argv: &[Word<'_>], mut i: usize, with_arg: &[&str]) -> usize {
    while i < argv.len() {
        let t = argv[i].as_str();
        if t == "--" {
            return i + 1;
        }
        if !t.starts_with('-') || t.len() == 1 {
            return i;
        }
        if with_arg.contains(&t) {
            i += 2;
            continue;
        }
        i += 1;
    }
    // An option that wants a value can be the last word: never past the end.
    i.min(argv.len())
}

/// A wrapper's options, for wrappers that run the rest of their words as a command
/// (`time -p CMD`, `strace -e EXPR CMD`): (those that take a separate value, known flags). Each
/// wrapper has its own: one shared list would skip the program (`-p` takes a pid for strace but
/// nothing for time).
fn prefix_options(wrapper: &str) -> (&'static [&'static str], &'static [&'static str]) {
    match wrapper {
        "time" | "gtime" => (
            &["-o", "-f", "--output", "--format"],
            &["-p", "-a", "-v", "-q", "--portability", "--append", "--verbose", "--quiet"],
        ),
        "strace" => (
            &[
                "-o",
                "-p",
                "-e",
                "-s",
                "-a",
                "-b",
                "-E",
                "-u",
                "-I",
                "-O",
                "-P",
                "-S",
                "-X",
                "-U",
                "--output",
                "--attach",
                "--string-limit",
                "--user",
                "--env",
            ],
            &["-f", "-ff", "-c", "-C", "-w", "-t", "-tt", "-ttt", "-T", "-y", "-yy", "-q", "-qq", "-v", "-x", "-xx"],
        ),
        "ltrace" => (
            &["-o", "-p", "-e", "-s", "-a", "-n", "-u", "-A", "-D", "-F", "-l", "-x", "-w", "--output", "--library"],
            &["-f", "-c", "-C", "-i", "-r", "-S", "-t", "-tt", "-ttt", "-T"],
        ),
        "setsid" => (&[], &["-c", "-f", "-w", "--ctty", "--fork", "--wait"]),
        "chronic" => (&[], &["-e", "-v"]),
        "unbuffer" => (&[], &["-p"]),
        "caffeinate" => (&["-t", "-w"], &["-d", "-i", "-m", "-s", "-u"]),
        "proxychains" | "proxychains4" => (&["-f"], &["-q"]),
        "torsocks" => (&["-u", "-p", "-a", "-P", "--user", "--pass", "--address", "--port"], &["-i", "-q", "-d"]),
        "tsp" => (&["-L", "-D", "-N"], &["-n", "-f", "-g", "-B"]),
        "faketime" => (&["--date-prog"], &["-m", "-f", "--exclude-monotonic", "--disable-shm"]),
        "arch" => (&["-e"], &[]),
        _ => (&[], &[]),
    }
}

fn join_words(ws: &[Word<'_>]) -> String {
    ws.iter().map(|w| w.as_str()).collect::<Vec<_>>().join(" ")
}

const SHELLS: &[&str] = &[
    "sh", "bash", "zsh", "dash", "ksh", "mksh", "ash", "fish", "busybox", "csh", "tcsh", "yash", "rbash", "pdksh",
    "oksh", "elvish", "nu", "xonsh",
];

pub(crate) fn is_shell(name: &str) -> bool {
    SHELLS.contains(&name)
}

/// Evaluate a simple command's words (leading assignments allowed).
pub(crate) fn eval_argv(cx: &mut Cx<'_>, argv: &[Word<'_>], inv: &Inv<'_>) {
    if inv.depth > limits::MAX_DEPTH {
        let span = argv.first().map(|w| w.span.clone()).unwrap_or(0..0);
        cx.hit(&meta::PARSE_COMPLEX, span);
        return;
    }
    let mut inv = inv.clone();
    let mut i = 0;
    let mut root_shell_flag = false;
    loop {
        while i < argv.len() && argv[i].assign {
            i += 1;
        }
        if i >= argv.len() {
            if root_shell_flag {
                let span = argv.first().map(|w| w.span.clone()).unwrap_or(0..0);
                cx.hit(&meta::ROOT_SHELL, span);
            }
            return;
        }
        let w = &argv[i];
        if w.dynamic
            && !w.fetch
            && let Some(v) = cx.resolve_program(w)
        {
            let mut sub: Vec<Word<'_>> = Vec::with_capacity(argv.len() - i);
            // `IFS=,; c=rm,-rf,/; $c`: the expansion is split on IFS into words.
            let ifs = cx.resolve_program(&Word { text: Cow::Borrowed("$IFS"), ..Default::default() });
            match ifs.filter(|f| !f.is_empty() && v.contains(|c| f.contains(c))) {
                Some(f) => sub.extend(v.split(|c| f.contains(c)).filter(|p| !p.is_empty()).map(|p| Word {
                    text: Cow::Owned(p.to_string()),
                    span: w.span.clone(),
                    ..Default::default()
                })),
                None => sub.push(Word { text: Cow::Owned(v), span: w.span.clone(), ..Default::default() }),
            }
            sub.extend(argv[i + 1..].iter().cloned());
            let inner = Inv { depth: inv.depth + 1, ..inv.clone() };
            eval_argv(cx, &sub, &inner);
            return;
        }
        if w.dynamic || w.placeholder {
            if w.fetch {
                cx.hit(&remote::EVAL_DOWNLOAD, w.span.clone());
            } else {
                cx.hit(&meta::DYNAMIC_PROGRAM, w.span.clone());
            }
            return;
        }
        let name = program_name(w.as_str());
        let arm = WRAPPER_INDEX.get(name).copied().unwrap_or(if is_shell(name) { shell_arm } else { dispatch });
        match arm(cx, name, argv, i, &mut inv, &mut root_shell_flag) {
            Next::At(k) => i = k,
            Next::Done => return,
        }
    }
}

/// `sh -c CODE`, `bash script`, `bash` reading stdin.
fn shell(cx: &mut Cx<'_>, argv: &[Word<'_>], inv: &Inv<'_>) {
    let args = &argv[1..];
    let mut k = 0;
    let mut command_mode = false;
    let mut stdin_mode = false;
    while k < args.len() {
        let t = args[k].as_str();
        if t == "--" || t == "-" {
            k += 1;
            if t == "-" {
                stdin_mode = true;
            }
            break;
        }
        if (t.starts_with('-') || t.starts_with('+')) && t.len() > 1 {
            if matches!(t, "-o" | "+o" | "-O" | "+O" | "--rcfile" | "--init-file") {
                k += 2;
                continue;
            }
            if !t.starts_with("--") && t.contains('c') {
                command_mode = true;
            }
            if !t.starts_with("--") && t.contains('s') {
                stdin_mode = true;
            }
            k += 1;
            continue;
        }
        break;
    }
    if argv[0].as_str() == "busybox" {
        // `busybox sh -c …` / `busybox rm -rf /`
        if let Some(first) = args.first() {
            let n = program_name(first.as_str());
            if is_shell(n) {
                shell(cx, args, inv);
            } else {
                eval_argv(cx, args, inv);
            }
        }
        return;
    }
    if command_mode {
        if let Some(c) = args.get(k) {
            if c.fetch {
                cx.hit(&remote::EVAL_DOWNLOAD, c.span.clone());
                return;
            }
            let origin = cx.origin_of(c, c.as_str());
            let placeholder = args[k + 1..].iter().find(|a| a.placeholder).map(|a| a.as_str().to_string());
            let new = placeholder.or_else(|| cx.positional.clone());
            let saved = std::mem::replace(&mut cx.positional, new);
            cx.run_code(c.as_str(), &origin, inv.depth + 1);
            cx.positional = saved;
        }
        return;
    }
    if let Some(script) = args.get(k).filter(|_| !stdin_mode) {
        if script.fetch {
            cx.hit(&remote::PROCESS_SUBST, script.span.clone());
        }
        // A script file: its content is unknown, as for any program.
        return;
    }
    // Reads commands from stdin.
    match &inv.stdin {
        Stdin::Fetch(span) => {
            let span = span.start.min(argv[0].span.start)..argv[0].span.end.max(span.end);
            cx.hit(&remote::PIPE_TO_SHELL, span);
        }
        Stdin::Data(text, w) => {
            let origin = cx.origin_of(w, text);
            cx.run_code(text, &origin, inv.depth + 1);
        }
        Stdin::Pipe => cx.hit(&meta::SHELL_STDIN_UNKNOWN, argv[0].span.clone()),
        // `sudo bash`, `pkexec sh`: an interactive root shell.
        Stdin::Tty if inv.sudo => cx.hit(&meta::ROOT_SHELL, argv[0].span.clone()),
        Stdin::File(_) | Stdin::Tty => {}
    }
}

/// `parallel CMD ::: V…` runs CMD with each value (`{}` replaced, or appended);
/// `parallel ::: CMD…` runs each value as a command line.
fn parallel_values(cx: &mut Cx<'_>, cmd: &[Word<'_>], tail: &[Word<'_>], inv: &Inv<'_>) {
    let Some((_, values)) = tail.split_first() else { return };
    let values = values.iter().take_while(|w| !w.as_str().starts_with(":::")).take(16);
    for v in values {
        if cmd.is_empty() {
            let origin = cx.origin_of(v, v.as_str());
            cx.run_code(v.as_str(), &origin, inv.depth + 1);
            continue;
        }
        let mut sub: Vec<Word<'_>> = cmd.to_vec();
        match sub.iter_mut().find(|w| w.as_str().contains("{}")) {
            Some(w) => w.text = Cow::Owned(w.as_str().replace("{}", v.as_str())),
            None => sub.push(v.clone()),
        }
        let inner = Inv { runtime_args: false, depth: inv.depth + 1, ..inv.clone() };
        eval_argv(cx, &sub, &inner);
    }
}

/// Where an unwrapping step leaves the walk over the words.
enum Next {
    /// The inner command starts at this word.
    At(usize),
    /// Everything was classified.
    Done,
}

/// One wrapper's knowledge: given its position, find the inner command or classify it.
type Arm = fn(&mut Cx<'_>, &str, &[Word<'_>], usize, &mut Inv<'_>, &mut bool) -> Next;

/// Programs that wrap other commands, and how each finds the command it runs.
const WRAPPERS: &[(&[&str], Arm)] = &[
    (&["sudo", "doas", "run0", "pkexec", "please"], elevate),
    (&["env"], env),
    (&["nice"], nice),
    (&["ionice"], ionice),
    (&["chrt"], chrt),
    (&["taskset"], taskset),
    (
        &[
            "nohup",
            "setsid",
            "builtin",
            "unbuffer",
            "chronic",
            "caffeinate",
            "time",
            "gtime",
            "proxychains",
            "proxychains4",
            "torsocks",
            "tsp",
            "catchsegv",
            "strace",
            "ltrace",
            "valgrind",
            "faketime",
            "firejail",
            "arch",
        ],
        prefix_wrapper,
    ),
    (&["timeout", "gtimeout"], timeout),
    (&["stdbuf"], stdbuf),
    (&["flock"], flock),
    (&["command"], command),
    (&["exec"], exec),
    (&["xargs", "gxargs"], xargs),
    (&["parallel"], parallel),
    (&["npx", "bunx", "pnpx", "uvx"], npx),
    (
        &[
            "bundle",
            "poetry",
            "uv",
            "pipenv",
            "pdm",
            "hatch",
            "rye",
            "pixi",
            "pnpm",
            "npm",
            "yarn",
            "pipx",
            "conda",
            "mamba",
            "micromamba",
        ],
        tool_runner,
    ),
    (&["watch", "entr", "nodemon", "retry", "hyperfine"], watcher),
    (&["eval"], eval),
    (&["alias"], alias),
    (&["source", "."], source),
    (&["su"], su),
    (&["ssh", "mosh"], ssh),
    (&["find", "gfind", "fd", "fdfind"], find),
];

static WRAPPER_INDEX: LazyLock<HashMap<&'static str, Arm, FnvBuild>> =
    LazyLock::new(|| WRAPPERS.iter().flat_map(|(names, arm)| names.iter().map(move |n| (*n, *arm))).collect());

/// `sudo`, `doas`, `pkexec`: elevated; `-i`/`-s` open a root shell.
fn elevate(
    _cx: &mut Cx<'_>,
    _name: &str,
    argv: &[Word<'_>],
    mut i: usize,
    inv: &mut Inv<'_>,
    root_shell_flag: &mut bool,
) -> Next {
    let args = &argv[i + 1..];
    inv.sudo = true;
    *root_shell_flag = args.iter().take_while(|a| a.as_str().starts_with('-')).any(|a| {
        let t = a.as_str();
        !t.starts_with("--") && (t.contains('i') || t.contains('s')) || t == "--login" || t == "--shell"
    });
    i = skip_opts(
        argv,
        i + 1,
        &[
            "-u",
            "-g",
            "-C",
            "-D",
            "-h",
            "-p",
            "-r",
            "-t",
            "-U",
            "-T",
            "-c",
            "--user",
            "--group",
            "--host",
            "--prompt",
            "--chdir",
            "--role",
            "--type",
            "--close-from",
            "--other-user",
            "--command-timeout",
        ],
    );
    Next::At(i)
}

/// `env [-u NAME] [NAME=V]… CMD`, `env -S "CMD"`.
fn env(
    cx: &mut Cx<'_>,
    _name: &str,
    argv: &[Word<'_>],
    mut i: usize,
    inv: &mut Inv<'_>,
    _root_shell_flag: &mut bool,
) -> Next {
    let mut k = i + 1;
    while k < argv.len() {
        let t = argv[k].as_str();
        if t == "--" {
            k += 1;
            break;
        }
        if matches!(
            t,
            "-u" | "--unset" | "-C" | "--chdir" | "-P" | "--default-signal" | "--block-signal" | "--ignore-signal"
        ) {
            k += 2;
            continue;
        }
        if matches!(t, "-S" | "--split-string") || t.starts_with("-S") || t.starts_with("--split-string=") {
            let code: Cow<'_, str> = if t == "-S" || t == "--split-string" {
                let rest = &argv[(k + 1).min(argv.len())..];
                Cow::Owned(join_words(rest))
            } else {
                Cow::Borrowed(t.trim_start_matches("--split-string=").trim_start_matches("-S"))
            };
            let origin = cx.origin_of(&argv[k], &code);
            let origin = super::cx::Origin {
                base: origin.base,
                pin: Some(argv[k].span.start..argv.last().map(|w| w.span.end).unwrap_or(argv[k].span.end)),
            };
            cx.run_code(&code, &origin, inv.depth + 1);
            return Next::Done;
        }
        if t.starts_with('-') && t.len() > 1 {
            k += 1;
            continue;
        }
        if argv[k].as_str().contains('=') && super::lex::valid_assignment_prefix(argv[k].as_str()) {
            k += 1;
            continue;
        }
        break;
    }
    i = k;
    Next::At(i)
}

/// `nice [-n N] CMD`.
fn nice(
    _cx: &mut Cx<'_>,
    _name: &str,
    argv: &[Word<'_>],
    mut i: usize,
    _inv: &mut Inv<'_>,
    _root_shell_flag: &mut bool,
) -> Next {
    i = skip_opts(argv, i + 1, &["-n", "--adjustment"]);
    Next::At(i)
}

/// `ionice [-c C] CMD`.
fn ionice(
    _cx: &mut Cx<'_>,
    _name: &str,
    argv: &[Word<'_>],
    mut i: usize,
    _inv: &mut Inv<'_>,
    _root_shell_flag: &mut bool,
) -> Next {
    i = skip_opts(argv, i + 1, &["-c", "-n", "-t", "--class", "--classdata"]);
    Next::At(i)
}

/// `chrt [opts] PRIO CMD`.
fn chrt(
    _cx: &mut Cx<'_>,
    _name: &str,
    argv: &[Word<'_>],
    mut i: usize,
    _inv: &mut Inv<'_>,
    _root_shell_flag: &mut bool,
) -> Next {
    i = skip_opts(argv, i + 1, &[]);
    // priority
    if i < argv.len() && argv[i].as_str().bytes().all(|b| b.is_ascii_digit()) {
        i += 1;
    }
    Next::At(i)
}

/// `taskset [opts] MASK CMD`.
fn taskset(
    _cx: &mut Cx<'_>,
    _name: &str,
    argv: &[Word<'_>],
    mut i: usize,
    _inv: &mut Inv<'_>,
    _root_shell_flag: &mut bool,
) -> Next {
    i = skip_opts(argv, i + 1, &[]);
    i += 1;
    Next::At(i)
}

/// Wrappers with their own option tables (`time -p CMD`, `strace -e EXPR CMD`).
fn prefix_wrapper(
    cx: &mut Cx<'_>,
    name: &str,
    argv: &[Word<'_>],
    mut i: usize,
    inv: &mut Inv<'_>,
    _root_shell_flag: &mut bool,
) -> Next {
    let (with_arg, flags) = prefix_options(name);
    i = skip_opts(argv, i + 1, with_arg);
    if name == "faketime" && i < argv.len() {
        i += 1; // the timestamp
    }
    // An option this table does not know may have taken the word we call the program as
    // its value: the next word is classified as the program too.
    // (`i` may be past the end: an option that takes a value ended the line.)
    if let Some(prev) = i.checked_sub(1).and_then(|k| argv.get(k)).map(|w| w.as_str())
        && prev.starts_with('-')
        && prev.len() > 1
        && prev != "--"
        && !with_arg.contains(&prev)
        && !flags.contains(&prev)
        && i + 1 < argv.len()
    {
        let inner = Inv { depth: inv.depth + 1, ..inv.clone() };
        eval_argv(cx, &argv[i + 1..], &inner);
    }
    Next::At(i)
}

/// `timeout [opts] DURATION CMD`.
fn timeout(
    _cx: &mut Cx<'_>,
    _name: &str,
    argv: &[Word<'_>],
    mut i: usize,
    _inv: &mut Inv<'_>,
    _root_shell_flag: &mut bool,
) -> Next {
    i = skip_opts(argv, i + 1, &["-s", "-k", "--signal", "--kill-after"]);
    i += 1; // duration
    Next::At(i)
}

/// `stdbuf -oL CMD`.
fn stdbuf(
    _cx: &mut Cx<'_>,
    _name: &str,
    argv: &[Word<'_>],
    mut i: usize,
    _inv: &mut Inv<'_>,
    _root_shell_flag: &mut bool,
) -> Next {
    i = skip_opts(argv, i + 1, &["-i", "-o", "-e", "--input", "--output", "--error"]);
    Next::At(i)
}

/// `flock [opts] FILE CMD` or `flock FILE -c CODE`.
fn flock(
    cx: &mut Cx<'_>,
    _name: &str,
    argv: &[Word<'_>],
    mut i: usize,
    inv: &mut Inv<'_>,
    _root_shell_flag: &mut bool,
) -> Next {
    i = skip_opts(argv, i + 1, &["-w", "--timeout", "-E", "--conflict-exit-code"]);
    i += 1; // lock file
    if i < argv.len() && matches!(argv[i].as_str(), "-c" | "--command") {
        if let Some(c) = argv.get(i + 1) {
            let origin = cx.origin_of(c, c.as_str());
            cx.run_code(c.as_str(), &origin, inv.depth + 1);
        }
        return Next::Done;
    }
    Next::At(i)
}

/// `command [-p] CMD` (`command -v` only looks up).
fn command(
    _cx: &mut Cx<'_>,
    _name: &str,
    argv: &[Word<'_>],
    mut i: usize,
    _inv: &mut Inv<'_>,
    _root_shell_flag: &mut bool,
) -> Next {
    let args = &argv[i + 1..];
    if args.first().is_some_and(|a| matches!(a.as_str(), "-v" | "-V")) {
        return Next::Done;
    }
    i = skip_opts(argv, i + 1, &[]);
    Next::At(i)
}

/// `exec [-a NAME] CMD`.
fn exec(
    _cx: &mut Cx<'_>,
    _name: &str,
    argv: &[Word<'_>],
    mut i: usize,
    _inv: &mut Inv<'_>,
    _root_shell_flag: &mut bool,
) -> Next {
    i = skip_opts(argv, i + 1, &["-a"]);
    Next::At(i)
}

/// GNU `parallel [opts] CMD ::: VALUES`: the command runs with each value.
fn parallel(
    cx: &mut Cx<'_>,
    _name: &str,
    argv: &[Word<'_>],
    i: usize,
    inv: &mut Inv<'_>,
    _root_shell_flag: &mut bool,
) -> Next {
    inv.runtime_args = true;
    let k = skip_opts(
        argv,
        i + 1,
        &["-j", "--jobs", "-S", "--sshlogin", "--joblog", "-a", "--arg-file", "-d", "--delimiter", "-I", "--colsep"],
    );
    let end = argv[k..].iter().position(|w| w.as_str().starts_with(":::")).map_or(argv.len(), |p| p + k);
    if end == k + 1 && end <= argv.len() {
        let c = &argv[k];
        let origin = cx.origin_of(c, c.as_str());
        cx.run_code(c.as_str(), &origin, inv.depth + 1);
        return Next::Done;
    }
    let sub = &argv[k..end];
    parallel_values(cx, sub, &argv[end.min(argv.len())..], inv);
    if sub.is_empty() {
        return Next::Done;
    }
    let inner = Inv { depth: inv.depth + 1, ..inv.clone() };
    eval_argv(cx, sub, &inner);
    Next::Done
}

/// Options of `xargs` that take a value (GNU and BSD).
const XARGS_VALUED: &[&str] = &[
    "-I",
    "-J",
    "-L",
    "-n",
    "-P",
    "-s",
    "-d",
    "-E",
    "-a",
    "--max-args",
    "--max-procs",
    "--delimiter",
    "--arg-file",
    "--max-lines",
    "--max-chars",
    "--eof",
    "--process-slot-var",
];

/// `xargs`: the command gets arguments at run time (or known ones from literal stdin).
fn xargs(
    cx: &mut Cx<'_>,
    _name: &str,
    argv: &[Word<'_>],
    i: usize,
    inv: &mut Inv<'_>,
    _root_shell_flag: &mut bool,
) -> Next {
    inv.runtime_args = true;
    let (k, repl) = xargs_options(argv, i + 1);
    if k >= argv.len() {
        return Next::Done; // default command: echo
    }
    // Arguments known from literal stdin (`echo / | xargs rm -rf`).
    if let Stdin::Data(text, dw) = &inv.stdin {
        let items: Vec<&str> = text.split_whitespace().collect();
        if !items.is_empty() && items.len() <= 64 {
            let mk = |s: &str| Word { text: Cow::Owned(s.to_string()), span: dw.span.clone(), ..Default::default() };
            let mut sub: Vec<Word<'_>> = Vec::new();
            match &repl {
                Some(r) => {
                    for w in &argv[k..] {
                        if w.as_str().contains(r.as_str()) {
                            for it in &items {
                                sub.push(mk(&w.as_str().replace(r.as_str(), it)));
                            }
                        } else {
                            sub.push(w.clone());
                        }
                    }
                }
                None => {
                    sub.extend(argv[k..].iter().cloned());
                    sub.extend(items.iter().map(|s| mk(s)));
                }
            }
            let inner = Inv { stdin: Stdin::Tty, runtime_args: false, depth: inv.depth + 1, ..inv.clone() };
            eval_argv(cx, &sub, &inner);
            return Next::Done;
        }
    }
    Next::At(k)
}

/// Skips `xargs`' options from `k`: the index of the command, and the replacement string
/// (`-I R`, `-IR`, `--replace=R`, `-J R`, `-i` for `{}`).
fn xargs_options(argv: &[Word<'_>], mut k: usize) -> (usize, Option<String>) {
    let mut repl: Option<String> = None;
    while k < argv.len() {
        let t = argv[k].as_str();
        if t == "--" {
            k += 1;
            break;
        }
        if !t.starts_with('-') || t.len() == 1 {
            break;
        }
        if t == "-I" || t == "-J" {
            repl = argv.get(k + 1).map(|w| w.as_str().to_string());
        } else if let Some(r) = t.strip_prefix("-I").or_else(|| t.strip_prefix("--replace=")) {
            repl = Some(r.to_string());
            k += 1;
            continue;
        } else if t == "-i" {
            repl = Some("{}".to_string());
        }
        k += if XARGS_VALUED.contains(&t) { 2 } else { 1 };
    }
    (k, repl)
}

/// `npx PKG`, `uvx TOOL`: the package is the program.
fn npx(
    _cx: &mut Cx<'_>,
    _name: &str,
    argv: &[Word<'_>],
    mut i: usize,
    _inv: &mut Inv<'_>,
    _root_shell_flag: &mut bool,
) -> Next {
    i = skip_opts(argv, i + 1, &["-p", "--package", "--from", "--with"]);
    Next::At(i)
}

/// `poetry run CMD`, `npm exec CMD`, `bundle exec CMD`, … (not `npm run SCRIPT`).
fn tool_runner(
    cx: &mut Cx<'_>,
    name: &str,
    argv: &[Word<'_>],
    mut i: usize,
    inv: &mut Inv<'_>,
    root_shell_flag: &mut bool,
) -> Next {
    let args = &argv[i + 1..];
    if !(args.first().is_some_and(|a| matches!(a.as_str(), "exec" | "run" | "dlx" | "x"))
        && !(matches!(name, "npm" | "pnpm" | "yarn") && args[0].as_str() == "run"))
    {
        return dispatch(cx, name, argv, i, inv, root_shell_flag);
    }
    i = skip_opts(argv, i + 2, &["-p", "--package", "--with", "--python", "-n", "--name", "-e", "--env", "--from"]);
    Next::At(i)
}

/// `watch CMD`, `entr CMD`, `hyperfine CMD`: the rest is code (or argv with `-x`/`entr`).
fn watcher(
    cx: &mut Cx<'_>,
    name: &str,
    argv: &[Word<'_>],
    mut i: usize,
    inv: &mut Inv<'_>,
    _root_shell_flag: &mut bool,
) -> Next {
    let exec_mode = argv[i + 1..].iter().any(|a| a.as_str() == "-x" || a.as_str() == "--exec");
    let k = skip_opts(
        argv,
        i + 1,
        &[
            "-n",
            "--interval",
            "-d",
            "-q",
            "--errexit",
            "-w",
            "--watch",
            "-e",
            "--ext",
            "-r",
            "--runs",
            "-m",
            "--min-runs",
            "-p",
            "--prepare",
            "-t",
            "--tries",
            "-s",
            "--signal",
            "--delay",
            "-i",
            "--ignore",
        ],
    );
    if k >= argv.len() {
        return Next::Done;
    }
    if name == "entr" || exec_mode {
        i = k;
        return Next::At(i);
    }
    let code = join_words(&argv[k..]);
    let span = argv[k].span.start..argv.last().map(|w| w.span.end).unwrap_or(argv[k].span.end);
    let origin = if argv.len() == k + 1 {
        cx.origin_of(&argv[k], &code)
    } else {
        super::cx::Origin { base: span.start, pin: Some(span) }
    };
    cx.run_code(&code, &origin, inv.depth + 1);
    Next::Done
}

/// `eval CODE`: classified as shell code.
fn eval(
    cx: &mut Cx<'_>,
    _name: &str,
    argv: &[Word<'_>],
    i: usize,
    inv: &mut Inv<'_>,
    _root_shell_flag: &mut bool,
) -> Next {
    let w = &argv[i];
    let args = &argv[i + 1..];
    if args.iter().any(|a| a.fetch) {
        let a = args.iter().find(|a| a.fetch).map(|a| a.span.clone()).unwrap_or(w.span.clone());
        cx.hit(&remote::EVAL_DOWNLOAD, a);
        return Next::Done;
    }
    if args.is_empty() {
        return Next::Done;
    }
    let code = join_words(args);
    let origin = if args.len() == 1 {
        cx.origin_of(&args[0], &code)
    } else {
        let span = args[0].span.start..args[args.len() - 1].span.end;
        super::cx::Origin { base: span.start, pin: Some(span) }
    };
    if args.iter().any(|a| a.dynamic) && !args.iter().any(|a| a.subst.is_some()) {
        cx.hit(&meta::DYNAMIC_PROGRAM, w.span.start..args[args.len() - 1].span.end);
    }
    cx.run_code(&code, &origin, inv.depth + 1);
    Next::Done
}

/// `alias NAME=BODY`: the body runs whenever the name does.
fn alias(
    cx: &mut Cx<'_>,
    _name: &str,
    argv: &[Word<'_>],
    i: usize,
    inv: &mut Inv<'_>,
    _root_shell_flag: &mut bool,
) -> Next {
    let args = &argv[i + 1..];
    // `alias ls='rm -rf /'; ls`: the body runs whenever the name does.
    for a in args {
        if let Some((_, body)) = a.as_str().split_once('=') {
            let origin = super::cx::Origin { base: a.span.start, pin: Some(a.span.clone()) };
            cx.run_code(body, &origin, inv.depth + 1);
        }
    }
    Next::Done
}

/// `source <(curl …)` runs a download.
fn source(
    cx: &mut Cx<'_>,
    _name: &str,
    argv: &[Word<'_>],
    i: usize,
    _inv: &mut Inv<'_>,
    _root_shell_flag: &mut bool,
) -> Next {
    let args = &argv[i + 1..];
    if let Some(a) = args.iter().find(|a| a.fetch) {
        cx.hit(&remote::PROCESS_SUBST, a.span.clone());
    }
    Next::Done
}

/// `su -c CODE`, or an interactive root shell.
fn su(
    cx: &mut Cx<'_>,
    _name: &str,
    argv: &[Word<'_>],
    i: usize,
    inv: &mut Inv<'_>,
    _root_shell_flag: &mut bool,
) -> Next {
    let w = &argv[i];
    let args = &argv[i + 1..];
    if let Some((code, cw)) = rules::opt_value(args, &["-c", "--command"]) {
        let code = code.into_owned();
        let origin = cx.origin_of(cw, &code);
        cx.run_code(&code, &origin, inv.depth + 1);
    } else {
        cx.hit(&meta::ROOT_SHELL, w.span.clone());
    }
    Next::Done
}

/// `ssh HOST CMD`: the remote command is classified like a local one.
fn ssh(
    cx: &mut Cx<'_>,
    _name: &str,
    argv: &[Word<'_>],
    i: usize,
    inv: &mut Inv<'_>,
    _root_shell_flag: &mut bool,
) -> Next {
    let k = skip_opts(
        argv,
        i + 1,
        &[
            "-p", "-i", "-l", "-o", "-F", "-J", "-L", "-R", "-D", "-b", "-c", "-E", "-e", "-m", "-O", "-Q", "-S", "-W",
            "-w", "-B", "-I",
        ],
    );
    // secrets rules still look at the arguments (`ssh host < ~/.ssh/id_rsa`).
    rules::dispatch(cx, "ssh", &argv[i..], inv);
    // `ssh host -- CMD`
    let k = if argv.get(k + 1).is_some_and(|w| w.as_str() == "--") { k + 1 } else { k };
    if k + 1 < argv.len() {
        let rest = &argv[k + 1..];
        let code = join_words(rest);
        let origin = if rest.len() == 1 {
            cx.origin_of(&rest[0], &code)
        } else {
            let span = rest[0].span.start..rest[rest.len() - 1].span.end;
            super::cx::Origin { base: span.start, pin: Some(span) }
        };
        cx.run_code(&code, &origin, inv.depth + 1);
    }
    Next::Done
}

/// `bash -c CODE`, `sh script`, `sh` reading stdin.
fn shell_arm(
    cx: &mut Cx<'_>,
    _name: &str,
    argv: &[Word<'_>],
    i: usize,
    inv: &mut Inv<'_>,
    _root_shell_flag: &mut bool,
) -> Next {
    shell(cx, &argv[i..], inv);
    Next::Done
}

/// `find … -delete`, `-exec CMD {} ;`.
fn find(
    cx: &mut Cx<'_>,
    name: &str,
    argv: &[Word<'_>],
    i: usize,
    inv: &mut Inv<'_>,
    _root_shell_flag: &mut bool,
) -> Next {
    rules::fs::find(cx, name, &argv[i..], inv);
    Next::Done
}

/// Any other program: the rule families.
fn dispatch(
    cx: &mut Cx<'_>,
    name: &str,
    argv: &[Word<'_>],
    i: usize,
    inv: &mut Inv<'_>,
    _root_shell_flag: &mut bool,
) -> Next {
    rules::dispatch(cx, name, &argv[i..], inv);
    Next::Done
}
