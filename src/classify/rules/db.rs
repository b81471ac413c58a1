//! Databases: DROP/TRUNCATE, DELETE/UPDATE without WHERE, FLUSHALL, dropdb…

use std::collections::HashMap;
use std::sync::LazyLock;

use super::super::Rule;
use super::super::cx::Cx;
use super::super::ir::Word;
use super::names::FnvBuild;
use super::table::{Arm, ArmIndex, always, first_arm, index_arms, index_handlers};
use super::{Inv, Stdin, any_of, operands, opt_value};

rules! {
    DROP = ("db.drop", Catastrophic, "Drops a database, schema, table or collection with all its data. Dump it first (`pg_dump`, `mysqldump`).");
    DROP_OBJECT = ("db.drop_object", Ambiguous, "Drops a database object (index, view, function, user…). Script its definition first.");
    TRUNCATE = ("db.truncate", Catastrophic, "Truncates a table, deleting all its rows. Dump the table first.");
    DELETE_ALL = ("db.delete_all", Catastrophic, "Deletes every row of a table (DELETE without WHERE). Add a WHERE clause, and try it in a transaction first.");
    UPDATE_ALL = ("db.update_all", Catastrophic, "Updates every row of a table (UPDATE without WHERE), overwriting the old values. Add a WHERE clause.");
    ALTER_DROP = ("db.alter_drop", Ambiguous, "Drops a column or constraint from a table, with its data. Dump the table first.");
    FLUSH = ("db.flush", Catastrophic, "Deletes every key of a Redis database (FLUSHALL/FLUSHDB). Delete the keys you mean with `DEL` or `UNLINK`.");
    DROPDB = ("db.dropdb", Catastrophic, "Deletes a whole database with a client tool. Dump it first.");
    FRAMEWORK_RESET = ("db.framework_reset", Ambiguous, "Drops or resets the application's database through the framework, losing its rows. Back it up and migrate forward instead.");
    SQL_FILE = ("db.sql_from_pipe", Ambiguous, "Feeds SQL of unknown content from a pipe to a database client. Write it to a file and show it first.");
}

/// Strip comments and string literals, uppercase ASCII.
fn normalize_sql(sql: &str) -> String {
    let b = sql.as_bytes();
    let mut out = String::with_capacity(sql.len());
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == b'-' && b.get(i + 1) == Some(&b'-') {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
            continue;
        }
        if c == b'/' && b.get(i + 1) == Some(&b'*') {
            i += 2;
            while i + 1 < b.len() && !(b[i] == b'*' && b[i + 1] == b'/') {
                i += 1;
            }
            i += 2;
            out.push(' ');
            continue;
        }
        if c == b'\'' || c == b'"' {
            let q = c;
            i += 1;
            while i < b.len() && b[i] != q {
                i += 1;
            }
            i += 1;
            out.push_str(" 'S' ");
            continue;
        }
        out.push(if c.is_ascii() { (c as char).to_ascii_uppercase() } else { ' ' });
        i += 1;
    }
    out
}

/// Whether `s` contains, in any case, a word every finding of
/// [`sql_danger`] needs: `drop`, `delete`, `truncate`, `update`, `flush` or
/// `remove`. One pass over the bytes; most texts have none.
fn mentions_danger_word(s: &str) -> bool {
    let b = s.as_bytes();
    let at = |i: usize, w: &[u8]| b.len() - i >= w.len() && b[i..i + w.len()].eq_ignore_ascii_case(w);
    (0..b.len()).any(|i| match b[i] | 0x20 {
        b'd' => at(i, b"drop") || at(i, b"delete"),
        b't' => at(i, b"truncate"),
        b'u' => at(i, b"update"),
        b'f' => at(i, b"flush"),
        b'r' => at(i, b"remove"),
        _ => false,
    })
}

/// Danger in SQL (or Mongo/Redis) text.
pub(crate) fn sql_danger(sql: &str) -> Option<&'static Rule> {
    // Keywords survive normalisation only as runs of ASCII letters of the input.
    if !mentions_danger_word(sql) {
        return None;
    }
    let lower_js = sql;
    if lower_js.contains("dropDatabase(") || lower_js.contains(".drop()") {
        return Some(&DROP);
    }
    for api in [".deleteMany(", ".remove(", ".updateMany("] {
        if let Some(p) = lower_js.find(api) {
            let rest = lower_js[p + api.len()..].trim_start();
            if rest.starts_with("{}") || rest.starts_with(')') || rest.starts_with("{ }") {
                return Some(if api == ".updateMany(" { &UPDATE_ALL } else { &DELETE_ALL });
            }
        }
    }
    let n = normalize_sql(sql);
    let mut worst: Option<&'static Rule> = None;
    let mut bump = |r: &'static Rule| {
        if worst.is_none_or(|w| w.class < r.class) {
            worst = Some(r);
        }
    };
    for stmt in n.split(';') {
        let toks: Vec<&str> = stmt
            .split(|c: char| c.is_whitespace() || c == '(' || c == ')' || c == ',')
            .filter(|t| !t.is_empty())
            .collect();
        let Some(&first) = toks.first() else { continue };
        let first = if first == "EXPLAIN" { continue } else { first };
        match first {
            "FLUSHALL" | "FLUSHDB" => bump(&FLUSH),
            "DROP" => {
                let what = toks.get(1).copied().unwrap_or("");
                let what =
                    if what == "TEMPORARY" || what == "TEMP" { toks.get(2).copied().unwrap_or("") } else { what };
                if matches!(what, "TABLE" | "DATABASE" | "SCHEMA" | "COLLECTION" | "KEYSPACE" | "OWNED" | "TABLESPACE")
                {
                    bump(&DROP);
                } else {
                    bump(&DROP_OBJECT);
                }
            }
            "TRUNCATE" => bump(&TRUNCATE),
            "DELETE" if !where_clause(&toks) => {
                bump(&DELETE_ALL);
            }
            "UPDATE" if !where_clause(&toks) => {
                bump(&UPDATE_ALL);
            }
            "ALTER" if toks.contains(&"DROP") => {
                bump(&ALTER_DROP);
            }
            "WITH" if toks.contains(&"DELETE") && !where_clause(&toks) => {
                bump(&DELETE_ALL);
            }
            _ => {}
        }
        // Statements after a keyword inside the same chunk (e.g. `BEGIN DROP TABLE x`).
        for w in toks.windows(2).skip(1) {
            if w[0] == "DROP" && matches!(w[1], "TABLE" | "DATABASE" | "SCHEMA") {
                bump(&DROP);
            }
            if w[0] == "TRUNCATE" && w[1] == "TABLE" {
                bump(&TRUNCATE);
            }
        }
    }
    worst
}

fn where_clause(toks: &[&str]) -> bool {
    match toks.iter().position(|t| *t == "WHERE") {
        None => false,
        Some(p) => {
            let rest = &toks[p + 1..];
            // `WHERE 1=1`, `WHERE TRUE` match every row.
            !matches!(rest, ["1=1", ..] | ["TRUE", ..] | ["1", "=", "1", ..] | [] | ["1"])
        }
    }
}

fn check_text(cx: &mut Cx<'_>, text: &str, w: &Word<'_>) {
    if let Some(r) = sql_danger(text) {
        cx.hit(r, w.span.clone());
    }
}

/// A database client: finds the SQL (or Mongo/Redis commands) in its arguments.
type Client = fn(&mut Cx<'_>, &str, &[Word<'_>]);

/// Every client also reads what its standard input carries.
const CLIENTS: &[(&[&str], Client)] = &[
    (&["psql", "cockroach"], psql_command),
    (&["mysql", "mariadb", "clickhouse-client", "clickhouse", "cqlsh", "sqlcmd"], query_option),
    (&["sqlite3", "sqlite", "duckdb"], sqlite_operands),
    (&["mongosh", "mongo"], |cx, _, args| {
        if let Some((v, w)) = opt_value(args, &["--eval"]) {
            check_text(cx, &v, w);
        }
    }),
    (&["redis-cli", "valkey-cli"], redis_command),
];

static BY_NAME: LazyLock<HashMap<&str, Client, FnvBuild>> = LazyLock::new(|| index_handlers(CLIENTS));

/// The option that carries a client's query (`-e SQL`, `--execute=SQL`, `-eSQL`).
const QUERY_OPTIONS: &[(&[&str], &[&str])] = &[
    (&["clickhouse-client", "clickhouse"], &["--query", "-q"]),
    (&["sqlcmd"], &["-Q", "-q"]),
    (&["mysql", "mariadb", "cqlsh"], &["-e", "--execute"]),
];

const HELP: &[&str] = &["--help", "-?", "--version", "-V"];
const RAILS_RESETS: &[&str] = &["db:drop", "db:reset", "db:schema:load", "db:purge", "db:drop:all", "db:migrate:reset"];
const ARTISAN_RESETS: &[&str] = &["migrate:fresh", "migrate:reset", "db:wipe", "flush", "reset_db", "migrate:refresh"];

/// Tools whose verdict is their name and operands (first arm wins).
const ARMS: &[Arm] = &[
    Arm { on: &["dropdb"], path: &[], when: |a, _| !any_of(a, HELP), rule: &DROPDB },
    Arm { on: &["dropuser"], path: &[], when: |a, _| !any_of(a, HELP), rule: &DROP_OBJECT },
    Arm {
        on: &["mysqladmin"],
        path: &[],
        when: |_, o| o.iter().any(|w| w.eq_ignore_ascii_case("drop")),
        rule: &DROPDB,
    },
    Arm {
        on: &["rails", "rake"],
        path: &[],
        when: |_, o| o.iter().any(|w| RAILS_RESETS.contains(w)),
        rule: &FRAMEWORK_RESET,
    },
    Arm {
        on: &["prisma"],
        path: &[],
        when: |a, o| {
            o.windows(2).any(|w| w == ["migrate", "reset"])
                || (o.windows(2).any(|w| w == ["db", "push"]) && any_of(a, &["--force-reset", "--accept-data-loss"]))
        },
        rule: &FRAMEWORK_RESET,
    },
    Arm {
        on: &["artisan", "manage.py"],
        path: &[],
        when: |_, o| o.iter().any(|w| ARTISAN_RESETS.contains(w)),
        rule: &FRAMEWORK_RESET,
    },
    Arm { on: &["influx"], path: &["bucket", "delete"], when: always, rule: &DROP },
];

static INDEX: LazyLock<ArmIndex> = LazyLock::new(|| index_arms(ARMS));

pub(crate) fn check(cx: &mut Cx<'_>, name: &str, argv: &[Word<'_>], inv: &Inv<'_>) {
    let args = &argv[1..];
    if let Some(client) = BY_NAME.get(name) {
        client(cx, name, args);
        match &inv.stdin {
            Stdin::Data(t, w) => check_text(cx, t, w),
            Stdin::Fetch(s) => cx.hit(&SQL_FILE, s.clone()),
            _ => {}
        }
        return;
    }
    let ops: Vec<&str> = operands(args).map(|w| w.as_str()).collect();
    if let Some(r) = first_arm(&INDEX, name, args, &ops) {
        cx.hit(r, argv[0].span.start..argv[argv.len() - 1].span.end);
    }
}

/// `psql -c SQL`, `--command SQL`, `--command=SQL`, `-cSQL`.
fn psql_command(cx: &mut Cx<'_>, _: &str, args: &[Word<'_>]) {
    for (k, a) in args.iter().enumerate() {
        let t = a.as_str();
        if t == "-c" || t == "--command" {
            if let Some(v) = args.get(k + 1) {
                check_text(cx, v.as_str(), v);
            }
        } else if let Some(v) = t
            .strip_prefix("--command=")
            .or_else(|| t.strip_prefix("-c").filter(|v| !v.is_empty() && !t.starts_with("--")))
        {
            check_text(cx, v, a);
        }
    }
}

/// The client's query option ([`QUERY_OPTIONS`]), spelled apart, with `=`, or glued to a short one.
fn query_option(cx: &mut Cx<'_>, name: &str, args: &[Word<'_>]) {
    let opts = QUERY_OPTIONS.iter().find(|(names, _)| names.contains(&name)).map_or(&[][..], |(_, o)| *o);
    for (k, a) in args.iter().enumerate() {
        let t = a.as_str();
        if opts.contains(&t) {
            if let Some(v) = args.get(k + 1) {
                check_text(cx, v.as_str(), v);
            }
        } else if let Some(v) = opts.iter().find_map(|o| {
            t.strip_prefix(o)
                .and_then(|r| r.strip_prefix('=').or(if o.len() == 2 && !r.is_empty() { Some(r) } else { None }))
        }) {
            check_text(cx, v, a);
        }
    }
}

/// `sqlite3 DB SQL…` and `-cmd SQL`.
fn sqlite_operands(cx: &mut Cx<'_>, _: &str, args: &[Word<'_>]) {
    for w in operands(args).skip(1) {
        check_text(cx, w.as_str(), w);
    }
    if let Some((v, w)) = opt_value(args, &["-cmd"]) {
        check_text(cx, &v, w);
    }
}

/// Options of `redis-cli` that take a value (`--tls` takes none).
const REDIS_VALUED: &[&str] =
    &["-h", "-p", "-a", "-n", "-u", "--user", "--pass", "-s", "-r", "-i", "--cacert", "--cert", "--key"];

/// `redis-cli [options] FLUSHALL|FLUSHDB`.
fn redis_command(cx: &mut Cx<'_>, _: &str, args: &[Word<'_>]) {
    let mut k = 0;
    while k < args.len() {
        let t = args[k].as_str();
        if REDIS_VALUED.contains(&t) {
            k += 2;
        } else if t.starts_with('-') {
            k += 1;
        } else {
            if t.eq_ignore_ascii_case("FLUSHALL") || t.eq_ignore_ascii_case("FLUSHDB") {
                cx.hit(&FLUSH, args[k].span.clone());
            }
            break;
        }
    }
}
