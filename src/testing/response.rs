//! The HTTP answers: JSON with the client token in `Authorization`, Clerk's error answers, and
//! the answers of injected faults.

use bytes::Bytes;
use http::header::{AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER};
use http::{HeaderValue, Response, StatusCode};
use http_body_util::Full;
use serde_json::Value;

use super::api_error::ApiError;
use super::error_envelope::error_answer;
use super::fault::Fault;

/// An answer of the fake.
pub(crate) type HttpResponse = Response<Full<Bytes>>;

pub(crate) fn fault_response(fault: &Fault) -> HttpResponse {
    match fault {
        Fault::ServerError(status) => {
            let status = StatusCode::from_u16(*status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            error_response(&ApiError::ServerError { status: status.as_u16() })
        }
        Fault::Garbage => {
            let mut response = Response::new(Full::new(Bytes::from_static(
                br#"{"response":{"object":"sign_in_attempt","id":"sia_2x"#,
            )));
            response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            response
        }
        Fault::RateLimited { retry_after } => error_response(&ApiError::TooManyRequests { retry_after: *retry_after }),
        Fault::Down => unreachable!("Fault::Down closes the connection"),
    }
}

pub(crate) fn error_response(error: &ApiError) -> HttpResponse {
    let answer = error_answer(error);
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    json_response(status, &answer.body, None, answer.retry_after)
}

pub(crate) fn json_response(
    status: StatusCode,
    body: &Value,
    client_token: Option<&str>,
    retry_after: Option<u64>,
) -> HttpResponse {
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    if let Some(token) = client_token.and_then(|token| HeaderValue::from_str(token).ok()) {
        headers.insert(AUTHORIZATION, token);
    }
    if let Some(secs) = retry_after {
        headers.insert(RETRY_AFTER, HeaderValue::from(secs));
    }
    response
}
