//! First-party static files: the stylesheet, the one script and the icon, compiled into the
//! binary and served from `/static/{name}.{hash}.{ext}`.
//!
//! The URL carries the first 10 hex digits of the file's SHA-256, so a file can be cached
//! for a year (`immutable`) and a new release still reaches every browser at once: the pages
//! link the new name. Names without the current hash are not served. Nothing here is fetched
//! from anywhere else (P07, P36): no CDN, no web font, no third-party script.

use std::sync::LazyLock;

use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest as _, Sha256};

/// How long browsers may keep a hashed file: a year, and they need not revalidate.
pub const CACHE_FOREVER: &str = "public, max-age=31536000, immutable";

/// One file.
#[derive(Debug)]
pub struct Asset {
    /// The name templates ask for (`app.css`).
    pub name: &'static str,
    /// What it is.
    pub content_type: &'static str,
    /// Its bytes.
    pub bytes: &'static [u8],
    /// The file name it is served under (`app.3f2a9c1b0d.css`).
    pub file: String,
    /// Its URL (`/static/app.3f2a9c1b0d.css`).
    pub url: String,
}

macro_rules! asset {
    ($name:literal, $content_type:literal) => {
        (
            $name,
            $content_type,
            include_bytes!(concat!("../../static/", $name)) as &[u8],
        )
    };
}

/// Every file, as compiled in. A test checks this list against the `static/` folder.
const FILES: &[(&str, &str, &[u8])] = &[
    asset!("app.css", "text/css; charset=utf-8"),
    asset!("app.js", "text/javascript; charset=utf-8"),
    asset!("icon.svg", "image/svg+xml"),
    asset!("posts.js", "text/javascript; charset=utf-8"),
];

static ASSETS: LazyLock<Vec<Asset>> = LazyLock::new(|| {
    FILES
        .iter()
        .map(|&(name, content_type, bytes)| {
            let hash = hex::encode(&Sha256::digest(bytes)[..5]);
            let file = match name.rsplit_once('.') {
                Some((stem, ext)) => format!("{stem}.{hash}.{ext}"),
                None => format!("{name}.{hash}"),
            };
            Asset {
                name,
                content_type,
                bytes,
                url: format!("/static/{file}"),
                file,
            }
        })
        .collect()
});

/// Every asset.
#[cfg(any(test, feature = "testing"))]
pub fn all() -> &'static [Asset] {
    &ASSETS
}

/// The asset called `name`, if there is one.
pub fn get(name: &str) -> Option<&'static Asset> {
    ASSETS.iter().find(|asset| asset.name == name)
}

/// `GET /static/{file}`: a hashed file with a year's caching, else 404.
pub async fn serve(Path(file): Path<String>) -> Response {
    match ASSETS.iter().find(|asset| asset.file == file) {
        Some(asset) => (
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static(asset.content_type),
                ),
                (
                    header::CACHE_CONTROL,
                    HeaderValue::from_static(CACHE_FOREVER),
                ),
            ],
            asset.bytes,
        )
            .into_response(),
        None => (
            StatusCode::NOT_FOUND,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            "not found",
        )
            .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    #[test]
    fn every_file_in_the_static_folder_is_compiled_in() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("static");
        let on_disk: BTreeSet<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        let compiled: BTreeSet<String> = FILES.iter().map(|(n, _, _)| (*n).to_owned()).collect();
        assert_eq!(on_disk, compiled);
    }

    #[test]
    fn urls_carry_the_content_hash() {
        let css = get("app.css").unwrap();
        let digest = hex::encode(Sha256::digest(css.bytes));
        assert_eq!(css.url, format!("/static/app.{}.css", &digest[..10]));
        assert!(get("nothing.css").is_none());
        let names: BTreeSet<&str> = all().iter().map(|a| a.file.as_str()).collect();
        assert_eq!(names.len(), FILES.len(), "file names are unique");
    }

    #[tokio::test]
    async fn a_hashed_file_is_served_for_a_year_and_anything_else_is_not_found() {
        let css = get("app.css").unwrap();
        let response = serve(Path(css.file.clone())).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()[header::CACHE_CONTROL], CACHE_FOREVER);
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            "text/css; charset=utf-8"
        );
        for wrong in ["app.css", "app.0000000000.css", "../Cargo.toml", ""] {
            let response = serve(Path(wrong.to_owned())).await;
            assert_eq!(response.status(), StatusCode::NOT_FOUND, "{wrong}");
        }
    }
}
