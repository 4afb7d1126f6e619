//! A shared index in S3-compatible object storage (`s3://bucket/prefix`): LanceDB's tables
//! under `prefix/lancedb`, and the index's own small objects (what it was built with) beside
//! them. One indexer writes; any number of readers (`brain serve` replicas on other machines)
//! open the same prefix and see each commit within [`crate::READ_CONSISTENCY`].
//!
//! Where to connect and as whom comes from the standard `AWS_*` environment variables
//! (`AWS_ENDPOINT_URL`, `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_REGION`), the
//! variables every S3 tool reads. The keys are required: without them the S3 client would ask
//! a cloud's instance-metadata address for credentials, a connection nobody configured.

use std::sync::Arc;

use futures::{StreamExt, TryStreamExt};
use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};

use crate::{Result, StoreError};

/// The folder under the prefix that holds LanceDB's tables.
const TABLES: &str = "lancedb";

/// An index's place in object storage, with the settings to reach it.
#[derive(Clone)]
pub struct Bucket {
    /// `s3://bucket/prefix`, no trailing slash.
    uri: String,
    /// The `aws_*` settings, as LanceDB's and object_store's S3 clients both read them.
    options: Vec<(String, String)>,
    client: Arc<dyn ObjectStore>,
    /// The prefix inside the bucket ("" for the bucket's root).
    prefix: String,
}

impl std::fmt::Debug for Bucket {
    // The options hold the secret key: never printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bucket").field("uri", &self.uri).finish_non_exhaustive()
    }
}

impl Bucket {
    /// Is `location` an object-storage address rather than a folder?
    pub fn is_uri(location: &str) -> bool {
        location.starts_with("s3://")
    }

    /// The bucket at `uri`, reached with the `AWS_*` settings of this process's environment.
    pub fn from_env(uri: &str) -> Result<Bucket> {
        let env = std::env::vars().filter(|(k, _)| k.starts_with("AWS_"));
        Bucket::with_settings(uri, env)
    }

    /// The bucket at `uri`, reached with these `AWS_*` settings (names as environment variables).
    pub fn with_settings(uri: &str, settings: impl IntoIterator<Item = (String, String)>) -> Result<Bucket> {
        let config = |reason: String| StoreError::BucketConfig { uri: uri.to_string(), reason };
        let rest = uri.strip_prefix("s3://").ok_or_else(|| config("not an s3:// address".into()))?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        let prefix = prefix.trim_matches('/').to_string();
        if bucket.is_empty() || prefix.split('/').any(|p| p == "." || p == "..") {
            return Err(config("expected s3://BUCKET or s3://BUCKET/PREFIX".into()));
        }
        let mut options: Vec<(String, String)> = Vec::new();
        for (name, value) in settings {
            let key = name.to_ascii_lowercase();
            if key.parse::<AmazonS3ConfigKey>().is_ok() {
                options.push((key, value));
            }
        }
        let get = |key: &str| options.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone());
        if get("aws_access_key_id").is_none() || get("aws_secret_access_key").is_none() {
            return Err(config(
                "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_ENDPOINT_URL for a store other than Amazon's)".into(),
            ));
        }
        // A company's own store on its own network often speaks plain HTTP behind a proxy; an
        // http:// endpoint the administrator wrote down is allowed without a second setting.
        let endpoint = get("aws_endpoint_url").or_else(|| get("aws_endpoint"));
        if endpoint.as_deref().is_some_and(|e| e.starts_with("http://")) && get("aws_allow_http").is_none() {
            options.push(("aws_allow_http".into(), "true".into()));
        }
        let mut builder = AmazonS3Builder::new().with_bucket_name(bucket);
        for (key, value) in &options {
            if let Ok(parsed) = key.parse::<AmazonS3ConfigKey>() {
                builder = builder.with_config(parsed, value);
            }
        }
        let client = builder.build().map_err(|e| config(e.to_string()))?;
        let uri = format!("s3://{bucket}{}{prefix}", if prefix.is_empty() { "" } else { "/" });
        Ok(Bucket { uri, options, client: Arc::new(client), prefix })
    }

    /// `s3://bucket/prefix`.
    pub fn uri(&self) -> &str {
        &self.uri
    }

    /// Where LanceDB keeps the tables.
    pub(crate) fn tables_uri(&self) -> String {
        format!("{}/{TABLES}", self.uri)
    }

    /// The settings for LanceDB's connection.
    pub(crate) fn storage_options(&self) -> impl Iterator<Item = (String, String)> + '_ {
        self.options.iter().cloned()
    }

    /// The object-store path of the tables' folder.
    pub(crate) fn tables_path(&self) -> ObjectPath {
        self.path(TABLES)
    }

    /// The object `key` (slash-separated) under the tables' folder.
    pub(crate) fn table_object(&self, key: &str) -> ObjectPath {
        ObjectPath::from(format!("{}/{key}", self.tables_path()))
    }

    pub(crate) fn client(&self) -> &Arc<dyn ObjectStore> {
        &self.client
    }

    /// A bucket held in this process's memory, for tests of what reads the bucket.
    #[cfg(test)]
    pub(crate) fn in_memory(uri: &str) -> Bucket {
        let keys = [("AWS_ACCESS_KEY_ID".to_string(), "test".to_string()), ("AWS_SECRET_ACCESS_KEY".to_string(), "test".to_string())];
        let bucket = Bucket::with_settings(uri, keys).expect("an s3:// address");
        Bucket { client: Arc::new(object_store::memory::InMemory::new()), ..bucket }
    }

    fn path(&self, name: &str) -> ObjectPath {
        match self.prefix.is_empty() {
            true => ObjectPath::from(name),
            false => ObjectPath::from(format!("{}/{name}", self.prefix)),
        }
    }

    pub(crate) fn error(&self, action: &str, e: object_store::Error) -> StoreError {
        StoreError::Bucket { uri: self.uri.clone(), reason: format!("{action}: {e}") }
    }

    /// The object `name` under the prefix, or None if there is none.
    pub async fn read(&self, name: &str) -> Result<Option<Vec<u8>>> {
        match self.client.get(&self.path(name)).await {
            Ok(got) => Ok(Some(got.bytes().await.map_err(|e| self.error(&format!("reading {name}"), e))?.to_vec())),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(self.error(&format!("reading {name}"), e)),
        }
    }

    /// Write the object `name` under the prefix (one PUT: readers see the old or the new one).
    pub async fn write(&self, name: &str, bytes: Vec<u8>) -> Result<()> {
        self.client.put(&self.path(name), PutPayload::from(bytes)).await.map_err(|e| self.error(&format!("writing {name}"), e))?;
        Ok(())
    }

    /// Delete the object `name` under the prefix (none there: nothing to do).
    pub async fn delete(&self, name: &str) -> Result<()> {
        match self.client.delete(&self.path(name)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(self.error(&format!("deleting {name}"), e)),
        }
    }

    /// The same bucket with a client of its own: for a runtime other than the one this
    /// client's connections belong to.
    pub(crate) fn with_new_client(&self) -> Result<Bucket> {
        let settings = self.options.iter().map(|(k, v)| (k.to_ascii_uppercase(), v.clone()));
        Bucket::with_settings(&self.uri, settings)
    }

    /// Delete the index under the prefix — the tables and the objects named in `beside` — and
    /// nothing else the bucket holds (a rebuild): how many objects there were.
    pub async fn delete_index(&self, beside: &[&str]) -> Result<usize> {
        let tables = self.path(TABLES);
        let mut paths: Vec<ObjectPath> =
            self.client.list(Some(&tables)).map_ok(|o| o.location).try_collect().await.map_err(|e| self.error("listing the index", e))?;
        for name in beside {
            match self.client.head(&self.path(name)).await {
                Ok(object) => paths.push(object.location),
                Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(self.error(&format!("reading {name}"), e)),
            }
        }
        let count = paths.len();
        let stream = futures::stream::iter(paths.into_iter().map(Ok)).boxed();
        self.client.delete_stream(stream).try_collect::<Vec<_>>().await.map_err(|e| self.error("deleting the index", e))?;
        Ok(count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> Vec<(String, String)> {
        vec![("AWS_ACCESS_KEY_ID".into(), "GK1".into()), ("AWS_SECRET_ACCESS_KEY".into(), "s3cr3t".into())]
    }

    #[test]
    fn an_address_is_bucket_and_prefix_and_needs_keys() {
        let b = Bucket::with_settings("s3://team/brain/", keys()).unwrap();
        assert_eq!(b.uri(), "s3://team/brain");
        assert_eq!(b.tables_uri(), "s3://team/brain/lancedb");
        assert_eq!(b.path("index.json").as_ref(), "brain/index.json");
        let root = Bucket::with_settings("s3://team", keys()).unwrap();
        assert_eq!((root.uri(), root.path("index.json").as_ref()), ("s3://team", "index.json"));
        for bad in ["s3://", "s3:///x", "/srv/index", "s3://b/../x"] {
            assert!(matches!(Bucket::with_settings(bad, keys()), Err(StoreError::BucketConfig { .. })), "{bad}");
        }
        let Err(StoreError::BucketConfig { reason, .. }) = Bucket::with_settings("s3://team", Vec::new()) else { panic!() };
        assert!(reason.contains("AWS_ACCESS_KEY_ID"), "{reason}");
    }

    #[test]
    fn a_plain_http_endpoint_is_allowed_and_the_secret_never_printed() {
        let mut settings = keys();
        settings.push(("AWS_ENDPOINT_URL".into(), "http://127.0.0.1:3900".into()));
        settings.push(("AWS_PROFILE".into(), "ignored".into()));
        let b = Bucket::with_settings("s3://team/brain", settings).unwrap();
        let options: Vec<_> = b.storage_options().collect();
        assert!(options.contains(&("aws_allow_http".into(), "true".into())), "{options:?}");
        assert!(options.contains(&("aws_endpoint_url".into(), "http://127.0.0.1:3900".into())), "{options:?}");
        assert!(!options.iter().any(|(k, _)| k == "aws_profile"), "{options:?}");
        assert!(!format!("{b:?}").contains("s3cr3t"));
    }
}
