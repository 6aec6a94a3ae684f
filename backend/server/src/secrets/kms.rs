//! AWS KMS as the key provider: data keys come from `GenerateDataKey` (AES-256) and are unwrapped with
//! `Decrypt`, both with the account id as encryption context, so a data key of one account cannot be
//! unwrapped as another's. KMS is asked when a process first needs an account's key (keys are then kept in
//! memory for a few minutes). Configuration secrets given as `kms:<base64 ciphertext>` are decrypted here
//! once at start-up.

use aws_sdk_kms::{Client, primitives::Blob, types::DataKeySpec};
use base64::Engine as _;

use super::{KeyBytes, KeyProvider, SecretError};
use crate::config::ConfigError;

/// The encryption context key of a data key.
pub const CONTEXT_KEY: &str = "klaxon:account";

/// A KMS key.
#[derive(Debug)]
pub struct KmsKey {
    client: Client,
    key_id: String,
}

/// A KMS client from the AWS default chain (`AWS_ENDPOINT_URL` and `AWS_REGION` included).
async fn client() -> Client {
    let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    Client::new(&config)
}

impl KmsKey {
    /// The key `key_id` (an id, alias or ARN).
    pub async fn new(key_id: &str) -> Self {
        Self {
            client: client().await,
            key_id: key_id.to_owned(),
        }
    }
}

/// A KMS error's code (moto's carry no message), else its text.
fn describe<E: aws_sdk_kms::error::ProvideErrorMetadata + std::error::Error + 'static>(
    e: &aws_sdk_kms::error::SdkError<E>,
) -> String {
    match e.as_service_error().and_then(|s| s.code().map(str::to_owned)) {
        Some(code) => code,
        None => aws_sdk_kms::error::DisplayErrorContext(e).to_string(),
    }
}

#[async_trait::async_trait]
impl KeyProvider for KmsKey {
    fn key_ref(&self) -> String {
        format!("kms:{}", self.key_id)
    }

    async fn generate(&self, account: &str) -> Result<(KeyBytes, Vec<u8>), SecretError> {
        let out = self
            .client
            .generate_data_key()
            .key_id(&self.key_id)
            .key_spec(DataKeySpec::Aes256)
            .encryption_context(CONTEXT_KEY, account)
            .send()
            .await
            .map_err(|e| {
                SecretError::Provider(format!(
                    "KMS GenerateDataKey with {}: {}",
                    self.key_id,
                    describe(&e)
                ))
            })?;
        let plain = out
            .plaintext()
            .ok_or_else(|| SecretError::Provider("KMS returned no plaintext".into()))?;
        let key: [u8; 32] = plain
            .as_ref()
            .try_into()
            .map_err(|_| SecretError::Provider("KMS returned a data key that is not 32 bytes".into()))?;
        let wrapped = out
            .ciphertext_blob()
            .ok_or_else(|| SecretError::Provider("KMS returned no ciphertext".into()))?
            .as_ref()
            .to_vec();
        Ok((KeyBytes(key), wrapped))
    }

    async fn wrap(&self, account: &str, key: &KeyBytes) -> Result<Vec<u8>, SecretError> {
        let out = self
            .client
            .encrypt()
            .key_id(&self.key_id)
            .plaintext(Blob::new(key.0.to_vec()))
            .encryption_context(CONTEXT_KEY, account)
            .send()
            .await
            .map_err(|e| {
                SecretError::Provider(format!("KMS Encrypt with {}: {}", self.key_id, describe(&e)))
            })?;
        Ok(out
            .ciphertext_blob()
            .ok_or_else(|| SecretError::Provider("KMS returned no ciphertext".into()))?
            .as_ref()
            .to_vec())
    }

    async fn unwrap(
        &self,
        account: &str,
        key_ref: &str,
        wrapped: &[u8],
    ) -> Result<Option<KeyBytes>, SecretError> {
        // Any KMS key this process may use: the ciphertext names its key, so a key rotated away from still
        // decrypts while the rotation runs (as long as the credentials may use it).
        if !key_ref.starts_with("kms:") {
            return Ok(None);
        }
        let out = self
            .client
            .decrypt()
            .ciphertext_blob(Blob::new(wrapped.to_vec()))
            .encryption_context(CONTEXT_KEY, account)
            .send()
            .await
            .map_err(|e| {
                SecretError::Provider(format!(
                    "KMS Decrypt of a data key of account {account} ({key_ref}): {}",
                    describe(&e)
                ))
            })?;
        let plain = out
            .plaintext()
            .ok_or_else(|| SecretError::Provider("KMS returned no plaintext".into()))?;
        let key: [u8; 32] = plain
            .as_ref()
            .try_into()
            .map_err(|_| SecretError::Provider("a data key is not 32 bytes".into()))?;
        Ok(Some(KeyBytes(key)))
    }
}

/// Decrypts a configuration secret given as `kms:<base64 ciphertext>` (made with `aws kms encrypt`, no
/// encryption context).
pub async fn decrypt_config(var: &'static str, ciphertext_b64: &str) -> Result<String, ConfigError> {
    let blob = base64::engine::general_purpose::STANDARD
        .decode(ciphertext_b64.trim())
        .map_err(|e| ConfigError {
            setting: var,
            message: format!("the kms: value is not base64: {e}"),
        })?;
    let out = client()
        .await
        .decrypt()
        .ciphertext_blob(Blob::new(blob))
        .send()
        .await
        .map_err(|e| ConfigError {
            setting: var,
            message: format!("KMS cannot decrypt the kms: value: {}", describe(&e)),
        })?;
    let plain = out.plaintext().ok_or_else(|| ConfigError {
        setting: var,
        message: "KMS returned no plaintext".into(),
    })?;
    String::from_utf8(plain.as_ref().to_vec()).map_err(|_| ConfigError {
        setting: var,
        message: "the decrypted value is not text".into(),
    })
}
