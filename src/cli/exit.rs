//! Process exit codes, as documented in the README.

use holdfast::transport::{BindError, ClientError};
use holdfast::wire::{ErrorCode, WireError};

/// Every exit code holdfast uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Success (for `propose`/`hook generic`: allowed).
    Ok = 0,
    /// A failure not covered below.
    Failure = 1,
    /// Bad command-line usage.
    Usage = 2,
    /// The daemon is not running or did not answer.
    NotRunning = 3,
    /// The daemon refused a privileged operation: wrong or missing admin proof, locked out, or degraded vault.
    Unauthorized = 6,
    /// holdfast denied the command (`exec`).
    Denied = 4,
    /// The command is still held for a human (`exec` gave up waiting).
    Held = 5,
    /// A daemon already runs on this endpoint.
    AlreadyRunning = 7,
    /// `log verify` found the audit log damaged or tampered with.
    LogInvalid = 8,
}

impl Exit {
    /// Maps an error to its exit code.
    pub fn from_error(e: &anyhow::Error) -> Exit {
        if let Some(c) = e.downcast_ref::<ClientError>() {
            return match c {
                ClientError::NotRunning(_)
                | ClientError::Timeout
                | ClientError::Trust(holdfast::trust::TrustError::SupervisedDown { .. }) => Exit::NotRunning,
                _ => Exit::Failure,
            };
        }
        if let Some(w) = e.downcast_ref::<WireError>()
            && matches!(w.code, ErrorCode::Unauthorized | ErrorCode::LockedOut)
        {
            return Exit::Unauthorized;
        }
        if let Some(holdfast::vault::VaultError::WrongPassword) = e.downcast_ref() {
            return Exit::Unauthorized;
        }
        if let Some(BindError::AlreadyRunning { .. }) = e.downcast_ref::<BindError>() {
            return Exit::AlreadyRunning;
        }
        Exit::Failure
    }
}
