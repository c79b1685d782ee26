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
use crate::claims::ClerkClaims;
use crate::config::ClerkBasicAuthConfig;
use crate::discovery::{self, Discovery};
use crate::protect::{Admission, Protection};
use crate::routes::{Branch, Routes};
use crate::token_endpoint::{Answer, TokenEndpoint};
use crate::verify::{AuthError, Verifier};

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type Generating = Pin<Box<dyn Future<Output = Response<Bytes>> + Send>>;
type Verifying = Pin<Box<dyn Future<Output = Result<ClerkClaims, AuthError>> + Send>>;

/// A [`Layer`] that serves the OAuth token endpoint from Clerk sign-ins and admits requests to
/// every other route only with a valid Clerk token.
///
/// Building it is synchronous and cannot fail: the configuration was validated when it was
/// built, and nothing is fetched from Clerk until the first request needs it. Clone it freely:
/// clones share the session cache, the keys and the verified tokens.
///
/// # Example
/// ```
/// use axum::{routing::get, Extension, Router};
/// use clerk_basic_auth::{ClerkBasicAuthConfig, ClerkBasicAuthLayer, ClerkClaims};
///
/// async fn list_footprints(Extension(claims): Extension<ClerkClaims>) -> String {
///     format!("footprints for {}", claims.user_id())
/// }
///
/// let config = ClerkBasicAuthConfig::new("https://clerk.example.com")?.with_public_path("/health");
/// let app: Router = Router::new()
///     .route("/2/footprints", get(list_footprints))
///     .route("/health", get(|| async { "ok" }))
///     // POST /auth/token and the discovery routes are served by the layer itself.
///     .layer(ClerkBasicAuthLayer::new(config));
/// # Ok::<(), clerk_basic_auth::ConfigError>(())
/// ```
#[derive(Clone)]
pub struct ClerkBasicAuthLayer {
    shared: Arc<Shared>,
}

/// What every service of one layer shares.
struct Shared {
    routes: Routes,
    token_endpoint: Arc<TokenEndpoint>,
    discovery: Discovery,
    verifier: Arc<Verifier>,
    protection: Arc<Protection>,
}

impl ClerkBasicAuthLayer {
    /// A layer for this configuration.
    pub fn new(config: ClerkBasicAuthConfig) -> Self {
        let verifier = Arc::new(Verifier::new(&config));
        let shared = Shared {
            routes: Routes::new(&config),
            token_endpoint: Arc::new(TokenEndpoint::new(&config)),
            discovery: Discovery::new(&config),
            protection: Arc::new(Protection::new(&config, Arc::clone(&verifier))),
            verifier,
        };
        Self { shared: Arc::new(shared) }
    }
}

impl fmt::Debug for ClerkBasicAuthLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClerkBasicAuthLayer")
            .field("token_path", &self.shared.routes.token_path())
            .finish_non_exhaustive()
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
/// It answers the token endpoint and the discovery routes itself, passes public routes through,
/// and passes every other request on only with a valid token, its [`ClerkClaims`] in the
/// request extensions.
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
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone,
    ReqBody: Body + Send + 'static,
    ReqBody::Data: Send,
    ReqBody::Error: Into<BoxError>,
{
    type Response = Response<ResponseBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S, ReqBody>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        let shared = &self.shared;
        match shared.routes.branch(request.uri().path()) {
            Branch::TokenEndpoint => match shared.token_endpoint.respond(request) {
                Answer::Now(response) => ResponseFuture::ready(response),
                Answer::Later(future) => ResponseFuture::generating(future),
            },
            Branch::OpenIdConfiguration => ResponseFuture::ready(shared.discovery.openid_configuration(&request)),
            Branch::Jwks => {
                let keys = Arc::clone(shared.verifier.keys());
                ResponseFuture::generating(Box::pin(discovery::jwks(keys, request.method().clone())))
            }
            Branch::Public => ResponseFuture::inner(self.inner.call(request)),
            Branch::Protected => match shared.protection.admit(request.headers(), request.uri().path()) {
                Admission::Admit(claims) => {
                    if let Some(claims) = claims {
                        request.extensions_mut().insert(claims);
                    }
                    ResponseFuture::inner(self.inner.call(request))
                }
                Admission::Refuse(error) => ResponseFuture::ready(shared.protection.refuse(&error, request)),
                Admission::FetchKeys(token) => {
                    let protection = Arc::clone(&shared.protection);
                    let path = request.uri().path().to_owned();
                    let verifying = Box::pin(Arc::clone(&protection).admit_fetching_keys(token, path));
                    // The ready service goes into the future; this one keeps a fresh clone.
                    let clone = self.inner.clone();
                    let inner = std::mem::replace(&mut self.inner, clone);
                    ResponseFuture::verifying(verifying, request, inner, protection)
                }
            },
        }
    }
}

pin_project! {
    /// Response future of [`ClerkBasicAuth`].
    pub struct ResponseFuture<S, ReqBody>
    where
        S: Service<Request<ReqBody>>,
    {
        #[pin]
        state: State<S, ReqBody, S::Future>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<S, ReqBody, F> {
        Inner { #[pin] future: F },
        Ready { response: Option<Response<Bytes>> },
        Generating { future: Generating },
        Verifying {
            future: Verifying,
            request: Option<Request<ReqBody>>,
            inner: Option<S>,
            protection: Arc<Protection>,
        },
    }
}

impl<S, ReqBody> ResponseFuture<S, ReqBody>
where
    S: Service<Request<ReqBody>>,
{
    fn inner(future: S::Future) -> Self {
        Self { state: State::Inner { future } }
    }

    fn ready(response: Response<Bytes>) -> Self {
        Self { state: State::Ready { response: Some(response) } }
    }

    fn generating(future: Generating) -> Self {
        Self { state: State::Generating { future } }
    }

    fn verifying(future: Verifying, request: Request<ReqBody>, inner: S, protection: Arc<Protection>) -> Self {
        Self { state: State::Verifying { future, request: Some(request), inner: Some(inner), protection } }
    }
}

impl<S, ReqBody, B> Future for ResponseFuture<S, ReqBody>
where
    S: Service<Request<ReqBody>, Response = Response<B>>,
{
    type Output = Result<Response<ResponseBody<B>>, S::Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        loop {
            match this.state.as_mut().project() {
                StateProj::Inner { future } => {
                    let response = ready!(future.poll(cx))?;
                    return Poll::Ready(Ok(response.map(ResponseBody::inner)));
                }
                StateProj::Ready { response } => {
                    let response = response.take().expect("ResponseFuture polled after completion");
                    return Poll::Ready(Ok(response.map(ResponseBody::generated)));
                }
                StateProj::Generating { future } => {
                    let response = ready!(future.as_mut().poll(cx));
                    return Poll::Ready(Ok(response.map(ResponseBody::generated)));
                }
                StateProj::Verifying { future, request, inner, protection } => {
                    let verdict = ready!(future.as_mut().poll(cx));
                    let mut request = request.take().expect("ResponseFuture polled after completion");
                    match verdict {
                        Ok(claims) => {
                            request.extensions_mut().insert(claims);
                            let mut inner = inner.take().expect("ResponseFuture polled after completion");
                            let future = inner.call(request);
                            this.state.set(State::Inner { future });
                        }
                        Err(error) => {
                            let response = protection.refuse(&error, request);
                            return Poll::Ready(Ok(response.map(ResponseBody::generated)));
                        }
                    }
                }
            }
        }
    }
}

impl<S, ReqBody> fmt::Debug for ResponseFuture<S, ReqBody>
where
    S: Service<Request<ReqBody>>,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}
