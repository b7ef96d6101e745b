//! Blob storage for generated images through core's [`MediaStore`] port, on `object_store`:
//! a local directory (`file://`) or an S3-compatible bucket (`s3://`, credentials from the
//! standard `AWS_*` variables).
//!
//! With a bucket, Meta's fetcher downloads a post's image from a URL presigned by the bucket
//! ([`PresignedMedia`]), not through the API's `/media/` route: a container created while the
//! API restarts still finds its image.

use std::sync::Arc;

use async_trait::async_trait;
use futures::TryStreamExt as _;
use kraftsoci_core::UserId;
use kraftsoci_core::ports::{MediaKey, MediaStore, MediaStoreError, StoredMedia};
use object_store::path::Path;
use object_store::prefix::PrefixStore;
use object_store::signer::{Method, Signer};
use object_store::{
    Attribute, Attributes, ObjectStore, ObjectStoreExt as _, PutOptions, PutPayload,
};

use crate::config::MediaUrl;

/// Opens the configured media store.
///
/// # Errors
/// When the directory cannot be created or the bucket configuration is incomplete.
pub fn from_config(url: &MediaUrl) -> anyhow::Result<Arc<dyn MediaStore>> {
    Ok(match url {
        MediaUrl::Directory(dir) => {
            std::fs::create_dir_all(dir)?;
            let store = object_store::local::LocalFileSystem::new_with_prefix(dir)?
                .with_automatic_cleanup(true);
            Arc::new(ObjectMediaStore {
                inner: Arc::new(store),
                attributes: false,
            })
        }
        MediaUrl::S3 { bucket, prefix } => {
            let s3 = object_store::aws::AmazonS3Builder::from_env()
                .with_bucket_name(bucket)
                .build()?;
            let inner: Arc<dyn ObjectStore> = if prefix.is_empty() {
                Arc::new(s3)
            } else {
                Arc::new(PrefixStore::new(s3, prefix.as_str()))
            };
            Arc::new(ObjectMediaStore {
                inner,
                attributes: true,
            })
        }
    })
}

/// Presigns GET URLs to a bucket's objects (SigV4 query parameters: the URL alone grants one
/// object until it expires), for Meta's fetcher.
pub struct PresignedMedia {
    signer: Arc<dyn Signer>,
    prefix: String,
}

impl std::fmt::Debug for PresignedMedia {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PresignedMedia")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

/// S3 refuses presigned URLs valid for longer than seven days.
const MAX_PRESIGN: std::time::Duration = std::time::Duration::from_secs(7 * 24 * 3600);

impl PresignedMedia {
    /// Presigns with `signer` under the key prefix `prefix` (may be empty).
    pub fn new(signer: Arc<dyn Signer>, prefix: &str) -> Self {
        Self {
            signer,
            prefix: prefix.trim_matches('/').to_owned(),
        }
    }

    /// The presigner of `url` when it is a bucket, `None` for a directory (the API's own
    /// signed links serve those).
    ///
    /// # Errors
    /// When the bucket configuration is incomplete.
    pub fn from_config(url: &MediaUrl) -> anyhow::Result<Option<Self>> {
        Ok(match url {
            MediaUrl::Directory(_) => None,
            MediaUrl::S3 { bucket, prefix } => {
                let s3 = object_store::aws::AmazonS3Builder::from_env()
                    .with_bucket_name(bucket)
                    .build()?;
                Some(Self::new(Arc::new(s3), prefix))
            }
        })
    }

    /// A GET URL for `key`, valid for `ttl` (at most seven days, S3's limit).
    ///
    /// # Errors
    /// When the credentials cannot be had (an instance profile that does not answer).
    pub async fn url(
        &self,
        key: &MediaKey,
        ttl: std::time::Duration,
    ) -> Result<String, MediaStoreError> {
        let location = if self.prefix.is_empty() {
            Path::from(key.as_str())
        } else {
            Path::from(format!("{}/{}", self.prefix, key.as_str()))
        };
        self.signer
            .signed_url(Method::GET, &location, ttl.min(MAX_PRESIGN))
            .await
            .map(|url| url.to_string())
            .map_err(failed)
    }
}

/// A [`MediaStore`] over any `object_store` backend.
#[derive(Debug)]
pub struct ObjectMediaStore {
    inner: Arc<dyn ObjectStore>,
    /// Whether the backend keeps a content type with each object (S3 does; a local
    /// directory does not, so the type is read from the key's extension).
    attributes: bool,
}

impl ObjectMediaStore {
    /// A store over `inner`; `attributes` says whether it keeps content types.
    #[cfg(any(test, feature = "testing"))]
    pub fn new(inner: Arc<dyn ObjectStore>, attributes: bool) -> Self {
        Self { inner, attributes }
    }
}

fn failed(e: object_store::Error) -> MediaStoreError {
    MediaStoreError(e.to_string())
}

fn type_from_extension(key: &str) -> &'static str {
    match key
        .rsplit_once('.')
        .map(|(_, ext)| ext.to_ascii_lowercase())
    {
        Some(ext) if ext == "jpg" || ext == "jpeg" => "image/jpeg",
        Some(ext) if ext == "png" => "image/png",
        Some(ext) if ext == "mp4" => "video/mp4",
        _ => "application/octet-stream",
    }
}

#[async_trait]
impl MediaStore for ObjectMediaStore {
    async fn put(
        &self,
        key: &MediaKey,
        bytes: Vec<u8>,
        content_type: &str,
    ) -> Result<(), MediaStoreError> {
        let mut options = PutOptions::default();
        if self.attributes {
            let mut attributes = Attributes::new();
            attributes.insert(Attribute::ContentType, content_type.to_owned().into());
            options.attributes = attributes;
        }
        self.inner
            .put_opts(&Path::from(key.as_str()), PutPayload::from(bytes), options)
            .await
            .map_err(failed)?;
        Ok(())
    }

    async fn get(&self, key: &MediaKey) -> Result<Option<StoredMedia>, MediaStoreError> {
        let result = match self.inner.get(&Path::from(key.as_str())).await {
            Ok(result) => result,
            Err(object_store::Error::NotFound { .. }) => return Ok(None),
            Err(other) => return Err(failed(other)),
        };
        let content_type = result.attributes.get(&Attribute::ContentType).map_or_else(
            || type_from_extension(key.as_str()).to_owned(),
            |v| v.to_string(),
        );
        let bytes = result.bytes().await.map_err(failed)?;
        Ok(Some(StoredMedia {
            bytes: bytes.to_vec(),
            content_type,
        }))
    }

    async fn delete(&self, key: &MediaKey) -> Result<(), MediaStoreError> {
        match self.inner.delete(&Path::from(key.as_str())).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(other) => Err(failed(other)),
        }
    }

    async fn delete_user(&self, user: UserId) -> Result<u64, MediaStoreError> {
        let prefix = Path::from(MediaKey::user_prefix(user).trim_end_matches('/'));
        let objects: Vec<_> = self
            .inner
            .list(Some(&prefix))
            .try_collect()
            .await
            .map_err(failed)?;
        let mut deleted = 0;
        for object in objects {
            match self.inner.delete(&object.location).await {
                Ok(()) => deleted += 1,
                Err(object_store::Error::NotFound { .. }) => {}
                Err(other) => return Err(failed(other)),
            }
        }
        Ok(deleted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fake_bucket(endpoint: &str) -> Arc<dyn Signer> {
        Arc::new(
            object_store::aws::AmazonS3Builder::new()
                .with_endpoint(endpoint)
                .with_allow_http(true)
                .with_region("eu-central-1")
                .with_bucket_name("kraftsoci-media")
                .with_access_key_id("AKIAFAKEKEYID0000000")
                .with_secret_access_key("fake-secret-access-key-never-in-a-url")
                .with_virtual_hosted_style_request(false)
                .build()
                .unwrap(),
        )
    }

    #[tokio::test]
    async fn a_bucket_presigns_a_get_of_the_prefixed_key_that_carries_no_secret() {
        let presigned = PresignedMedia::new(fake_bucket("http://127.0.0.1:9"), "/prod/media/");
        let key = MediaKey::new(UserId::new(), "post-1.jpg").unwrap();

        let url = presigned
            .url(&key, std::time::Duration::from_secs(86_400))
            .await
            .unwrap();

        let parsed = url::Url::parse(&url).unwrap();
        assert_eq!(
            parsed.path(),
            format!("/kraftsoci-media/prod/media/{}", key.as_str())
        );
        let query: std::collections::HashMap<_, _> = parsed.query_pairs().into_owned().collect();
        assert_eq!(query["X-Amz-Algorithm"], "AWS4-HMAC-SHA256");
        assert_eq!(query["X-Amz-Expires"], "86400");
        assert!(query["X-Amz-Credential"].starts_with("AKIAFAKEKEYID0000000/"));
        assert_eq!(query["X-Amz-Signature"].len(), 64);
        assert!(!url.contains("fake-secret-access-key"));
        // S3's own limit: a longer TTL is cut to seven days instead of an unusable URL.
        let long = presigned
            .url(&key, std::time::Duration::from_secs(30 * 86_400))
            .await
            .unwrap();
        assert!(long.contains("X-Amz-Expires=604800"), "{long}");
    }

    #[test]
    fn a_directory_has_no_presigner() {
        let none = PresignedMedia::from_config(&MediaUrl::Directory("./media".into())).unwrap();
        assert!(none.is_none());
    }

    #[tokio::test]
    async fn a_directory_store_keeps_deletes_and_purges_per_user() {
        let dir = std::env::temp_dir().join(format!("kraftsoci-media-{}", uuid::Uuid::new_v4()));
        let store = from_config(&MediaUrl::Directory(dir.clone())).unwrap();
        let (ada, bob) = (UserId::new(), UserId::new());
        let a1 = MediaKey::new(ada, "post-1.jpg").unwrap();
        let a2 = MediaKey::new(ada, "post-2.jpg").unwrap();
        let b1 = MediaKey::new(bob, "post-1.jpg").unwrap();
        for key in [&a1, &a2, &b1] {
            store
                .put(key, b"\xff\xd8jpeg".to_vec(), "image/jpeg")
                .await
                .unwrap();
        }
        let got = store.get(&a1).await.unwrap().unwrap();
        assert_eq!(got.bytes, b"\xff\xd8jpeg");
        assert_eq!(got.content_type, "image/jpeg");

        store.delete(&a1).await.unwrap();
        store.delete(&a1).await.unwrap();
        assert_eq!(store.get(&a1).await.unwrap(), None);

        assert_eq!(store.delete_user(ada).await.unwrap(), 1);
        assert_eq!(store.get(&a2).await.unwrap(), None);
        assert!(
            store.get(&b1).await.unwrap().is_some(),
            "other users keep theirs"
        );
        std::fs::remove_dir_all(dir).unwrap();
    }
}
