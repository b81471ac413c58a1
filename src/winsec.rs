//! Windows pipe security: the security descriptors the daemon's pipe is created with (DESIGN §7).
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
//!
//! The system daemon (the Windows service, see `trust`) adds one ACE per SID its marker allows,
//! with [`CLIENT_ACCESS`]: read and write data, never `FILE_CREATE_PIPE_INSTANCE`. The texts are
//! built on every OS (golden and unit tests); only the descriptor objects are Windows-only.

/// SDDL for the pipe's DACL: `P` protected (no inherited ACEs); deny network logons (remote
/// clients are also rejected by `PIPE_REJECT_REMOTE_CLIENTS`); full access for SYSTEM and the
/// pipe's owner; everyone else (other users, Anonymous, Everyone) is denied by omission.
pub const OWNER_ONLY_SDDL: &str = "D:P(D;;GA;;;NU)(A;;GA;;;SY)(A;;GA;;;OW)";

/// What an allowed user of the system daemon gets on its pipe: `FILE_GENERIC_READ |
/// FILE_GENERIC_WRITE` (0x0012019F) without `FILE_APPEND_DATA` (0x4), which on a pipe is
/// `FILE_CREATE_PIPE_INSTANCE`: with it any allowed user could create an instance of the daemon's
/// pipe and answer other users' hooks. What is left: READ_CONTROL 0x20000, SYNCHRONIZE 0x100000,
/// FILE_READ_DATA 0x1, FILE_WRITE_DATA 0x2, FILE_READ_EA 0x8, FILE_WRITE_EA 0x10,
/// FILE_READ_ATTRIBUTES 0x80, FILE_WRITE_ATTRIBUTES 0x100; no WRITE_DAC, no WRITE_OWNER, no DELETE.
pub const CLIENT_ACCESS: u32 = 0x0012_019B;

/// What a client asks for when it opens the pipe ([`CLIENT_ACCESS`] covers it): read and write
/// data, read attributes (interprocess reads the pipe's flags) and write attributes (the pipe's
/// mode), and SYNCHRONIZE. Never `GENERIC_WRITE`: it includes `FILE_APPEND_DATA`, which the
/// system daemon's ACL refuses to allowed users, so such an open would be denied.
pub const CLIENT_OPEN_ACCESS: u32 = 0x1 | 0x2 | 0x80 | 0x100 | 0x0010_0000;

/// The system daemon's pipe DACL: [`OWNER_ONLY_SDDL`] plus [`CLIENT_ACCESS`] for each SID in
/// `allow` (SIDs checked by `trust::SystemDaemon::check_windows`).
pub fn system_sddl(allow: &[String]) -> String {
    let grants: String = allow.iter().map(|sid| format!("(A;;0x{CLIENT_ACCESS:x};;;{sid})")).collect();
    format!("{OWNER_ONLY_SDDL}{grants}")
}

#[cfg(windows)]
pub use descriptor::*;

#[cfg(windows)]
mod descriptor {
    use std::io;

    use interprocess::os::windows::security_descriptor::{AsSecurityDescriptorExt, SecurityDescriptor};
    use widestring::U16CString;

    /// `DACL_SECURITY_INFORMATION`: selects the DACL when serializing.
    const DACL_SECURITY_INFORMATION: u32 = 0x4;

    fn from_sddl(sddl: &str) -> io::Result<SecurityDescriptor> {
        let sddl = U16CString::from_str(sddl).map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        SecurityDescriptor::deserialize(&sddl)
    }

    /// The descriptor the pipe `name` is created with: the system daemon's (with its allowed
    /// users) when `name` is the pipe of the installed system daemon's marker, else owner-only.
    pub(crate) fn descriptor_for(name: &str) -> io::Result<SecurityDescriptor> {
        from_sddl(&sddl_for(name))
    }

    /// The SDDL [`descriptor_for`] uses for `name`.
    pub fn sddl_for(name: &str) -> String {
        match crate::trust::SystemDaemon::find() {
            Ok(Some(s)) if s.pipe_name().is_some_and(|ours| ours.eq_ignore_ascii_case(name)) => {
                super::system_sddl(&s.allow)
            }
            _ => super::OWNER_ONLY_SDDL.to_owned(),
        }
    }

    /// `sddl` as Windows parses it and serializes its DACL back (for checks).
    pub fn dacl_round_trip(sddl: &str) -> io::Result<String> {
        from_sddl(sddl)?.serialize(DACL_SECURITY_INFORMATION, |s| s.to_string_lossy())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allowed_users_get_data_rights_but_never_create_pipe_instance() {
        const FILE_APPEND_DATA_IS_CREATE_PIPE_INSTANCE: u32 = 0x4;
        const FILE_GENERIC_READ_WRITE: u32 = 0x0012_019F;
        assert_eq!(CLIENT_ACCESS, FILE_GENERIC_READ_WRITE & !FILE_APPEND_DATA_IS_CREATE_PIPE_INSTANCE);
        assert_eq!(CLIENT_OPEN_ACCESS & !CLIENT_ACCESS, 0, "the client asks only for what it is granted");
        assert_eq!(
            system_sddl(&["S-1-5-21-1-2-3-1001".into(), "S-1-5-32-545".into()]),
            "D:P(D;;GA;;;NU)(A;;GA;;;SY)(A;;GA;;;OW)(A;;0x12019b;;;S-1-5-21-1-2-3-1001)(A;;0x12019b;;;S-1-5-32-545)"
        );
        assert_eq!(system_sddl(&[]), OWNER_ONLY_SDDL);
    }

    #[cfg(windows)]
    #[test]
    fn descriptors_round_trip_to_the_same_dacl() {
        assert_eq!(dacl_round_trip(OWNER_ONLY_SDDL).unwrap(), OWNER_ONLY_SDDL);
        let system = system_sddl(&["S-1-5-21-1-2-3-1001".into()]);
        assert_eq!(dacl_round_trip(&system).unwrap().to_ascii_lowercase(), system.to_ascii_lowercase());
    }
}
