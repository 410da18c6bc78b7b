//! Secrets (LDAP bind password, Zoom client secret, SCIM bearer token).
//!
//! They are read from a file or from a systemd credential (`$CREDENTIALS_DIRECTORY/<name>`,
//! set by `LoadCredential=`), never from the config file itself, so the config can be shown
//! and shared. The value lives in a [`secrecy::SecretString`]: Debug prints a placeholder,
//! and the only way out is [`Secret::expose`], which call sites use at the wire.

use std::fmt;
use std::path::{Path, PathBuf};

use secrecy::{ExposeSecret, SecretString};

/// A secret value and where it came from (the path is not secret and helps operators).
#[derive(Clone)]
pub struct Secret {
    value: SecretString,
    origin: PathBuf,
}

impl Secret {
    /// Wraps an in-memory value (tests, the demo, the emulator's generated credentials).
    pub fn from_value(value: impl Into<String>) -> Self {
        Self { value: SecretString::from(value.into()), origin: PathBuf::from("<memory>") }
    }

    /// The value, for the one place that puts it on the wire.
    pub fn expose(&self) -> &str {
        self.value.expose_secret()
    }

    /// Where the secret was read from.
    pub fn origin(&self) -> &Path {
        &self.origin
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret(<redacted>, from {})", self.origin.display())
    }
}

/// Why a secret could not be read. Carries paths, never contents.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SecretError {
    #[error("cannot read secret file {path}: {reason}")]
    Unreadable { path: PathBuf, reason: String },
    #[error("secret file {path} is empty")]
    Empty { path: PathBuf },
    #[error(
        "credential {name:?} requested but $CREDENTIALS_DIRECTORY is not set (use LoadCredential= in the unit, or a *_file key)"
    )]
    NoCredentialsDirectory { name: String },
    #[error("credential name {name:?} must be a plain file name")]
    BadCredentialName { name: String },
}

/// Reads a secret file: the first line, without the trailing newline. Warns (does not fail)
/// when group or others may read it, as systemd's LoadCredential files never are.
pub fn read_secret_file(path: &Path) -> Result<Secret, SecretError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| SecretError::Unreadable { path: path.to_path_buf(), reason: e.kind().to_string() })?;
    warn_if_shared(path);
    let value = text.lines().next().unwrap_or("").trim_end_matches('\r').to_string();
    if value.is_empty() {
        return Err(SecretError::Empty { path: path.to_path_buf() });
    }
    Ok(Secret { value: SecretString::from(value), origin: path.to_path_buf() })
}

/// Reads `$CREDENTIALS_DIRECTORY/<name>` (systemd `LoadCredential=`).
pub fn read_credential(name: &str, credentials_dir: Option<&Path>) -> Result<Secret, SecretError> {
    if name.is_empty() || name.contains('/') || name == "." || name == ".." {
        return Err(SecretError::BadCredentialName { name: name.to_string() });
    }
    let dir = credentials_dir.ok_or_else(|| SecretError::NoCredentialsDirectory { name: name.to_string() })?;
    read_secret_file(&dir.join(name))
}

#[cfg(unix)]
fn warn_if_shared(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(meta) = std::fs::metadata(path) {
        let mode = meta.permissions().mode();
        if mode & 0o044 != 0 {
            tracing::warn!(
                path = %path.display(),
                mode = format!("{:o}", mode & 0o777),
                "secret file is readable by group or others; chmod 600 it"
            );
        }
    }
}

#[cfg(not(unix))]
fn warn_if_shared(_path: &Path) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_value() {
        let s = Secret::from_value("hunter2-very-secret");
        let shown = format!("{s:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("redacted"));
    }

    #[test]
    fn file_first_line_is_the_secret() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("pw");
        std::fs::write(&p, "s3cret\nignored\n").unwrap();
        assert_eq!(read_secret_file(&p).unwrap().expose(), "s3cret");
    }

    #[test]
    fn empty_and_missing_files_are_errors_without_contents() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("pw");
        std::fs::write(&p, "\n").unwrap();
        assert!(matches!(read_secret_file(&p), Err(SecretError::Empty { .. })));
        let missing = read_secret_file(&dir.path().join("nope")).unwrap_err();
        assert!(missing.to_string().contains("nope"));
    }

    #[test]
    fn credentials_resolve_in_the_directory() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("ldap-password"), "pw").unwrap();
        assert_eq!(read_credential("ldap-password", Some(dir.path())).unwrap().expose(), "pw");
        assert!(matches!(read_credential("ldap-password", None), Err(SecretError::NoCredentialsDirectory { .. })));
        assert!(matches!(
            read_credential("../etc/passwd", Some(dir.path())),
            Err(SecretError::BadCredentialName { .. })
        ));
    }
}
