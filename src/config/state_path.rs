//! `state.path` checked when the config loads: a directory this user can write in, or one
//! that can be created (its nearest existing ancestor is a directory this user can write
//! in). Nothing is created here — `check` and `plan` must leave no trace — but an unusable
//! path is a config error naming `state.path` (exit 2) instead of a failure at the first
//! write (exit 1, which systemd restarts every 30 s).

use std::io::ErrorKind;
use std::path::Path;

use rustix::fs::Access;

use super::ConfigError;

const KEY: &str = "state.path";

/// `Ok(())` when the store can live at `path`.
pub fn check(path: &Path) -> Result<(), ConfigError> {
    let shown = path.display();
    let mut at = path;
    loop {
        match std::fs::metadata(at) {
            Ok(meta) if !meta.is_dir() => {
                let what =
                    if at == path { format!("{shown} is a file") } else { format!("{} is a file", at.display()) };
                return Err(ConfigError::invalid(KEY, format!("{what}, not a directory")));
            }
            Ok(_) => {
                return if rustix::fs::access(at, Access::WRITE_OK | Access::EXEC_OK).is_ok() {
                    Ok(())
                } else if at == path {
                    Err(ConfigError::invalid(KEY, format!("{shown} is not writable by this user")))
                } else {
                    Err(ConfigError::invalid(
                        KEY,
                        format!(
                            "{shown} does not exist and cannot be created: {} is not writable by this user",
                            at.display()
                        ),
                    ))
                };
            }
            // A missing path, or one under a file (that ancestor is reported on the way up).
            Err(e) if matches!(e.kind(), ErrorKind::NotFound | ErrorKind::NotADirectory) => match at.parent() {
                Some(parent) if !parent.as_os_str().is_empty() => at = parent,
                Some(_) => at = Path::new("."), // a relative path: the working directory
                None => return Ok(()),          // "/" itself is never missing
            },
            Err(e) => return Err(ConfigError::invalid(KEY, format!("{}: {}", at.display(), e.kind()))),
        }
    }
}
