//! Replicas sharing Clerk sessions, failure budgets and backoffs through a real `redis-server`
//! (Debian's package, started on a free loopback port by these tests and stopped after them):
//! one sign-in per credential across replicas, none after a restart, one failure budget, local
//! state while Redis is down, and nothing readable in what Redis holds.

#![cfg(feature = "redis")]

use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use clerk_basic_auth::{ClerkBasicAuthConfig, ConfigError, SessionStore};

use crate::common::*;

const SECRET: &str = "a-test-secret-that-is-long-enough-0123456789";

/// A `redis-server` on a loopback port, killed when dropped.
struct RedisServer {
    port: u16,
    child: Child,
}

impl RedisServer {
    fn start() -> Self {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        Self::start_on(port)
    }

    fn start_on(port: u16) -> Self {
        Self::start_with(port, &[])
    }

    /// A `redis-server` on `port` with `extra` arguments, once it answers `PING`.
    fn start_with(port: u16, extra: &[&str]) -> Self {
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server is installed (scripts/test.sh installs Debian's redis-server)");
        let server = Self { port, child };
        let deadline = Instant::now() + Duration::from_secs(10);
        while server.command(&["PING"]).is_none() {
            assert!(Instant::now() < deadline, "redis-server did not start on port {port}");
            std::thread::sleep(Duration::from_millis(20));
        }
        server
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    /// One command in RESP, answered as raw bytes.
    fn command(&self, args: &[&str]) -> Option<Vec<u8>> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).ok()?;
        stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
        let mut request = format!("*{}\r\n", args.len()).into_bytes();
        for arg in args {
            request.extend_from_slice(format!("${}\r\n{arg}\r\n", arg.len()).as_bytes());
        }
        stream.write_all(&request).ok()?;
        let mut answer = vec![0; 1 << 16];
        let read = stream.read(&mut answer).ok()?;
        answer.truncate(read);
        Some(answer)
    }

    /// Every key and its value, as Redis holds them.
    fn dump(&self) -> Vec<(String, Vec<u8>)> {
        let keys = self.command(&["KEYS", "*"]).unwrap();
        let text = String::from_utf8_lossy(&keys).into_owned();
        text.split("\r\n")
            .filter(|line| line.starts_with("clerk-basic-auth:"))
            .map(|key| (key.to_owned(), self.command(&["DUMP", key]).unwrap()))
            .collect()
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn shared(config: ClerkBasicAuthConfig, redis: &RedisServer) -> ClerkBasicAuthConfig {
    shared_at(config, &redis.url())
}

fn shared_at(config: ClerkBasicAuthConfig, url: &str) -> ClerkBasicAuthConfig {
    config.with_session_store_secret(SECRET).unwrap().with_session_store(SessionStore::redis(url)).unwrap()
}

#[tokio::test]
async fn two_replicas_make_one_sign_in_for_fifty_concurrent_requests() {
    let redis = RedisServer::start();
    let clerk = clerk().await;
    clerk.set_latency(Duration::from_millis(100));
    let replicas = [serve(shared(config(&clerk), &redis)).await, serve(shared(config(&clerk), &redis)).await];
    let requests: Vec<_> = (0..50)
        .map(|n| {
            let addr = replicas[n % 2];
            tokio::spawn(async move { token_request(addr, USER, PASSWORD).send().await.unwrap().status() })
        })
        .collect();
    for request in requests {
        assert_eq!(request.await.unwrap(), 200);
    }
    assert_eq!(clerk.stats().sign_ins, 1, "one replica signed in, the other adopted its session");
}

#[tokio::test]
async fn a_restarted_replica_signs_in_no_one() {
    let redis = RedisServer::start();
    let clerk = clerk().await;
    let first = serve(shared(config(&clerk), &redis)).await;
    let token = access_token(first, USER, PASSWORD).await;
    // A new layer: nothing in its own memory, everything in Redis.
    let restarted = serve(shared(config(&clerk), &redis)).await;
    assert_eq!(access_token(restarted, USER, PASSWORD).await, token, "the stored token, still fresh");
    assert_eq!(clerk.stats().sign_ins, 1);
    let wrong = serve(shared(config(&clerk), &redis)).await;
    assert_eq!(token_request(wrong, USER, "not-the-password").send().await.unwrap().status(), 401);
}

#[tokio::test]
async fn the_failure_budget_holds_across_replicas() {
    let redis = RedisServer::start();
    let clerk = clerk().await;
    let replicas = [serve(shared(config(&clerk), &redis)).await, serve(shared(config(&clerk), &redis)).await];
    for attempt in 0..5 {
        let status = token_request(replicas[attempt % 2], USER, "wrong").send().await.unwrap().status();
        assert_eq!(status, 401, "attempt {attempt}");
    }
    for replica in replicas {
        let response = token_request(replica, USER, "wrong").send().await.unwrap();
        assert_eq!(response.status(), 429);
        assert!(response.headers().contains_key("retry-after"));
    }
    assert_eq!(clerk.stats().sign_in_attempts, 5, "the 6th wrong password, on either replica, never reached Clerk");
}

#[tokio::test]
async fn with_redis_down_requests_go_on_with_local_state_and_the_store_is_used_again_after() {
    let mut redis = RedisServer::start();
    let port = redis.port;
    let clerk = clerk().await;
    let url = redis.url();
    let config = || shared_at(config(&clerk), &url).with_session_store_timeout(Duration::from_millis(100));
    let replica = serve(config()).await;
    access_token(replica, USER, PASSWORD).await;

    let _ = redis.child.kill();
    let _ = redis.child.wait();
    let started = Instant::now();
    access_token(replica, USER, PASSWORD).await;
    access_token(replica, "member@way.cloud", "MemberPassword1").await;
    assert!(started.elapsed() < Duration::from_secs(5), "Redis down never blocks beyond its timeout");

    redis = RedisServer::start_on(port);
    // Redis came back empty: a sign-in is stored again, and a new replica adopts it.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let other = serve(config()).await;
        access_token(other, "loner@way.cloud", "LonerPassword1").await;
        let before = clerk.stats().sign_ins;
        let third = serve(config()).await;
        access_token(third, "loner@way.cloud", "LonerPassword1").await;
        if clerk.stats().sign_ins == before {
            break;
        }
        assert!(Instant::now() < deadline, "the store was not used again after Redis came back");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    drop(redis);
}

#[tokio::test]
async fn redis_holds_no_token_password_or_identifier_in_the_clear() {
    let redis = RedisServer::start();
    let clerk = clerk().await;
    let replica = serve(shared(config(&clerk), &redis)).await;
    let token = access_token(replica, USER, PASSWORD).await;
    let _ = token_request(replica, USER, "wrong-password").send().await.unwrap();
    let client_tokens = clerk.client_tokens();
    let entries = redis.dump();
    assert!(entries.iter().any(|(key, _)| key.contains(":session:")), "{entries:?}");
    let secrets = [USER, PASSWORD, "wrong-password", USER_ID, token.as_str()]
        .into_iter()
        .chain(client_tokens.iter().map(String::as_str))
        .chain(token.split('.'));
    for secret in secrets.filter(|secret| secret.len() >= 8) {
        for (key, value) in &entries {
            assert!(!key.contains(secret), "{key} names a secret");
            let value = String::from_utf8_lossy(value);
            assert!(!value.contains(secret), "{key} holds a secret in the clear");
        }
    }
    // Entries expire with the session, never live forever.
    for (key, _) in &entries {
        let ttl = String::from_utf8_lossy(&redis.command(&["PTTL", key]).unwrap()).into_owned();
        let ttl: i64 = ttl.trim_start_matches(':').trim().parse().unwrap();
        assert!(ttl > 0, "{key} has no expiry ({ttl})");
    }
}

#[test]
fn a_shared_store_needs_a_strong_shared_secret() {
    let config = || ClerkBasicAuthConfig::new("https://clerk.example.com").unwrap();
    let store = SessionStore::redis("redis://127.0.0.1:6379/0");
    assert!(matches!(config().with_session_store(store.clone()), Err(ConfigError::MissingSessionStoreSecret)));
    assert!(matches!(config().with_session_store_secret("short"), Err(ConfigError::WeakSessionStoreSecret)));
    assert!(matches!(config().with_session_store_secret(&"a".repeat(40)), Err(ConfigError::WeakSessionStoreSecret)));
    let with_secret = config().with_session_store_secret(SECRET).unwrap();
    let error = with_secret.clone().with_session_store(SessionStore::redis("http://user:hunter2@x")).unwrap_err();
    assert!(matches!(error, ConfigError::InvalidSessionStoreUrl { .. }));
    assert!(!error.to_string().contains("hunter2"), "{error}");
    let debug = format!("{:?}", with_secret.with_session_store(store).unwrap());
    assert!(!debug.contains(SECRET) && !debug.contains("6379"), "{debug}");
}

/// Three `redis-server`s in cluster mode, joined into one Redis Cluster by `redis-cli`, killed
/// when dropped.
struct RedisCluster {
    nodes: Vec<RedisServer>,
    _dir: tempdir::Dir,
}

mod tempdir {
    /// A directory under the system's temporary directory, removed when dropped.
    pub struct Dir(pub std::path::PathBuf);

    impl Dir {
        pub fn new() -> Self {
            let path = std::env::temp_dir().join(format!(
                "cba-cluster-{}-{:?}",
                std::process::id(),
                std::thread::current().id()
            ));
            let _ = std::fs::remove_dir_all(&path);
            std::fs::create_dir_all(&path).unwrap();
            Self(path)
        }
    }

    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

impl RedisCluster {
    fn start() -> Self {
        let dir = tempdir::Dir::new();
        let nodes: Vec<RedisServer> = (0..3)
            .map(|_| {
                let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
                let config = dir.0.join(format!("nodes-{port}.conf"));
                RedisServer::start_with(
                    port,
                    &["--cluster-enabled", "yes", "--cluster-config-file", config.to_str().unwrap()],
                )
            })
            .collect();
        let addresses: Vec<String> = nodes.iter().map(|node| format!("127.0.0.1:{}", node.port)).collect();
        let created = Command::new("redis-cli")
            .args(["--cluster", "create"])
            .args(&addresses)
            .args(["--cluster-replicas", "0", "--cluster-yes"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("redis-cli is installed with redis-server");
        assert!(created.success(), "redis-cli --cluster create failed");
        let deadline = Instant::now() + Duration::from_secs(20);
        while !nodes.iter().all(|node| {
            node.command(&["CLUSTER", "INFO"])
                .is_some_and(|info| String::from_utf8_lossy(&info).contains("cluster_state:ok"))
        }) {
            assert!(Instant::now() < deadline, "the cluster did not become ready");
            std::thread::sleep(Duration::from_millis(100));
        }
        Self { nodes, _dir: dir }
    }

    fn urls(&self) -> Vec<String> {
        self.nodes.iter().map(RedisServer::url).collect()
    }
}

#[tokio::test]
async fn replicas_share_sessions_through_a_redis_cluster_too() {
    let cluster = RedisCluster::start();
    let clerk = clerk().await;
    clerk.set_latency(Duration::from_millis(100));
    let shared = || {
        config(&clerk)
            .with_session_store_secret(SECRET)
            .unwrap()
            .with_session_store(SessionStore::redis_cluster(cluster.urls()))
            .unwrap()
    };
    let replicas = [serve(shared()).await, serve(shared()).await];
    let requests: Vec<_> = (0..20)
        .map(|n| {
            let addr = replicas[n % 2];
            tokio::spawn(async move { token_request(addr, USER, PASSWORD).send().await.unwrap().status() })
        })
        .collect();
    for request in requests {
        assert_eq!(request.await.unwrap(), 200);
    }
    let restarted = serve(shared()).await;
    assert_eq!(token_request(restarted, USER, PASSWORD).send().await.unwrap().status(), 200);
    assert_eq!(clerk.stats().sign_ins, 1, "one sign-in across replicas and a restart, through the cluster");
    let keys: usize = cluster
        .nodes
        .iter()
        .map(|node| {
            String::from_utf8_lossy(&node.command(&["KEYS", "clerk-basic-auth:*"]).unwrap())
                .matches("clerk-basic-auth:")
                .count()
        })
        .sum();
    assert!(keys >= 2, "entries are spread over the cluster's nodes ({keys} found)");
}
