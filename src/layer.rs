//! [`ClerkBasicAuthLayer`], its service [`ClerkBasicAuth`] and its [`ResponseFuture`]: the layer
//! decides which branch a request takes and nothing else.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use http::{Request, Response};
use http_body::Body;
use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;

use crate::body::{ResponseBody, Written};
use crate::clerk::bapi::BapiClient;
use crate::clerk::fapi::FapiClient;
use crate::clerk::sessions::Sessions;
use crate::clerk::sign_in::SignInMethod;
use crate::clerk::store::Store;
use crate::config::ClerkBasicAuthConfig;
use crate::discovery::Discovery;
use crate::protect::{Admission, Pending, Protection};
use crate::routes::{Branch, Routes};
use crate::token_endpoint::TokenEndpoint;
use crate::verify::Verifier;
use crate::verify::jwks::KeyStore;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

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

/// The components of one layer, shared by all its services: one per branch of the request path.
pub(crate) struct Shared {
    routes: Routes,
    token_endpoint: Arc<TokenEndpoint>,
    pub(crate) discovery: Discovery,
    protection: Arc<Protection>,
}

impl ClerkBasicAuthLayer {
    /// A layer for this configuration.
    pub fn new(config: ClerkBasicAuthConfig) -> Self {
        Self { shared: Arc::new(components(&config)) }
    }
}

/// Each component built from its own settings; the Clerk client and the keys are shared.
pub(crate) fn components(config: &ClerkBasicAuthConfig) -> Shared {
    let frontend_api = config.instance.requests_to();
    let fapi = FapiClient::new(frontend_api.clone(), &config.http);
    let keys = Arc::new(KeyStore::new(&config.keys, fapi.clone()));
    let verifier = Verifier::new(&config.verify, Arc::clone(&keys), config.instance.issuer());
    let sign_in = BapiClient::new(&config.bapi, &config.http).map_or(SignInMethod::Password, SignInMethod::Ticket);
    let sessions = Sessions::new(&config.sessions, fapi, sign_in, Store::new(&config.store));
    let routes = &config.routes;
    let clerk_jwks_uri = frontend_api.jwks_url().to_string();
    Shared {
        routes: Routes::new(routes),
        token_endpoint: Arc::new(TokenEndpoint::new(&config.token_endpoint, sessions)),
        discovery: Discovery::new(
            &config.discovery,
            &routes.token_path,
            routes.jwks_path.as_deref(),
            clerk_jwks_uri,
            keys,
        ),
        protection: Arc::new(Protection::new(&config.protection, Arc::new(verifier))),
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
/// and passes every other request on only with a valid token, its [`ClerkClaims`](crate::ClerkClaims) in the
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

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let shared = &self.shared;
        match shared.routes.branch(request.uri().path()) {
            Branch::TokenEndpoint => ResponseFuture::written(shared.token_endpoint.respond(request)),
            Branch::Metadata => ResponseFuture::written(Written::now(shared.discovery.metadata(&request))),
            Branch::Jwks => ResponseFuture::written(shared.discovery.jwks(&request)),
            Branch::Public => ResponseFuture::inner(self.inner.call(request)),
            Branch::Protected => match shared.protection.admit(request) {
                Admission::Pass(request) => ResponseFuture::inner(self.inner.call(request)),
                Admission::Refuse(response) => ResponseFuture::written(Written::now(response)),
                Admission::Pending(pending) => {
                    // The ready service goes into the future; this one keeps a fresh clone.
                    let clone = self.inner.clone();
                    let inner = std::mem::replace(&mut self.inner, clone);
                    ResponseFuture::admitting(pending, inner)
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
        /// The inner service answers.
        Inner { #[pin] future: F },
        /// The layer answers itself.
        Written { #[pin] future: Written },
        /// The decision waits for Clerk's keys; then the inner service answers, or the layer.
        Admitting { future: Pending<ReqBody>, inner: S },
    }
}

impl<S, ReqBody> ResponseFuture<S, ReqBody>
where
    S: Service<Request<ReqBody>>,
{
    fn inner(future: S::Future) -> Self {
        Self { state: State::Inner { future } }
    }

    fn written(future: Written) -> Self {
        Self { state: State::Written { future } }
    }

    fn admitting(future: Pending<ReqBody>, inner: S) -> Self {
        Self { state: State::Admitting { future, inner } }
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
                StateProj::Written { future } => {
                    let response = ready!(future.poll(cx));
                    return Poll::Ready(Ok(response.map(ResponseBody::generated)));
                }
                StateProj::Admitting { future, inner } => match ready!(future.as_mut().poll(cx)) {
                    Admission::Pass(request) => {
                        let future = inner.call(request);
                        this.state.set(State::Inner { future });
                    }
                    Admission::Refuse(response) => this.state.set(State::Written { future: Written::now(response) }),
                    Admission::Pending(pending) => *future = pending,
                },
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
