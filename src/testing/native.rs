//! The checks a development instance makes on a native Frontend API request, and the client
//! token it carries.

use http::HeaderMap;
use http::header::{AUTHORIZATION, ORIGIN};

use super::api_error::ApiError;
use super::params::Params;

/// Checks a Frontend API request the way a development instance does for native clients and
/// returns the client token from `Authorization` (empty: no client yet). With the Native API off
/// (`native_api` false), every native request answers 400 `native_api_disabled`.
pub(crate) fn native_client_token(headers: &HeaderMap, query: &Params, native_api: bool) -> Result<String, ApiError> {
    if query.get("__clerk_api_version").is_some() && headers.contains_key("clerk-api-version") {
        return Err(ApiError::ApiVersionConflict);
    }
    if !matches!(query.get("_is_native"), Some("1" | "true")) {
        return Err(ApiError::DevBrowserUnauthenticated);
    }
    if !native_api {
        return Err(ApiError::NativeApiDisabled);
    }
    let mut values = headers.get_all(AUTHORIZATION).iter();
    let authorization = values.next();
    if values.next().is_some() {
        return Err(ApiError::MultipleAuthorizationValues);
    }
    if authorization.is_some() && headers.contains_key(ORIGIN) {
        return Err(ApiError::OriginAuthorizationConflict);
    }
    let authorization = authorization.ok_or(ApiError::RequestHeaderMissing)?;
    Ok(authorization.to_str().unwrap_or_default().to_owned())
}
