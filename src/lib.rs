//! holdfast: a local policy daemon between AI coding agents and the machine.
//!
//! Agents' hooks propose shell commands; the daemon classifies them, answers
//! allow, hold or deny, and records every decision in a sealed audit log.
#![forbid(unsafe_code)]

pub mod audit;
pub mod classify;
pub mod daemon;
pub mod hook;
pub mod install;
pub mod paths;
pub mod policy;
pub mod service;
pub mod session;
pub mod signals;
pub mod transport;
pub mod trust;
pub mod vault;
pub mod watch;
#[cfg(windows)]
mod winpipe;
#[cfg(windows)]
pub mod winsec;
#[cfg(windows)]
pub mod winservice;
pub mod wire;

/// This build's version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
