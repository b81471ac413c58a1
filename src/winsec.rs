//! Windows pipe security: an owner-only security descriptor (DESIGN §7).
//!
//! Without one, Windows applies its default pipe ACL, which lets Everyone (and Anonymous)
//! read, and lets other users of the machine open the pipe.
//!
//! Why `OW` (OWNER RIGHTS, S-1-3-4) and not the user's SID: the precise SID comes from the
//! process token, which needs unsafe Win32 calls that `#![forbid(unsafe_code)]` rules out, and
//! neither interprocess nor std exposes it. `OW` stands for whoever owns the pipe object, and the
//! kernel sets the owner from the creating token: for a normal (non-elevated) daemon that is the
//! user's own SID, so the ACE grants exactly that user. An ACE for `OW` also replaces the owner's
//! implicit READ_CONTROL/WRITE_DAC, so no other right is left over. The one caveat: a daemon started
//! elevated is owned by BUILTIN\Administrators, so only elevated clients can reach it (stated in
//! the README).

use std::io;

use interprocess::os::windows::security_descriptor::{AsSecurityDescriptorExt, SecurityDescriptor};
use widestring::U16CString;

/// SDDL for the pipe's DACL: `P` protected (no inherited ACEs); deny network logons (remote
/// clients are also rejected by `PIPE_REJECT_REMOTE_CLIENTS`); full access for SYSTEM and the
/// pipe's owner; everyone else (other users, Anonymous, Everyone) is denied by omission.
pub const OWNER_ONLY_SDDL: &str = "D:P(D;;GA;;;NU)(A;;GA;;;SY)(A;;GA;;;OW)";

/// `DACL_SECURITY_INFORMATION`: selects the DACL when serializing.
const DACL_SECURITY_INFORMATION: u32 = 0x4;

/// Builds the owner-only descriptor the daemon's pipe is created with.
pub(crate) fn owner_only_descriptor() -> io::Result<SecurityDescriptor> {
    let sddl = U16CString::from_str(OWNER_ONLY_SDDL).map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    SecurityDescriptor::deserialize(&sddl)
}

/// The DACL of [`owner_only_descriptor`] as Windows serializes it back to SDDL (for checks).
pub fn owner_only_dacl_sddl() -> io::Result<String> {
    owner_only_descriptor()?.serialize(DACL_SECURITY_INFORMATION, |s| s.to_string_lossy())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptor_round_trips_to_the_same_dacl() {
        assert_eq!(owner_only_dacl_sddl().unwrap(), OWNER_ONLY_SDDL);
    }
}
