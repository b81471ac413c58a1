//! README "Where files live": the endpoint is `HOLDFAST_SOCKET` if set; else
//! `$HOLDFAST_HOME/run/holdfast.sock`; else `$XDG_RUNTIME_DIR/holdfast/holdfast.sock`; else
//! `<data dir>/holdfast.sock`. Empty variables count as unset; a relative `HOLDFAST_HOME` is refused.
#![cfg(unix)]

use std::ffi::OsString;
use std::path::PathBuf;

use holdfast::paths::{Endpoint, Paths};

fn resolve(vars: &[(&str, &str)]) -> anyhow::Result<Paths> {
    let vars: Vec<(String, OsString)> = vars.iter().map(|(k, v)| (k.to_string(), OsString::from(v))).collect();
    Paths::resolve(&move |k| vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()))
}

fn socket(vars: &[(&str, &str)]) -> PathBuf {
    match resolve(vars).unwrap().endpoint {
        Endpoint::Socket(p) => p,
        other => panic!("expected a socket, got {other:?}"),
    }
}

#[test]
fn the_endpoint_falls_back_in_the_documented_order() {
    let all = [("HOLDFAST_SOCKET", "/s/explicit.sock"), ("HOLDFAST_HOME", "/h"), ("XDG_RUNTIME_DIR", "/x")];
    assert_eq!(socket(&all), PathBuf::from("/s/explicit.sock"));
    assert_eq!(socket(&all[1..]), PathBuf::from("/h/run/holdfast.sock"));
    assert_eq!(socket(&all[2..]), PathBuf::from("/x/holdfast/holdfast.sock"));
    let data_dir = resolve(&[]).unwrap().data_dir;
    assert_eq!(socket(&[]), data_dir.join("holdfast.sock"));
    let p = resolve(&[("HOLDFAST_HOME", "/h")]).unwrap();
    assert_eq!((p.config_dir, p.data_dir, p.run_dir), ("/h/config".into(), "/h/data".into(), "/h/run".into()));
}

#[test]
fn empty_variables_count_as_unset_and_a_relative_home_is_refused() {
    let empty = [("HOLDFAST_SOCKET", ""), ("HOLDFAST_HOME", ""), ("XDG_RUNTIME_DIR", "/x")];
    assert_eq!(socket(&empty), PathBuf::from("/x/holdfast/holdfast.sock"));
    assert!(resolve(&[("HOLDFAST_HOME", "relative/home")]).is_err());
}
