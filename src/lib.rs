//! holdfast: a local policy daemon between AI coding agents and the machine.
//!
//! Agents' hooks propose shell commands; the daemon classifies them, answers
//! allow, hold or deny, and records every decision in a sealed audit log.
//!
//! The `holdfast` binary is a thin layer over this library. Where to start:
//!
//! - [`classify`]: the pure classifier, `classify(&str) -> Classification`;
//! - [`wire`] and [`transport`]: the protocol types and frames, `Client` to talk to a daemon and
//!   `Server::serve_until` to serve (docs/protocol.md is the language-neutral reference);
//! - [`daemon`]: the daemon's state and request handling;
//! - [`hook`]: agent hook dialects and the shared fail-closed decision flow;
//! - [`audit`]: the hash-chained, sealed audit log, its writer and its verifier
//!   (docs/audit-log.md);
//! - [`vault`] and [`session`]: the admin password's keys, challenge proofs and approval sessions
//!   (docs/vault.md);
//! - [`policy`], [`paths`], [`watch`]: policy files, where files live, the filesystem watcher.
//!
//! `examples/` has a runnable program for each of: serving, proposing, classifying, verifying a
//! log, and writing a hook dialect for a new agent.
//!
//! Classifying one line (pure: no daemon, no I/O):
//!
//! ```
//! use holdfast::classify::{Class, classify};
//!
//! let line = "cd build && sudo rm -rf /";
//! let c = classify(line);
//! assert_eq!(c.class, Class::Catastrophic);
//! // The rule has a stable id and a reason; the span is the part of the line that triggered it.
//! assert_eq!(c.rule, "fs.rm_recursive_root");
//! assert_eq!(&line[c.span.clone().unwrap()], "/");
//! println!("{}: {}", c.rule, c.reason);
//! // Text that is data is not a command.
//! assert_eq!(classify(r#"echo "rm -rf /""#).class, Class::Safe);
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

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
pub mod winsec;
#[cfg(windows)]
pub mod winservice;
pub mod wire;

/// This build's version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
