//! A throw-away database per test on the local Postgres, migrated.

use std::sync::atomic::{AtomicU32, Ordering};

use tokio_postgres::NoTls;

static COUNTER: AtomicU32 = AtomicU32::new(0);

pub struct TestDatabase {
    pub name: String,
    pub url: String,
    pub host: String,
    pub port: u16,
    admin_url: String,
}

/// The server to create databases on: `DATABASE_URL` (any database on it).
fn admin_url() -> String {
    std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable".into())
}

impl TestDatabase {
    pub async fn create() -> TestDatabase {
        Self::create_on(&admin_url()).await
    }

    /// A migrated database on the server of `admin_url` (e.g. a private
    /// [`test_support::PostgresServer`]).
    pub async fn create_on(admin_url: &str) -> TestDatabase {
        let admin_url = admin_url.to_string();
        let config: tokio_postgres::Config = admin_url.parse().expect("DATABASE_URL");
        let host = match config.get_hosts().first() {
            Some(tokio_postgres::config::Host::Tcp(h)) => h.clone(),
            _ => "127.0.0.1".into(),
        };
        let port = config.get_ports().first().copied().unwrap_or(5432);
        let user = config.get_user().unwrap_or("postgres").to_string();
        let name = format!(
            "it_{}_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .subsec_nanos()
        );
        let (client, conn) = tokio_postgres::connect(&admin_url, NoTls)
            .await
            .expect("connect to Postgres");
        tokio::spawn(conn);
        client
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .unwrap();
        let password = config
            .get_password()
            .map(|p| format!(":{}", String::from_utf8_lossy(p)))
            .unwrap_or_default();
        let url = format!("postgres://{user}{password}@{host}:{port}/{name}?sslmode=disable");
        migrate::migrate(&url).await.expect("migrations apply");
        TestDatabase {
            name,
            url,
            host,
            port,
            admin_url,
        }
    }

    pub async fn client(&self) -> tokio_postgres::Client {
        let (client, conn) = tokio_postgres::connect(&self.url, NoTls).await.unwrap();
        tokio::spawn(conn);
        client
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let admin_url = self.admin_url.clone();
        let name = self.name.clone();
        // Drop runs outside any async context we may block: use a thread.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                if let Ok((client, conn)) = tokio_postgres::connect(&admin_url, NoTls).await {
                    tokio::spawn(conn);
                    let _ = client
                        .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .await;
                }
            });
        })
        .join();
    }
}
