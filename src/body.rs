//! The response body of [`ClerkBasicAuth`](crate::ClerkBasicAuth): the inner service's body, or
//! one the layer wrote itself (a token, an OAuth error, a PACT error, a discovery document); and
//! [`Written`], the one type for a response the layer writes itself.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;

pin_project! {
    /// Response body of [`ClerkBasicAuth`](crate::ClerkBasicAuth).
    ///
    /// Either the inner service's body `B`, passed through untouched, or a complete body the layer
    /// wrote itself. It is opaque on purpose: it implements [`http_body::Body`] and nothing else,
    /// so no body type of a helper crate becomes part of this crate's API.
    pub struct ResponseBody<B> {
        #[pin]
        kind: Kind<B>,
    }
}

pin_project! {
    #[project = KindProj]
    enum Kind<B> {
        Inner { #[pin] body: B },
        Generated { data: Option<Bytes> },
    }
}

impl<B> ResponseBody<B> {
    pub(crate) fn inner(body: B) -> Self {
        Self { kind: Kind::Inner { body } }
    }

    pub(crate) fn generated(data: Bytes) -> Self {
        let data = if data.is_empty() { None } else { Some(data) };
        Self { kind: Kind::Generated { data } }
    }
}

impl<B> Body for ResponseBody<B>
where
    B: Body<Data = Bytes>,
{
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        match self.project().kind.project() {
            KindProj::Inner { body } => body.poll_frame(cx),
            KindProj::Generated { data } => Poll::Ready(data.take().map(|data| Ok(Frame::data(data)))),
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.kind {
            Kind::Inner { body } => body.is_end_stream(),
            Kind::Generated { data } => data.is_none(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.kind {
            Kind::Inner { body } => body.size_hint(),
            Kind::Generated { data } => SizeHint::with_exact(data.as_ref().map_or(0, |data| data.len() as u64)),
        }
    }
}

/// A response the layer writes itself (token endpoint, discovery, refusals): ready now, or once
/// the work behind it (reading a body, asking Clerk, fetching keys) is done.
pub(crate) enum Written {
    Ready(std::future::Ready<http::Response<Bytes>>),
    Pending(Pin<Box<dyn Future<Output = http::Response<Bytes>> + Send>>),
}

impl Written {
    pub(crate) fn now(response: http::Response<Bytes>) -> Self {
        Self::Ready(std::future::ready(response))
    }

    pub(crate) fn later(future: impl Future<Output = http::Response<Bytes>> + Send + 'static) -> Self {
        Self::Pending(Box::pin(future))
    }
}

impl Future for Written {
    type Output = http::Response<Bytes>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.get_mut() {
            Self::Ready(ready) => Pin::new(ready).poll(cx),
            Self::Pending(future) => future.as_mut().poll(cx),
        }
    }
}

/// A response the layer writes itself: `body` as JSON.
pub(crate) fn json_response(status: http::StatusCode, body: &impl serde::Serialize) -> http::Response<Bytes> {
    let json = serde_json::to_vec(body).expect("the layer's own bodies serialize");
    let mut response = http::Response::new(Bytes::from(json));
    *response.status_mut() = status;
    response.headers_mut().insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("application/json"));
    response
}

impl<B> std::fmt::Debug for ResponseBody<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.kind {
            Kind::Inner { .. } => f.write_str("ResponseBody::Inner"),
            Kind::Generated { data } => {
                write!(f, "ResponseBody::Generated({} bytes)", data.as_ref().map_or(0, Bytes::len))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::{BodyExt, Empty, Full};

    #[tokio::test]
    async fn generated_body_yields_its_bytes_once_with_an_exact_size() {
        let body = ResponseBody::<Empty<Bytes>>::generated(Bytes::from_static(b"{\"a\":1}"));
        assert_eq!(body.size_hint().exact(), Some(7));
        assert!(!body.is_end_stream());
        assert_eq!(body.collect().await.unwrap().to_bytes(), "{\"a\":1}");
    }

    #[tokio::test]
    async fn empty_generated_body_is_at_its_end() {
        let body = ResponseBody::<Empty<Bytes>>::generated(Bytes::new());
        assert!(body.is_end_stream());
        assert_eq!(body.size_hint().exact(), Some(0));
    }

    #[tokio::test]
    async fn inner_body_passes_through() {
        let body = ResponseBody::inner(Full::new(Bytes::from_static(b"hello")));
        assert_eq!(body.size_hint().exact(), Some(5));
        assert_eq!(body.collect().await.unwrap().to_bytes(), "hello");
    }
}
