//! Windows pipe security: an owner-only security descriptor (DESIGN §7).
//!
//! Without one, Windows applies its default pipe ACL, which lets Everyone read.

use std::io;

use interprocess::os::windows::security_descriptor::SecurityDescriptor;
use widestring::U16CString;

/// SDDL for the pipe: protected DACL; deny network logons; full access for SYSTEM and the owner only.
pub const OWNER_ONLY_SDDL: &str = "D:P(D;;GA;;;NU)(A;;GA;;;SY)(A;;GA;;;OW)";

/// Builds the owner-only descriptor the daemon's pipe is created with.
pub fn owner_only_descriptor() -> io::Result<SecurityDescriptor> {
    let sddl = U16CString::from_str(OWNER_ONLY_SDDL).map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    SecurityDescriptor::deserialize(&sddl)
}
