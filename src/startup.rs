//! Builds the application: migrations, pool, background work and the HTTP server.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_session::SessionMiddleware;
use actix_session::config::{PersistentSession, TtlExtensionPolicy};
use actix_web::cookie::SameSite;
use actix_web::dev::Server;
use actix_web::middleware::DefaultHeaders;
use actix_web::{App, HttpServer};
use anyhow::Context;
use tracing_actix_web::TracingLogger;

use crate::clock::Clock;
use crate::config::Settings;
use crate::db::{self, DbPool};
use crate::email::MailSender;
use crate::services;
use crate::services::outbox::{self, Postbox};
use crate::services::password_work::PasswordWork;
use crate::services::policy_cache::PolicyCache;
use crate::web::kit::spans::RedactedSpans;
use crate::web::kit::{SECURITY_HEADERS, STRICT_TRANSPORT_SECURITY, session};
use crate::web::{self, AppState};
use actix_web::web::{Data, PayloadConfig};

pub struct Application {
    port: u16,
    server: Server,
    pub pool: DbPool,
    /// The facts of recent `authorize` calls; tests wait on its sync markers.
    pub policy_cache: Arc<PolicyCache>,
    /// Held while serving, so a master-key rotation cannot run meanwhile.
    _serving_lock: diesel_async::AsyncPgConnection,
}

impl Application {
    pub async fn build(settings: Settings) -> anyhow::Result<Application> {
        Application::build_with_clock(settings, Clock::System).await
    }

    /// With another clock: tests fix it and move it forward.
    pub async fn build_with_clock(settings: Settings, clock: Clock) -> anyhow::Result<Application> {
        db::run_migrations(&settings.database_url).await?;
        let pool = db::build_server_pool(
            &settings.database_url,
            settings.database_pool_size,
            settings.statement_limits,
        )?;
        // The serving lock first: a master-key rotation in progress finishes before the check.
        let serving_lock = services::secrets::hold_serving_lock(&settings.database_url)
            .await
            .context("connecting to the database")?;
        let mut conn = pool.get().await.context("connecting to the database")?;
        services::secrets::check_master_key(&mut conn, &settings.master_key_bytes()).await?;
        drop(conn);
        let listener = TcpListener::bind(&settings.bind)
            .with_context(|| format!("binding {}", settings.bind))?;
        let port = listener.local_addr()?.port();
        spawn_housekeeping(pool.clone(), clock.clone());
        let postbox = Postbox::new(settings.master_key_bytes(), &settings.base_url);
        let sender = MailSender::from_settings(&settings)?;
        outbox::spawn_worker(
            pool.clone(),
            postbox.clone(),
            sender,
            settings.outbox,
            clock.clone(),
        );
        let policy_cache = Arc::new(PolicyCache::new());
        policy_cache.spawn_listener(settings.database_url.clone());
        let server = run(
            listener,
            pool.clone(),
            settings,
            clock,
            postbox,
            Arc::clone(&policy_cache),
        )?;
        Ok(Application {
            port,
            server,
            pool,
            policy_cache,
            _serving_lock: serving_lock,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Serves until SIGINT/SIGTERM, then finishes the requests in flight.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}

fn run(
    listener: TcpListener,
    pool: DbPool,
    settings: Settings,
    clock: Clock,
    postbox: Postbox,
    policy_cache: Arc<PolicyCache>,
) -> anyhow::Result<Server> {
    let cookie_key = settings.cookie_key();
    let limits = settings.body_limits;
    let session_limits = settings.session_limits;
    let secure = settings.secure_cookies();
    let hashing = PasswordWork::new(
        settings.password_hashes_at_once,
        Duration::from_millis(settings.password_wait_ms),
    );
    let state = Data::new(AppState {
        api_rate: crate::web::api::KeyRate::new(settings.api_calls_per_key_per_second),
        pool: pool.clone(),
        settings,
        clock: clock.clone(),
        hashing,
        postbox,
        policy_cache,
    });
    let server = HttpServer::new(move || {
        let sessions = SessionMiddleware::builder(
            session::PgSessionStore::new(pool.clone(), clock.clone(), session_limits),
            cookie_key.clone(),
        )
        .cookie_name("guildhall_session".to_owned())
        .cookie_secure(secure)
        .cookie_http_only(true)
        .cookie_same_site(SameSite::Lax)
        .session_lifecycle(
            PersistentSession::default()
                .session_ttl(actix_web::cookie::time::Duration::seconds(
                    crate::config::LONGEST_SESSION_SECS,
                ))
                .session_ttl_extension_policy(TtlExtensionPolicy::OnStateChanges),
        )
        .build();
        App::new()
            .app_data(state.clone())
            .app_data(web::kit::form_config(limits.form_bytes))
            .app_data(PayloadConfig::new(limits.upload_bytes))
            .configure(|cfg| web::configure(cfg, sessions, limits))
            .wrap(
                SECURITY_HEADERS
                    .iter()
                    .chain(secure.then_some(&STRICT_TRANSPORT_SECURITY))
                    .fold(DefaultHeaders::new(), |headers, header| {
                        headers.add(*header)
                    }),
            )
            .wrap(TracingLogger::<RedactedSpans>::new())
    })
    .shutdown_timeout(30)
    .listen(listener)?
    .run();
    Ok(server)
}

/// Deletes expired sessions and old sign-in failures every ten minutes.
fn spawn_housekeeping(pool: DbPool, clock: Clock) {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(600));
        loop {
            every.tick().await;
            if let Err(e) = services::auth::housekeeping(&pool, &clock).await {
                tracing::warn!(error = %e, "housekeeping");
            }
        }
    });
}
