//! The catalog component alone under wasmtime: its exported WIT functions
//! called directly, against real Postgres and Redis.

use std::collections::HashMap;
use std::sync::Arc;

use integration::{RedisServer, TestDatabase};
use platform_host::outbound::AllowedHosts;
use platform_host::runtime::{engine, linker_for, new_store};
use platform_host::{ComponentConfig, Services};
use wasmtime::component::Component;

wasmtime::component::bindgen!({
    world: "catalog-service",
    path: "../../wit",
    exports: { default: async },
});

use exports::shop::platform::catalog::ProductInput;
use shop::platform::types::{Error, PageRequest, TokenBucket};

struct Catalog {
    engine: wasmtime::Engine,
    component: Component,
    config: Arc<ComponentConfig>,
    services: Arc<Services>,
}

impl Catalog {
    fn new(db: &TestDatabase, redis: &RedisServer) -> Catalog {
        let engine = engine().unwrap();
        let path = integration::workspace_root().join("target/wasm32-wasip2/release/catalog.wasm");
        let component =
            Component::from_file(&engine, path).expect("catalog.wasm (run `cargo xtask build`)");
        let config = Arc::new(ComponentConfig {
            id: "catalog".into(),
            variables: HashMap::from([
                ("database_url".to_string(), db.url.clone()),
                ("redis_url".to_string(), redis.url()),
                ("list_rate_limit".to_string(), "2/1".to_string()),
            ]),
            templated: Default::default(),
            environment: Vec::new(),
            allowed: AllowedHosts::parse(&[
                format!("postgres://{}:{}", db.host, db.port),
                format!("redis://127.0.0.1:{}", redis.port),
            ])
            .unwrap(),
            key_value_stores: ["cache".to_string()].into(),
        });
        Catalog {
            engine,
            component,
            config,
            services: Arc::new(Services {
                kv: platform_host::key_value_host::KvStores::from_config(
                    &platform_host::RuntimeConfig::parse(&integration::runtime_config_toml(
                        &redis.url(),
                    ))
                    .unwrap(),
                ),
                ..Services::default()
            }),
        }
    }

    /// A fresh instance, as Spin gives every request.
    async fn instance(&self) -> (wasmtime::Store<platform_host::HostState>, CatalogService) {
        let mut store = new_store(&self.engine, self.config.clone(), self.services.clone());
        let linker = linker_for(&self.engine, &self.component).unwrap();
        let svc = CatalogService::instantiate_async(&mut store, &self.component, &linker)
            .await
            .unwrap();
        (store, svc)
    }
}

fn input(name: &str, price: i64, stock: i32) -> ProductInput {
    ProductInput {
        name: name.into(),
        description: String::new(),
        price,
        stock,
    }
}

#[tokio::test]
async fn exported_functions_work_against_real_backends() {
    let db = TestDatabase::create().await;
    let redis = RedisServer::start().unwrap();
    let catalog = Catalog::new(&db, &redis);

    let (mut store, svc) = catalog.instance().await;
    let api = svc.shop_platform_catalog();
    let created = api
        .call_create_product(&mut store, &input("  Teh  ", 5000, 9), None)
        .await
        .unwrap()
        .unwrap();
    assert!(created.standing.is_none(), "no bucket, no standing");
    let created = created.product;
    assert_eq!(created.name, "Teh", "the service trims names itself");
    assert!(created.created_at.ends_with('Z'));

    let (mut store, svc) = catalog.instance().await;
    let api = svc.shop_platform_catalog();
    let got = api
        .call_get_product(&mut store, created.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.price, 5000);
    let page = api
        .call_list_products(
            &mut store,
            PageRequest {
                page: 1,
                page_size: 10,
            },
            None,
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(page.info.total, 1);
    assert_eq!(page.products[0].id, created.id);

    let updated = api
        .call_update_product(&mut store, created.id, &input("Teh Tarik", 7000, 2))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((updated.price, updated.stock), (7000, 2));
    api.call_delete_product(&mut store, created.id)
        .await
        .unwrap()
        .unwrap();
    drop(store);

    // The row is soft-deleted: gone from the catalog, kept for order history.
    let client = db.client().await;
    let row = client
        .query_one(
            "SELECT deleted_at IS NOT NULL FROM products WHERE id = $1",
            &[&created.id],
        )
        .await
        .unwrap();
    assert!(row.get::<_, bool>(0));
    assert_eq!(catalog.services.stats.snapshot().leaked_transactions, 0);
}

#[tokio::test]
async fn exported_functions_validate_their_input() {
    let db = TestDatabase::create().await;
    let redis = RedisServer::start().unwrap();
    let catalog = Catalog::new(&db, &redis);
    let (mut store, svc) = catalog.instance().await;
    let api = svc.shop_platform_catalog();
    let err = api
        .call_create_product(&mut store, &input("x", -1, 1), None)
        .await
        .unwrap()
        .unwrap_err();
    assert!(
        matches!(err, Error::InvalidInput(ref m) if m.contains("price")),
        "{err:?}"
    );
    let err = api
        .call_create_product(&mut store, &input("x", 1, -1), None)
        .await
        .unwrap()
        .unwrap_err();
    assert!(matches!(err, Error::InvalidInput(_)), "{err:?}");
    let err = api
        .call_get_product(&mut store, 987654)
        .await
        .unwrap()
        .unwrap_err();
    assert!(matches!(err, Error::NotFound(_)), "{err:?}");
    let err = api
        .call_list_products(
            &mut store,
            PageRequest {
                page: 1,
                page_size: 0,
            },
            None,
        )
        .await
        .unwrap()
        .unwrap_err();
    assert!(matches!(err, Error::InvalidInput(_)), "{err:?}");
    let err = api
        .call_update_product(&mut store, 987654, &input("x", 1, 1))
        .await
        .unwrap()
        .unwrap_err();
    assert!(matches!(err, Error::NotFound(_)), "{err:?}");
}

#[tokio::test]
async fn database_outage_is_unavailable_not_a_trap() {
    let db = TestDatabase::create().await;
    let redis = RedisServer::start().unwrap();
    let mut catalog = Catalog::new(&db, &redis);
    let mut config = (*catalog.config).clone();
    // Allowed, but nothing listens there.
    config.variables.insert(
        "database_url".into(),
        "postgres://postgres@127.0.0.1:1/nope?sslmode=disable".into(),
    );
    config.allowed = AllowedHosts::parse(&[
        "postgres://127.0.0.1:1".to_string(),
        format!("redis://127.0.0.1:{}", redis.port),
    ])
    .unwrap();
    catalog.config = Arc::new(config);
    let (mut store, svc) = catalog.instance().await;
    let err = svc
        .shop_platform_catalog()
        .call_get_product(&mut store, 1)
        .await
        .unwrap()
        .unwrap_err();
    assert!(matches!(err, Error::Unavailable(_)), "{err:?}");
}

/// Review item: anonymous list reads are limited per client address, in the
/// same Redis round trip as the list's cache read.
#[tokio::test]
async fn list_reads_are_limited_per_client_address() {
    use shop::platform::types::Client;
    let db = TestDatabase::create().await;
    let redis = RedisServer::start().unwrap();
    let catalog = Catalog::new(&db, &redis);
    let page = PageRequest {
        page: 1,
        page_size: 10,
    };
    let client = |a: &str| {
        Some(Client {
            address: a.to_string(),
        })
    };
    let list = |address: Option<Client>| {
        let catalog = &catalog;
        async move {
            let (mut store, svc) = catalog.instance().await;
            svc.shop_platform_catalog()
                .call_list_products(&mut store, page, address.as_ref())
                .await
                .unwrap()
        }
    };
    // A bucket of 2 per address.
    assert!(list(client("10.0.0.1")).await.is_ok());
    assert!(list(client("10.0.0.1")).await.is_ok());
    match list(client("10.0.0.1")).await {
        Err(Error::RateLimited(r)) => {
            assert_eq!(
                (r.policy.as_str(), r.capacity, r.window_secs),
                ("product-list", 2, 2)
            );
            assert!(r.retry_after_secs >= 1);
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert!(list(client("10.0.0.2")).await.is_ok(), "another address");
    assert!(list(None).await.is_ok(), "no client: no limit");
}

/// A caller's bucket passed in (`types.token-bucket`): the service takes the
/// token first, on the connection its write-through uses; an empty bucket is
/// `rate-limited` with the policy's numbers, and nothing is written.
#[tokio::test]
async fn a_passed_bucket_is_taken_before_the_write() {
    let db = TestDatabase::create().await;
    let redis = RedisServer::start().unwrap();
    let catalog = Catalog::new(&db, &redis);
    let bucket = TokenBucket {
        policy: "product-write".into(),
        key: "ratelimit:product-write:user:7".into(),
        capacity: 1,
        refill_per_sec: 0.001,
    };
    let (mut store, svc) = catalog.instance().await;
    let api = svc.shop_platform_catalog();
    let created = api
        .call_create_product(&mut store, &input("Kopi", 1000, 1), Some(&bucket))
        .await
        .unwrap()
        .unwrap();
    let standing = created.standing.expect("Redis answered");
    assert_eq!(standing.remaining, 0);
    let (mut store, svc) = catalog.instance().await;
    let api = svc.shop_platform_catalog();
    let err = api
        .call_create_product(&mut store, &input("Teh", 1000, 1), Some(&bucket))
        .await
        .unwrap()
        .unwrap_err();
    match err {
        Error::RateLimited(r) => {
            assert_eq!(
                (r.policy.as_str(), r.capacity, r.window_secs),
                ("product-write", 1, 1000)
            );
            assert!(r.retry_after_secs >= 999, "{r:?}");
        }
        other => panic!("expected rate-limited, got {other:?}"),
    }
    let rows: i64 = db
        .client()
        .await
        .query_one("SELECT count(*) FROM products", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(rows, 1, "the refused create wrote nothing");
    // Redis down: the service fails open (the write goes on, no standing).
    drop(redis);
    let (mut store, svc) = catalog.instance().await;
    let api = svc.shop_platform_catalog();
    let created = api
        .call_create_product(&mut store, &input("Susu", 1000, 1), Some(&bucket))
        .await
        .unwrap()
        .unwrap();
    assert!(created.standing.is_none(), "Redis down: no standing");
}
