//! Shared output helpers: `--json` and human text.

use clap::Args;
use serde::Serialize;

/// A lone `--json` flag.
#[derive(Args, Debug)]
pub struct JsonFlag {
    /// Print machine-readable JSON.
    #[arg(long)]
    pub json: bool,
}

/// What a `--json` command prints on stdout when it fails: `{"ok":false,"error":{code,message},"exit":N}`.
/// `code` is the daemon's wire code when it answered one, `not_running` when no daemon answered,
/// else `failure`.
pub fn error_json(e: &anyhow::Error, exit: super::Exit) -> serde_json::Value {
    use holdfast::transport::ClientError;
    let code = match (e.downcast_ref::<holdfast::wire::WireError>(), e.downcast_ref::<ClientError>()) {
        (Some(w), _) => w.code.name(),
        (None, Some(ClientError::NotRunning(_) | ClientError::Timeout)) => "not_running".into(),
        _ => "failure".into(),
    };
    serde_json::json!({"ok": false, "error": {"code": code, "message": format!("{e:#}")}, "exit": exit as i32})
}

/// Prints `value` as one line of JSON on stdout.
pub fn print_json<T: Serialize>(value: &T) {
    println!("{}", serde_json::to_string(value).expect("output types serialize"));
}
