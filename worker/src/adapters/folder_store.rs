//! The embedded mode's object store: files under a local folder, linked as `file://` URLs.

use std::path::PathBuf;
use std::time::Duration;

use async_trait::async_trait;
use domain::ports::{ObjectStore, PortError};

/// Where the embedded mode keeps statements and archives.
pub const ARCHIVE_FOLDER: &str = "cws-archive";

pub struct FolderStore {
    root: PathBuf,
}

impl FolderStore {
    pub fn new(root: PathBuf) -> FolderStore {
        FolderStore { root }
    }

    /// Keys are our own (`chargeback/PROJECT/2026-10.csv`), but a `..` must still not escape.
    fn path(&self, key: &str) -> Result<PathBuf, PortError> {
        if key.split('/').any(|part| part.is_empty() || part == "..") {
            return Err(PortError::Rejected {
                code: "InvalidKey".to_owned(),
                message: format!("{key} is not a relative object key"),
            });
        }
        Ok(self.root.join(key))
    }
}

fn io_error(key: &str, error: std::io::Error) -> PortError {
    PortError::Transient(format!("{key}: {error}"))
}

#[async_trait]
impl ObjectStore for FolderStore {
    async fn put(
        &self,
        key: &str,
        body: Vec<u8>,
        _content_type: &str,
        _valid_for: Duration,
    ) -> Result<String, PortError> {
        let path = self.path(key)?;
        if let Some(parent) = path.parent() {
            tokio::fs::create_dir_all(parent)
                .await
                .map_err(|e| io_error(key, e))?;
        }
        tokio::fs::write(&path, body)
            .await
            .map_err(|e| io_error(key, e))?;
        Ok(file_url(path))
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, PortError> {
        match tokio::fs::read(self.path(key)?).await {
            Ok(bytes) => Ok(Some(bytes)),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(error) => Err(io_error(key, error)),
        }
    }

    /// A `file://` URL, which curl uploads to as well.
    async fn upload_link(&self, key: &str, _valid_for: Duration) -> Result<String, PortError> {
        let path = self.path(key)?;
        if let Some(parent) = path.parent() {
            tokio::fs::create_dir_all(parent)
                .await
                .map_err(|e| io_error(key, e))?;
        }
        Ok(file_url(path))
    }

    async fn download_link(
        &self,
        key: &str,
        _valid_for: Duration,
    ) -> Result<Option<(u64, String)>, PortError> {
        let path = self.path(key)?;
        match tokio::fs::metadata(&path).await {
            Ok(metadata) => Ok(Some((metadata.len(), file_url(path)))),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(error) => Err(io_error(key, error)),
        }
    }
}

fn file_url(path: PathBuf) -> String {
    let absolute = std::path::absolute(&path).unwrap_or(path);
    format!("file://{}", absolute.display())
}
