//! The vault file `config_dir/vault.json` (DESIGN §6, docs/vault.md): format, strict parsing,
//! owner-only I/O. New vaults are v2 (a public key); v1 (a password-equivalent `auth_key`) is read
//! until `holdfast vault upgrade` rewrites it.

use std::fs;
use std::io::{self, Read};
use std::path::Path;

use serde::{Deserialize, Serialize};

use ed25519_dalek::VerifyingKey;

use super::VaultError;
use super::kdf::{self, AuthKey, MasterKey};
use crate::wire::KdfParams;

/// Largest vault file read (a real one is about 250 bytes).
const MAX_FILE: u64 = 4096;
/// Fewest characters a new password may have.
pub const MIN_PASSWORD_CHARS: usize = 12;
/// Most bytes a password may have.
pub(crate) const MAX_PASSWORD_BYTES: usize = 1024;

/// What a vault checks proofs against.
#[derive(Debug, Clone)]
pub enum VaultKey {
    /// Legacy v1: `HMAC-SHA256(K, "holdfast auth v1")`, which answers every challenge by itself.
    V1(AuthKey),
    /// v2: the public half of the Ed25519 key derived from `K`; answers nothing.
    V2(VerifyingKey),
}

/// A loaded vault.
#[derive(Debug, Clone)]
pub struct Vault {
    /// Argon2id parameters the password is derived with.
    pub kdf: KdfParams,
    /// The Argon2id salt.
    pub salt: [u8; 16],
    /// The key proofs are checked against.
    pub key: VaultKey,
    /// The audit log's verification key `k0`, wrapped under `K` (see [`kdf`]).
    pub seal_wrap: Option<[u8; 32]>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct VaultJson {
    v: u32,
    kdf: KdfParams,
    salt: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    public_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    auth_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    seal_wrap: Option<String>,
}

/// Checks a new password's length.
pub fn check_new_password(password: &str) -> Result<(), VaultError> {
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        return Err(VaultError::PasswordTooShort(chars));
    }
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(VaultError::PasswordTooLong);
    }
    Ok(())
}

fn random<const N: usize>() -> Result<[u8; N], VaultError> {
    let mut b = [0u8; N];
    getrandom::fill(&mut b).map_err(|e| VaultError::Random(e.to_string()))?;
    Ok(b)
}

fn unhex<const N: usize>(field: &'static str, s: &str) -> Result<[u8; N], VaultError> {
    let mut out = [0u8; N];
    hex::decode_to_slice(s, &mut out).map_err(|_| VaultError::BadField { field, want: N })?;
    Ok(out)
}

impl Vault {
    /// A new v2 vault for `password` (length-checked) with a fresh salt; also returns `K` for wrapping.
    pub fn create(password: &str) -> Result<(Vault, MasterKey), VaultError> {
        check_new_password(password)?;
        let kdf = kdf::default_params();
        let salt = random::<16>()?;
        let k = MasterKey::derive(password.as_bytes(), &salt, &kdf)?;
        Ok((Vault { kdf, salt, key: VaultKey::V2(k.public_key()), seal_wrap: None }, k))
    }

    /// The file format version: 1 (legacy, `auth_key`) or 2 (public key).
    pub fn version(&self) -> u32 {
        match self.key {
            VaultKey::V1(_) => 1,
            VaultKey::V2(_) => 2,
        }
    }

    /// Derives `K` from `password` and checks it against the stored key.
    pub fn unlock(&self, password: &str) -> Result<MasterKey, VaultError> {
        let k = MasterKey::derive(password.as_bytes(), &self.salt, &self.kdf)?;
        let ok = match &self.key {
            VaultKey::V1(auth_key) => auth_key.matches(&k),
            // A public key is no secret: a plain compare leaks nothing.
            VaultKey::V2(public) => k.public_key() == *public,
        };
        if ok { Ok(k) } else { Err(VaultError::WrongPassword) }
    }

    /// This vault as v2 (same password, salt and `seal_wrap`): drops the password-equivalent
    /// `auth_key` of a v1 vault. Needs the password; a v2 vault comes back unchanged.
    pub fn upgrade(&self, password: &str) -> Result<Vault, VaultError> {
        let k = self.unlock(password)?;
        Ok(Vault { key: VaultKey::V2(k.public_key()), ..self.clone() })
    }

    /// The same vault under `new` (fresh salt), with `seal_wrap` re-wrapped. Needs the old password.
    pub fn change_password(&self, old: &str, new: &str) -> Result<Vault, VaultError> {
        let old_k = self.unlock(old)?;
        let (mut next, new_k) = Vault::create(new)?;
        if let Some(w) = &self.seal_wrap {
            let k0 = old_k.unwrap_key(w);
            next.seal_wrap = Some(new_k.wrap_key(&k0));
        }
        Ok(next)
    }

    /// Stores `k0` wrapped under `k` (which must be this vault's `K`, e.g. from [`Vault::unlock`]).
    pub fn set_seal_wrap(&mut self, k: &MasterKey, k0: &[u8; 32]) {
        self.seal_wrap = Some(k.wrap_key(k0));
    }

    /// Parses a vault file strictly: version, algorithm bounds, exact hex lengths, the key field its
    /// version names and no other, no unknown fields.
    pub fn parse(bytes: &[u8]) -> Result<Vault, VaultError> {
        let j: VaultJson = serde_json::from_slice(bytes).map_err(|e| VaultError::Malformed(e.to_string()))?;
        let key = match (j.v, j.auth_key.as_deref(), j.public_key.as_deref()) {
            (1, Some(a), None) => VaultKey::V1(AuthKey::from_bytes(unhex("auth_key", a)?)),
            (2, None, Some(p)) => VaultKey::V2(parse_public_key(p)?),
            (1 | 2, _, _) => {
                return Err(VaultError::Malformed(format!(
                    "a version {} vault needs `{}` and no other key field",
                    j.v,
                    if j.v == 1 { "auth_key" } else { "public_key" }
                )));
            }
            (v, _, _) => return Err(VaultError::UnsupportedVersion(v)),
        };
        kdf::check_params(&j.kdf)?;
        Ok(Vault {
            kdf: j.kdf,
            salt: unhex("salt", &j.salt)?,
            key,
            seal_wrap: j.seal_wrap.as_deref().map(|s| unhex("seal_wrap", s)).transpose()?,
        })
    }

    /// The file bytes (one JSON object and a newline).
    pub fn to_bytes(&self) -> Vec<u8> {
        let (auth_key, public_key) = match &self.key {
            VaultKey::V1(a) => (Some(hex::encode(a.as_bytes())), None),
            VaultKey::V2(p) => (None, Some(hex::encode(p.as_bytes()))),
        };
        let j = VaultJson {
            v: self.version(),
            kdf: self.kdf.clone(),
            salt: hex::encode(self.salt),
            public_key,
            auth_key,
            seal_wrap: self.seal_wrap.map(hex::encode),
        };
        let mut out = serde_json::to_vec(&j).expect("vault serializes");
        out.push(b'\n');
        out
    }

    /// Loads the vault at `path`: `Ok(None)` when there is none; an error (the daemon's *degraded*
    /// reason) when something is there but unusable.
    pub fn load(path: &Path) -> Result<Option<Vault>, VaultError> {
        let io_err = |e: io::Error| VaultError::Io(format!("cannot read {}: {e}", path.display()));
        let meta = match fs::symlink_metadata(path) {
            Ok(m) => m,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_err(e)),
        };
        // A symlink or directory is never a vault: following links would let whoever controls the target decide.
        if !meta.file_type().is_file() {
            return Err(VaultError::Io(format!("{} is not a regular file", path.display())));
        }
        check_owner_only(path, &meta)?;
        let mut bytes = Vec::new();
        fs::File::open(path).and_then(|f| f.take(MAX_FILE + 1).read_to_end(&mut bytes)).map_err(io_err)?;
        if bytes.len() as u64 > MAX_FILE {
            return Err(VaultError::Malformed(format!("file is larger than {MAX_FILE} bytes")));
        }
        Vault::parse(&bytes).map(Some)
    }

    /// Writes a new vault to `path`, refusing to replace an existing one (no-clobber even under a race).
    pub fn save_new(&self, path: &Path) -> Result<(), VaultError> {
        let dir = path.parent().unwrap_or(Path::new("."));
        crate::paths::ensure_private_dir(dir)
            .map_err(|e| VaultError::Io(format!("cannot create {}: {e}", dir.display())))?;
        let tmp = dir.join(format!(".vault.json.new{}", std::process::id()));
        let result = (|| {
            crate::paths::write_atomic(&tmp, &self.to_bytes())?;
            // hard_link fails if `path` exists: atomic create-if-absent, unlike rename.
            fs::hard_link(&tmp, path)
        })();
        let _ = fs::remove_file(&tmp);
        match result {
            Ok(()) => crate::paths::sync_dir(dir).map_err(|e| VaultError::Io(e.to_string())),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Err(VaultError::Exists(path.display().to_string())),
            Err(e) => Err(VaultError::Io(format!("cannot write {}: {e}", path.display()))),
        }
    }

    /// Replaces the vault at `path` atomically (temp file + rename), 0600.
    pub fn replace(&self, path: &Path) -> Result<(), VaultError> {
        crate::paths::write_atomic(path, &self.to_bytes())
            .map_err(|e| VaultError::Io(format!("cannot write {}: {e}", path.display())))
    }
}

/// A stored public key: 32 bytes of hex, a valid point, not of small order (a weak key would
/// accept forged signatures).
fn parse_public_key(s: &str) -> Result<VerifyingKey, VaultError> {
    let bad = || VaultError::BadField { field: "public_key", want: 32 };
    let key = VerifyingKey::from_bytes(&unhex::<32>("public_key", s)?).map_err(|_| bad())?;
    if key.is_weak() { Err(bad()) } else { Ok(key) }
}

/// Other users must not replace the vault (a v1 vault's `auth_key` is also password-equivalent, and a
/// v2 vault's salt and public key are still an offline guessing target): refuse group/other access.
#[cfg(unix)]
fn check_owner_only(path: &Path, meta: &fs::Metadata) -> Result<(), VaultError> {
    use std::os::unix::fs::MetadataExt;
    let mode = meta.mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(VaultError::Permissions(format!(
            "{} has mode {mode:04o}; it must be 0600 (chmod 600 it, then restart the daemon)",
            path.display()
        )));
    }
    let me = rustix::process::geteuid().as_raw();
    if meta.uid() != me {
        return Err(VaultError::Permissions(format!(
            "{} is owned by uid {}, not by this process's uid {me}",
            path.display(),
            meta.uid()
        )));
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_owner_only(_path: &Path, _meta: &fs::Metadata) -> Result<(), VaultError> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const PW: &str = "correct horse battery";

    #[test]
    fn create_parse_round_trip() {
        let (v, k) = Vault::create(PW).unwrap();
        let back = Vault::parse(&v.to_bytes()).unwrap();
        assert_eq!(back.salt, v.salt);
        assert_eq!(back.version(), 2);
        assert!(matches!(back.key, VaultKey::V2(p) if p == k.public_key()));
        assert!(back.unlock(PW).is_ok());
        assert!(matches!(back.unlock("correct horse batterx"), Err(VaultError::WrongPassword)));
        let text = String::from_utf8(v.to_bytes()).unwrap();
        assert!(text.starts_with(r#"{"v":2,"kdf":{"alg":"argon2id","m_kib":19456,"t":2,"p":1},"salt":""#), "{text}");
        assert!(text.contains(r#""public_key":""#) && !text.contains("auth_key"), "{text}");
        assert!(!text.contains("seal_wrap"));
    }

    #[test]
    fn v1_reads_unlocks_and_upgrades_keeping_the_wrap() {
        let (v2, k) = Vault::create(PW).unwrap();
        let mut v1 = Vault { key: VaultKey::V1(k.auth_key()), ..v2.clone() };
        v1.set_seal_wrap(&k, &[6; 32]);
        let back = Vault::parse(&v1.to_bytes()).unwrap();
        assert_eq!(back.version(), 1);
        assert!(String::from_utf8(v1.to_bytes()).unwrap().starts_with(r#"{"v":1,"#));
        assert!(back.unlock(PW).is_ok());
        assert!(matches!(back.upgrade("not the password"), Err(VaultError::WrongPassword)));
        let up = back.upgrade(PW).unwrap();
        assert_eq!(up.version(), 2);
        assert!(matches!(up.key, VaultKey::V2(p) if p == k.public_key()));
        assert_eq!(*up.unlock(PW).unwrap().unwrap_key(&up.seal_wrap.unwrap()), [6; 32]);
        assert!(!String::from_utf8(up.to_bytes()).unwrap().contains("auth_key"));
    }

    #[test]
    fn short_passwords_refused() {
        assert!(matches!(Vault::create("elevenchars"), Err(VaultError::PasswordTooShort(11))));
        assert!(check_new_password("twelve chars").is_ok());
    }

    #[test]
    fn change_password_rewraps_seal() {
        let (mut v, k) = Vault::create(PW).unwrap();
        v.set_seal_wrap(&k, &[5; 32]);
        let next = v.change_password(PW, "another long password").unwrap();
        assert!(matches!(next.unlock(PW), Err(VaultError::WrongPassword)));
        let k2 = next.unlock("another long password").unwrap();
        assert_eq!(*k2.unwrap_key(&next.seal_wrap.unwrap()), [5; 32]);
        assert_ne!(next.salt, v.salt);
        assert!(matches!(
            v.change_password("not the password", "another long password"),
            Err(VaultError::WrongPassword)
        ));
    }

    #[test]
    fn corrupt_files_are_typed_errors() {
        let (v, _) = Vault::create(PW).unwrap();
        let good = String::from_utf8(v.to_bytes()).unwrap();
        let salt = hex::encode(v.salt);
        let public = match &v.key {
            VaultKey::V2(p) => hex::encode(p.as_bytes()),
            VaultKey::V1(_) => unreachable!("new vaults are v2"),
        };
        // The identity point has small order: it would verify forged signatures.
        let mut identity = [0u8; 32];
        identity[0] = 1;
        let cases = [
            "garbage".to_string(),
            good[..good.len() / 2].to_string(),
            good.replace(r#""v":2"#, r#""v":1"#),
            good.replace(r#""v":2"#, r#""v":3"#),
            good.replace("public_key", "auth_key"),
            good.replace(&public, &hex::encode(identity)),
            good.replace(&public, &public[..62]),
            good.replace(r#""v":2"#, &format!(r#""v":2,"auth_key":"{public}""#)),
            good.replace(&salt, &salt[..30]),
            good.replace(&salt, &"zz".repeat(16)),
            good.replace("argon2id", "argon2i"),
            good.replace("19456", "64"),
            good.replace(r#""v":2"#, r#""v":2,"extra":true"#),
            String::new(),
        ];
        for c in cases {
            assert!(Vault::parse(c.as_bytes()).is_err(), "{c}");
        }
    }

    #[test]
    fn save_new_refuses_to_clobber_and_load_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config").join("vault.json");
        assert!(Vault::load(&path).unwrap().is_none());
        let (v, _) = Vault::create(PW).unwrap();
        v.save_new(&path).unwrap();
        assert!(matches!(v.save_new(&path), Err(VaultError::Exists(_))));
        let back = Vault::load(&path).unwrap().unwrap();
        assert_eq!(back.salt, v.salt);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
            fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
            assert!(matches!(Vault::load(&path), Err(VaultError::Permissions(_))));
        }
        let only_file: Vec<_> = fs::read_dir(path.parent().unwrap()).unwrap().collect();
        assert_eq!(only_file.len(), 1, "temp file left behind");
    }
}
