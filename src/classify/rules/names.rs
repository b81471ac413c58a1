//! Program-name index: the rule family that checks a program and the roles
//! other rules give it, found with one hash lookup per command. The rules
//! used to find out through `match`es over several hundred names, compared
//! one after the other for every command.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::LazyLock;

use super::{secrets, selfprot};

/// The rule family whose `check` a program goes to (one per module of `rules`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Family {
    Fs,
    Disk,
    Git,
    Db,
    Infra,
    Secrets,
    System,
    SelfProt,
    Code,
}

/// What the index knows about a program name (the default: nothing).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Prog {
    pub family: Option<Family>,
    /// In [`secrets::READERS`].
    pub reader: bool,
    /// In [`secrets::NETWORK`].
    pub network: bool,
    /// In [`selfprot::GUARDED_WRITERS`].
    pub guarded_writer: bool,
    /// Has rows or handlers in [`super::table`] (or runs a program that may).
    pub table: bool,
    /// Honours a dry-run flag ([`super::dryrun`]).
    pub dry_run: bool,
}

/// Program names of each family. A name listed twice keeps its first family.
const FAMILIES: &[(Family, &[&str])] = &[
    (
        Family::Fs,
        &[
            "rm",
            "rsync",
            "rmdir",
            "unlink",
            "shred",
            "truncate",
            "mv",
            "cp",
            "chmod",
            "chown",
            "chgrp",
            "ln",
            "install",
            "tee",
            "sed",
            "gsed",
            "vi",
            "vim",
            "nvim",
            "nano",
            "emacs",
            "ed",
            "ex",
            "dd",
            "srm",
            "wipe",
            "trash",
            "trash-put",
            "setfacl",
            "chattr",
        ],
    ),
    (
        Family::Disk,
        &[
            "mkfs",
            "mke2fs",
            "mkswap",
            "newfs",
            "fdisk",
            "sfdisk",
            "cfdisk",
            "gdisk",
            "sgdisk",
            "cgdisk",
            "parted",
            "wipefs",
            "blkdiscard",
            "diskutil",
            "hdparm",
            "format",
            "zpool",
            "lvremove",
            "vgremove",
            "pvremove",
            "cryptsetup",
            "badblocks",
        ],
    ),
    (Family::Git, &["git", "git-filter-repo", "gh"]),
    (
        Family::Db,
        &[
            "psql",
            "mysql",
            "mariadb",
            "sqlite3",
            "sqlite",
            "mongosh",
            "mongo",
            "redis-cli",
            "dropdb",
            "mysqladmin",
            "clickhouse-client",
            "clickhouse",
            "cqlsh",
            "duckdb",
            "sqlcmd",
            "cockroach",
            "rails",
            "rake",
            "prisma",
            "artisan",
            "manage.py",
            "dropuser",
            "valkey-cli",
            "influx",
            "mongodump",
            "pg_restore",
        ],
    ),
    (
        Family::Infra,
        &[
            "terraform",
            "tofu",
            "terragrunt",
            "kubectl",
            "k",
            "oc",
            "helm",
            "docker",
            "podman",
            "docker-compose",
            "nerdctl",
            "aws",
            "gcloud",
            "gsutil",
            "az",
            "pulumi",
            "cdk",
            "eksctl",
            "doctl",
            "fly",
            "flyctl",
            "heroku",
            "vercel",
            "netlify",
            "serverless",
            "sls",
            "kind",
            "minikube",
            "firebase",
            "supabase",
            "wrangler",
            "s3cmd",
            "rclone",
            "gsutil.py",
        ],
    ),
    (
        Family::Secrets,
        &[
            "curl",
            "wget",
            "nc",
            "ncat",
            "netcat",
            "socat",
            "scp",
            "sftp",
            "ftp",
            "http",
            "https",
            "xh",
            "telnet",
            "security",
            "secret-tool",
            "gpg",
            "gpg2",
            "openssl",
            "pass",
            "op",
            "aws-vault",
            "keyring",
        ],
    ),
    (
        Family::System,
        &[
            "shutdown",
            "reboot",
            "halt",
            "poweroff",
            "init",
            "telinit",
            "kill",
            "killall",
            "pkill",
            "killall5",
            "crontab",
            "systemctl",
            "service",
            "launchctl",
            "useradd",
            "userdel",
            "usermod",
            "passwd",
            "chpasswd",
            "groupdel",
            "groupmod",
            "adduser",
            "deluser",
            "visudo",
            "iptables",
            "ip6tables",
            "nft",
            "ufw",
            "sysctl",
            "swapoff",
            "modprobe",
            "rmmod",
            "insmod",
            "pfctl",
            "csrutil",
            "spctl",
            "nvram",
            "bless",
            "setenforce",
            "history",
            "chsh",
            "loginctl",
            "xkill",
        ],
    ),
    (Family::SelfProt, &["holdfast", "pgrep", "pidof"]),
    (
        Family::Code,
        &[
            "python",
            "python2",
            "pypy",
            "node",
            "nodejs",
            "perl",
            "ruby",
            "php",
            "deno",
            "bun",
            "osascript",
            "Rscript",
            "lua",
            "julia",
            "pwsh",
            "powershell",
            "tclsh",
            "awk",
            "gawk",
            "mawk",
            "nawk",
            "irb",
            "jshell",
            "groovy",
            "scala",
            "swift",
            "elixir",
            "erl",
        ],
    ),
];

/// FNV-1a: program names are a few bytes long, for which SipHash's setup
/// costs more than the whole lookup.
pub(crate) struct Fnv(u64);

/// The hasher builder of the program-name indexes.
pub(crate) type FnvBuild = BuildHasherDefault<Fnv>;

impl Default for Fnv {
    fn default() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Hasher for Fnv {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

type Index = HashMap<&'static str, Prog, BuildHasherDefault<Fnv>>;

static INDEX: LazyLock<Index> = LazyLock::new(|| {
    let mut index = Index::default();
    for (family, names) in FAMILIES {
        for name in *names {
            index.entry(name).or_default().family.get_or_insert(*family);
        }
    }
    for name in secrets::READERS {
        index.entry(name).or_default().reader = true;
    }
    for name in secrets::NETWORK {
        index.entry(name).or_default().network = true;
    }
    for name in selfprot::GUARDED_WRITERS {
        index.entry(name).or_default().guarded_writer = true;
    }
    for name in super::table::program_names() {
        index.entry(name).or_default().table = true;
    }
    for name in super::dryrun::program_names() {
        index.entry(name).or_default().dry_run = true;
    }
    index
});

/// The index entry of a program name (as [`super::program_name`] gives it).
pub(crate) fn lookup(name: &str) -> Prog {
    INDEX.get(name).copied().unwrap_or_default()
}
