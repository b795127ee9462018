//! Google service-account auth shared by the GA4 Data API and BigQuery: the key file becomes a
//! token provider, and every token it hands out is registered for redaction.

use std::path::Path;

use super::http::{Endpoint, HttpError};

/// The service account of a key file; an unreadable or invalid file is an auth error naming it.
pub fn service_account(
    key_file: &Path,
    at: &Endpoint,
) -> Result<gcp_auth::CustomServiceAccount, HttpError> {
    gcp_auth::CustomServiceAccount::from_file(key_file).map_err(|e| HttpError::Auth {
        at: at.clone(),
        message: format!("key file {}: {e}", key_file.display()),
    })
}

/// A bearer token for `scope`, registered as a secret so that no output shows it.
pub async fn token(
    provider: &gcp_auth::CustomServiceAccount,
    scope: &str,
    at: &Endpoint,
) -> Result<String, HttpError> {
    use gcp_auth::TokenProvider;
    provider
        .token(&[scope])
        .await
        .map(|t| {
            crate::secret::register(t.as_str());
            t.as_str().to_string()
        })
        .map_err(|e| HttpError::Auth {
            at: at.clone(),
            message: format!("service-account token: {e}"),
        })
}
