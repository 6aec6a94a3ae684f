//! The local master key: 32 random bytes in a file readable by its owner only, wrapping data keys with
//! AES-256-GCM (bound to the account). Its reference is a fingerprint of the key (a hash, not the key), so a
//! database knows which key its data keys need without holding anything that helps open them.

use std::{io::Write as _, path::Path};

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use sha2::Digest as _;

use super::{KeyBytes, KeyProvider, SecretError};
use crate::config::ConfigError;

/// A master key held in memory.
#[derive(Debug)]
pub struct LocalKey {
    key: KeyBytes,
    fingerprint: String,
}

impl LocalKey {
    fn from_bytes(key: [u8; 32]) -> Self {
        let digest = sha2::Sha256::digest([b"klaxon-master-key|".as_slice(), &key].concat());
        Self {
            key: KeyBytes(key),
            fingerprint: hex::encode(&digest[..8]),
        }
    }

    /// A random key that exists in this process only.
    pub fn random() -> Self {
        let mut key = [0u8; 32];
        // aws-lc's generator; it only fails when the OS has no randomness at all.
        let _ = aws_lc_rs::rand::fill(&mut key);
        Self::from_bytes(key)
    }

    /// Reads the key in `path` (exactly 32 bytes); `setting` names the setting in errors.
    pub fn load(path: &Path, setting: &'static str) -> Result<Self, ConfigError> {
        let bytes = std::fs::read(path).map_err(|e| ConfigError {
            setting,
            message: format!("cannot read the master key {}: {e}", path.display()),
        })?;
        let key: [u8; 32] = bytes.as_slice().try_into().map_err(|_| ConfigError {
            setting,
            message: format!(
                "{} is not a master key: it must hold exactly 32 bytes, it holds {}",
                path.display(),
                bytes.len()
            ),
        })?;
        Ok(Self::from_bytes(key))
    }

    /// Reads the key in `path`, or creates it (mode 0600) when it is missing and `may_create`. Creation is
    /// atomic: the key is written to a temporary file and linked into place, so two processes starting at
    /// once end up with the same key, and none reads a half-written one.
    pub fn load_or_create(path: &Path, may_create: bool) -> Result<Self, ConfigError> {
        const SETTING: &str = super::LOCAL_SETTING;
        if path.exists() || !may_create {
            return Self::load(path, SETTING).map_err(|e| ConfigError {
                setting: e.setting,
                message: if may_create {
                    e.message
                } else {
                    format!(
                        "{}; this database already holds secrets, so a new key cannot be made for it",
                        e.message
                    )
                },
            });
        }
        let key = Self::random();
        let fail = |e: std::io::Error| ConfigError {
            setting: SETTING,
            message: format!("cannot create the master key {}: {e}", path.display()),
        };
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        options
            .open(&tmp)
            .and_then(|mut f| {
                f.write_all(&key.key.0)?;
                f.sync_all()
            })
            .map_err(fail)?;
        let linked = std::fs::hard_link(&tmp, path);
        let _ = std::fs::remove_file(&tmp);
        match linked {
            Ok(()) => {
                tracing::warn!(path = %path.display(),
                    "Created a new master key: keep it safe and back it up apart from the database; without it \
                     the stored secrets (Slack bot tokens, ingest URLs) cannot be read.");
                Ok(key)
            }
            // Another process made it first: use theirs.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Self::load(path, SETTING),
            Err(e) => Err(fail(e)),
        }
    }

    fn aead(&self) -> Result<LessSafeKey, SecretError> {
        UnboundKey::new(&AES_256_GCM, &self.key.0)
            .map(LessSafeKey::new)
            .map_err(|_| SecretError::Provider("not an AES-256 key".into()))
    }
}

fn aad(account: &str) -> String {
    format!("klaxon-data-key|{account}")
}

#[async_trait::async_trait]
impl KeyProvider for LocalKey {
    fn key_ref(&self) -> String {
        format!("local:{}", self.fingerprint)
    }

    async fn generate(&self, account: &str) -> Result<(KeyBytes, Vec<u8>), SecretError> {
        let mut key = [0u8; 32];
        aws_lc_rs::rand::fill(&mut key).map_err(|_| SecretError::Provider("no randomness".into()))?;
        let key = KeyBytes(key);
        let wrapped = self.wrap(account, &key).await?;
        Ok((key, wrapped))
    }

    async fn wrap(&self, account: &str, key: &KeyBytes) -> Result<Vec<u8>, SecretError> {
        let mut nonce = [0u8; NONCE_LEN];
        aws_lc_rs::rand::fill(&mut nonce).map_err(|_| SecretError::Provider("no randomness".into()))?;
        let mut data = key.0.to_vec();
        self.aead()?
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(aad(account).as_bytes()),
                &mut data,
            )
            .map_err(|_| SecretError::Provider("wrapping failed".into()))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&data);
        Ok(out)
    }

    async fn unwrap(
        &self,
        account: &str,
        key_ref: &str,
        wrapped: &[u8],
    ) -> Result<Option<KeyBytes>, SecretError> {
        if key_ref != self.key_ref() {
            return Ok(None);
        }
        if wrapped.len() < NONCE_LEN {
            return Err(SecretError::Provider("a wrapped data key is too short".into()));
        }
        let (nonce, data) = wrapped.split_at(NONCE_LEN);
        let nonce =
            Nonce::try_assume_unique_for_key(nonce).map_err(|_| SecretError::Provider("bad nonce".into()))?;
        let mut data = data.to_vec();
        let plain = self
            .aead()?
            .open_in_place(nonce, Aad::from(aad(account).as_bytes()), &mut data)
            .map_err(|_| {
                SecretError::Provider(format!("the data key of account {account} does not unwrap"))
            })?;
        let key: [u8; 32] = plain
            .try_into()
            .map_err(|_| SecretError::Provider("a data key is not 32 bytes".into()))?;
        Ok(Some(KeyBytes(key)))
    }
}
