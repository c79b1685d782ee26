//! [`ClerkBasicAuthLayer`], its service [`ClerkBasicAuth`] and its [`ResponseFuture`]: the layer
//! decides which branch a request takes and nothing else.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use http::{Request, Response};
use http_body::Body;
use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;

use crate::body::ResponseBody;
use crate::config::ClerkBasicAuthConfig;
use crate::token_endpoint::TokenEndpoint;

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type Generating = Pin<Box<dyn Future<Output = Response<Bytes>> + Send>>;

/// A [`Layer`] that serves the OAuth token endpoint from Clerk sign-ins.
///
/// Building it is synchronous and cannot fail: the configuration was validated when it was
/// built, and nothing is fetched from Clerk until the first request needs it. Clone it freely:
/// clones share the session cache.
///
/// # Example
/// ```
/// use axum::{routing::get, Router};
/// use clerk_basic_auth::{ClerkBasicAuthConfig, ClerkBasicAuthLayer};
///
/// let config = ClerkBasicAuthConfig::new("https://clerk.example.com")?;
/// let app: Router = Router::new()
///     .route("/2/footprints", get(|| async { "[]" }))
///     // POST /auth/token is served by the layer; the router does not need the route.
///     .layer(ClerkBasicAuthLayer::new(config));
/// # Ok::<(), clerk_basic_auth::ConfigError>(())
/// ```
#[derive(Clone)]
pub struct ClerkBasicAuthLayer {
    shared: Arc<Shared>,
}

/// What every service of one layer shares.
struct Shared {
    token_path: String,
    token_endpoint: Arc<TokenEndpoint>,
}

impl ClerkBasicAuthLayer {
    /// A layer for this configuration.
    pub fn new(config: ClerkBasicAuthConfig) -> Self {
        let shared = Shared { token_endpoint: Arc::new(TokenEndpoint::new(&config)), token_path: config.token_path };
        Self { shared: Arc::new(shared) }
    }
}

impl fmt::Debug for ClerkBasicAuthLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClerkBasicAuthLayer").field("token_path", &self.shared.token_path).finish_non_exhaustive()
    }
}

impl<S> Layer<S> for ClerkBasicAuthLayer {
    type Service = ClerkBasicAuth<S>;

    fn layer(&self, inner: S) -> Self::Service {
        ClerkBasicAuth { inner, shared: Arc::clone(&self.shared) }
    }
}

/// The service [`ClerkBasicAuthLayer`] wraps around an inner service.
///
/// Requests for the token endpoint are answered here; all others go to the inner service.
#[derive(Clone)]
pub struct ClerkBasicAuth<S> {
    inner: S,
    shared: Arc<Shared>,
}

impl<S> ClerkBasicAuth<S> {
    /// The inner service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The inner service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// The inner service, unwrapped.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S: fmt::Debug> fmt::Debug for ClerkBasicAuth<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClerkBasicAuth").field("inner", &self.inner).finish_non_exhaustive()
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for ClerkBasicAuth<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    ReqBody: Body + Send + 'static,
    ReqBody::Data: Send,
    ReqBody::Error: Into<BoxError>,
{
    type Response = Response<ResponseBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        if request.uri().path() == self.shared.token_path {
            let endpoint = Arc::clone(&self.shared.token_endpoint);
            return ResponseFuture::generating(Box::pin(endpoint.respond(request)));
        }
        ResponseFuture::inner(self.inner.call(request))
    }
}

pin_project! {
    /// Response future of [`ClerkBasicAuth`].
    pub struct ResponseFuture<F> {
        #[pin]
        state: State<F>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<F> {
        Inner { #[pin] future: F },
        Generating { future: Generating },
    }
}

impl<F> ResponseFuture<F> {
    fn inner(future: F) -> Self {
        Self { state: State::Inner { future } }
    }

    fn generating(future: Generating) -> Self {
        Self { state: State::Generating { future } }
    }
}

impl<F, B, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<ResponseBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().state.project() {
            StateProj::Inner { future } => {
                let response = ready!(future.poll(cx))?;
                Poll::Ready(Ok(response.map(ResponseBody::inner)))
            }
            StateProj::Generating { future } => {
                let response = ready!(future.as_mut().poll(cx));
                Poll::Ready(Ok(response.map(ResponseBody::generated)))
            }
        }
    }
}

impl<F> fmt::Debug for ResponseFuture<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}
