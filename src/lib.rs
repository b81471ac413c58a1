#![forbid(unsafe_code)]
pub mod classify;
