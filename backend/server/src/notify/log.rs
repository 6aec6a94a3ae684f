//! A notifier that appends every notification as one JSON line to a file (`KLAXON_NOTIFY_LOG`), for tests
//! and dry runs. Several processes may share the file: it is opened with `O_APPEND` and each line is written
//! with one `write`, so lines never interleave, and a line is in the file once that call returns, whatever
//! happens to the process afterwards.

use std::{
    fs::{File, OpenOptions},
    io::Write as _,
    path::{Path, PathBuf},
    sync::{Arc, Mutex, PoisonError},
};

use super::{Notification, Notifier, NotifyError};

/// Appends notifications to a JSON-lines file.
#[derive(Debug, Clone)]
pub struct LogNotifier {
    path: PathBuf,
    file: Arc<Mutex<File>>,
}

impl LogNotifier {
    /// Opens (creating when missing) the file at `path` for appending.
    pub fn open(path: &Path) -> std::io::Result<Self> {
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        Ok(Self {
            path: path.to_owned(),
            file: Arc::new(Mutex::new(file)),
        })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[async_trait::async_trait]
impl Notifier for LogNotifier {
    async fn deliver(&self, n: &Notification) -> Result<(), NotifyError> {
        let mut line = serde_json::to_vec(n).map_err(|e| NotifyError::Permanent(e.to_string()))?;
        line.push(b'\n');
        let file = self.file.clone();
        tokio::task::spawn_blocking(move || {
            let mut f = file.lock().unwrap_or_else(PoisonError::into_inner);
            // One write of the whole line: with O_APPEND it lands at the end, in one piece.
            f.write_all(&line)
        })
        .await
        .map_err(|e| NotifyError::Transient(e.to_string()))?
        .map_err(|e| NotifyError::Transient(format!("cannot append to {}: {e}", self.path.display())))
    }

    async fn was_delivered(&self, n: &Notification) -> Result<bool, NotifyError> {
        // Only asked after a crash mid-delivery, so reading the whole file is fine.
        let needle = format!("\"key\":{}", serde_json::to_string(&n.key).unwrap_or_default());
        let path = self.path.clone();
        let text = tokio::task::spawn_blocking(move || std::fs::read_to_string(path))
            .await
            .map_err(|e| NotifyError::Transient(e.to_string()))?
            .map_err(|e| NotifyError::Transient(format!("cannot read {}: {e}", self.path.display())))?;
        Ok(text.lines().any(|l| l.contains(&needle)))
    }
}
