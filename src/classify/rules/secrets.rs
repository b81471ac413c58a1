//! Secrets: reading private keys and credentials, uploading them, keychains.

use super::super::cx::Cx;
use super::super::ir::Word;
use super::super::paths::{self, Secret};
use super::names::Prog;
use super::{Inv, Stdin, operands};

rules! {
    READ_KEY = ("secrets.read_key", Catastrophic, "Reads private keys or credentials, exposing them to the agent. Use the tool that needs the key (ssh, git, aws) instead of printing it.");
    READ_ENV = ("secrets.read_env_file", Ambiguous, "Reads a .env file that usually holds secrets. Read `.env.example`, or print only the variable names (`cut -d= -f1 .env`).");
    EXFILTRATE = ("secrets.exfiltrate", Catastrophic, "Sends private keys, credentials or .env secrets over the network, where they cannot be taken back.");
    KEYCHAIN = ("secrets.keychain", Catastrophic, "Extracts passwords from the system keychain or secret store.");
    KEYCHAIN_QUERY = ("secrets.keychain_query", Ambiguous, "Queries the system keychain or password manager.");
    EXPORT_SECRET_KEY = ("secrets.export_private_key", Catastrophic, "Exports private key material. Export the public key instead.");
    ARCHIVE = ("secrets.archive", Ambiguous, "Copies or archives secret files, multiplying where they can leak. Leave secret files out (`--exclude`).");
}

/// Programs that read (or send) the files they are given: their arguments
/// are checked for secrets ([`check_reads`]).
pub(crate) const READERS: &[&str] = &[
    "cat",
    "less",
    "more",
    "head",
    "tail",
    "bat",
    "batcat",
    "xxd",
    "od",
    "hexdump",
    "strings",
    "base64",
    "base32",
    "grep",
    "rg",
    "ag",
    "egrep",
    "fgrep",
    "awk",
    "gawk",
    "cut",
    "sort",
    "uniq",
    "tac",
    "nl",
    "jq",
    "yq",
    "view",
    "pr",
    "fold",
    "fmt",
    "paste",
    "diff",
    "cmp",
    "sed",
    "perl",
    "python",
    "node",
    "ruby",
    "openssl",
    "ssh-keygen",
    "gpg",
    "gpg2",
    "xclip",
    "pbcopy",
    "wl-copy",
    "tee",
    "column",
    "iconv",
    "dd",
    "zcat",
    "gzip",
    "bzip2",
    "xz",
    "zip",
    "tar",
    "7z",
    "vim",
    "vi",
    "nvim",
    "nano",
    "emacs",
    "code",
    "open",
    "cp",
    "mv",
    "install",
    "rsync",
    "scp",
    "sftp",
    "curl",
    "wget",
    "nc",
    "ncat",
    "netcat",
    "socat",
    "http",
    "https",
    "xh",
    "mail",
    "mailx",
    "sendmail",
    "ftp",
    "telnet",
    "ssh",
    "wc",
    "md5sum",
    "sha256sum",
    "shasum",
    "file",
    "stat",
    "ls",
    "source",
    ".",
    "printf",
    "echo",
    "env",
    "export",
    "rclone",
    "aws",
    "gsutil",
];

/// Programs that send data over the network ([`check_reads`]).
pub(crate) const NETWORK: &[&str] = &[
    "curl", "wget", "nc", "ncat", "netcat", "socat", "scp", "sftp", "rsync", "ftp", "http", "https", "xh", "telnet",
    "mail", "mailx", "sendmail", "ssh", "rclone", "aws", "gsutil", "s3cmd",
];

/// Secret path appearing in a word, including `@file`, `name=@file`, `--opt=file`.
fn secret_in(t: &str) -> Option<(Secret, &str)> {
    if let Some(s) = paths::secret(t) {
        return Some((s, t));
    }
    for sep in [b'@', b'=', b'<', b':'] {
        // A byte loop: `rfind(char)` sets up a searcher, dearer on these short words.
        if let Some(p) = t.bytes().rposition(|c| c == sep) {
            let tail = &t[p + 1..];
            if !tail.is_empty()
                && let Some(s) = paths::secret(tail)
            {
                return Some((s, tail));
            }
        }
    }
    None
}

/// A file read through `<` (any program).
pub(crate) fn read_path(cx: &mut Cx<'_>, w: &Word<'_>) {
    match paths::secret(w.as_str()) {
        Some(Secret::Key) => cx.hit(&READ_KEY, w.span.clone()),
        Some(Secret::EnvFile) => cx.hit(&READ_ENV, w.span.clone()),
        None => {}
    }
}

/// Reading or sending secret files, for the programs of [`READERS`] (and
/// [`NETWORK`] for stdin); `prog` is `name`'s entry in the name index.
pub(crate) fn check_reads(cx: &mut Cx<'_>, name: &str, argv: &[Word<'_>], inv: &Inv<'_>, prog: Prog) {
    let network = prog.network;
    if network
        && let Stdin::File(w) = &inv.stdin
        && paths::secret(w.as_str()).is_some()
    {
        cx.hit(&EXFILTRATE, w.span.clone());
    }
    if !prog.reader {
        return;
    }
    let args = &argv[1..];
    if name == "ssh" || name == "ssh-keygen" {
        // `ssh -i key host` uses, not reveals, the key.
        return;
    }
    if matches!(name, "ls" | "stat" | "file" | "wc" | "md5sum" | "sha256sum" | "shasum" | "source" | ".") {
        return;
    }
    if name == "openssl"
        && !args
            .iter()
            .any(|a| matches!(a.as_str(), "-text" | "-noout" | "rsa" | "pkey" | "ec" | "pkcs12" | "base64" | "enc"))
    {
        return;
    }
    if name == "sed" && args.iter().any(|a| a.as_str().starts_with("-i")) {
        return;
    }
    let mut k = 0;
    while k < args.len() {
        let a = &args[k];
        let t = a.as_str();
        // Options that name a non-secret file for their value are skipped by `secret_in` anyway.
        if let Some((s, _)) = secret_in(t) {
            let local_copy =
                matches!(name, "cp" | "mv" | "install" | "tar" | "zip" | "7z" | "rsync" | "gzip" | "bzip2" | "xz");
            let remote = network && (name != "rsync" || args.iter().any(|x| x.as_str().contains(':')));
            if remote {
                cx.hit(&EXFILTRATE, a.span.clone());
            } else if local_copy {
                if s == Secret::Key {
                    cx.hit(&ARCHIVE, a.span.clone());
                }
            } else if matches!(name, "echo" | "printf" | "export" | "env") {
                // Mentions a path, does not read it.
            } else if matches!(name, "vim" | "vi" | "nvim" | "nano" | "emacs" | "code" | "open") {
                if s == Secret::Key {
                    cx.hit(&READ_KEY, a.span.clone());
                }
            } else {
                cx.hit(if s == Secret::Key { &READ_KEY } else { &READ_ENV }, a.span.clone());
            }
        }
        k += 1;
    }
}

pub(crate) fn check(cx: &mut Cx<'_>, name: &str, argv: &[Word<'_>], _inv: &Inv<'_>) {
    let args = &argv[1..];
    let whole = argv[0].span.start..argv[argv.len() - 1].span.end;
    match name {
        "security" => {
            let verb = operands(args).next().map(|w| w.as_str()).unwrap_or("");
            let reveal = super::has_short(args, 'w') || super::has_short(args, 'g') || super::has_short(args, 'd');
            match verb {
                "find-generic-password" | "find-internet-password" | "find-key" => {
                    cx.hit(if reveal { &KEYCHAIN } else { &KEYCHAIN_QUERY }, whole)
                }
                "dump-keychain" | "export" | "export-identities" => cx.hit(&KEYCHAIN, whole),
                "delete-keychain" | "delete-generic-password" | "delete-internet-password" | "delete-certificate" => {
                    cx.hit(&KEYCHAIN, whole)
                }
                _ => {}
            }
        }
        "secret-tool" if operands(args).next().is_some_and(|w| matches!(w.as_str(), "lookup" | "search")) => {
            cx.hit(&KEYCHAIN, whole)
        }
        "pass" | "op" | "keyring" | "aws-vault" => {
            let ops: Vec<&str> = operands(args).map(|w| w.as_str()).collect();
            let reveal = match name {
                "pass" => {
                    ops.first().is_some_and(|o| matches!(*o, "show" | "-c" | "otp"))
                        || (ops.len() == 1
                            && !matches!(
                                ops[0],
                                "ls" | "list" | "find" | "search" | "init" | "git" | "help" | "version"
                            ))
                }
                "op" => {
                    ops.iter().any(|o| matches!(*o, "read" | "get" | "reveal"))
                        || args.iter().any(|a| a.as_str() == "--reveal")
                }
                "keyring" => ops.first() == Some(&"get"),
                _ => ops.first().is_some_and(|o| matches!(*o, "exec" | "export" | "login")),
            };
            if reveal {
                cx.hit(&KEYCHAIN, whole)
            }
        }
        "gpg" | "gpg2"
            if args.iter().any(|a| {
                matches!(a.as_str(), "--export-secret-keys" | "--export-secret-subkeys" | "--export-ssh-key")
            }) =>
        {
            cx.hit(&EXPORT_SECRET_KEY, whole)
        }
        _ => {}
    }
}
