//! The TLS set-up of the built-in HTTP client: rustls with the crypto provider the crate's
//! features select, and the platform's certificate verifier.
//!
//! reqwest's own `rustls` feature always links aws-lc-rs; the workspace takes reqwest with
//! `rustls-no-provider` instead and hands it a ready `rustls::ClientConfig`, so that an
//! embedder who picks `rustls-ring` builds no aws-lc at all. The provider is passed to the
//! config rather than installed process-wide, so this crate never changes what other crates in
//! the process use.

#[cfg(any(feature = "rustls-ring", feature = "rustls-aws-lc"))]
pub(crate) use with_rustls::client_builder;

#[cfg(not(any(feature = "rustls-ring", feature = "rustls-aws-lc")))]
compile_error!(
    "kraftsoci-meta needs a TLS backend: enable the `rustls-ring` (default) or the `rustls-aws-lc` feature"
);

/// Keeps the build down to the one error above when no TLS feature is enabled.
#[cfg(not(any(feature = "rustls-ring", feature = "rustls-aws-lc")))]
pub(crate) fn client_builder() -> Result<reqwest::ClientBuilder, String> {
    Err("no tls backend is compiled in".into())
}

#[cfg(any(feature = "rustls-ring", feature = "rustls-aws-lc"))]
mod with_rustls {
    use std::sync::Arc;

    use rustls::crypto::CryptoProvider;
    use rustls_platform_verifier::BuilderVerifierExt as _;

    /// The provider the features select. With both enabled, aws-lc-rs wins: asking for it takes
    /// turning the default off, so it is the deliberate choice.
    fn provider() -> CryptoProvider {
        #[cfg(feature = "rustls-aws-lc")]
        return rustls::crypto::aws_lc_rs::default_provider();
        #[cfg(all(feature = "rustls-ring", not(feature = "rustls-aws-lc")))]
        return rustls::crypto::ring::default_provider();
    }

    /// A client builder with TLS configured: TLS 1.2 and 1.3, the platform's roots and
    /// verification, ALPN for HTTP/2 and HTTP/1.1 (what reqwest would set up itself).
    ///
    /// # Errors
    /// The reason, when the provider or the platform verifier cannot be set up.
    pub(crate) fn client_builder() -> Result<reqwest::ClientBuilder, String> {
        let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(provider()))
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("tls versions: {e}"))?
            .with_platform_verifier()
            .map_err(|e| format!("tls certificate verifier: {e}"))?
            .with_no_client_auth();
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(reqwest::Client::builder().tls_backend_preconfigured(config))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_built_in_client_builds_with_the_selected_provider() {
        // reqwest refuses a preconfigured TLS config it does not recognise (another rustls
        // major version) with a builder error: this would catch the two drifting apart.
        let client = super::client_builder().and_then(|b| b.build().map_err(|e| e.to_string()));
        assert!(client.is_ok(), "{:?}", client.err());
    }
}
