//! Builds the application: migrations, pool, background work and the HTTP server.

use std::net::TcpListener;
use std::time::Duration;

use actix_session::SessionMiddleware;
use actix_session::config::{PersistentSession, TtlExtensionPolicy};
use actix_web::cookie::SameSite;
use actix_web::dev::Server;
use actix_web::middleware::{DefaultHeaders, from_fn};
use actix_web::{App, HttpServer};
use anyhow::Context;
use tracing_actix_web::TracingLogger;

use crate::config::Settings;
use crate::db::{self, DbPool};
use crate::models::{login_failures, sessions};
use crate::web::{self, AppState, csrf, errors, session};
use actix_web::web::{Data, FormConfig, PayloadConfig};

pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
     connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'";

/// Sent with every response.
pub const SECURITY_HEADERS: [(&str, &str); 6] = [
    ("content-security-policy", CONTENT_SECURITY_POLICY),
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
    ("referrer-policy", "same-origin"),
    // Pages show personal data: never keep them in a shared or back-button cache.
    ("cache-control", "no-store"),
    ("vary", "HX-Request"),
];

pub struct Application {
    port: u16,
    server: Server,
    pub pool: DbPool,
}

impl Application {
    pub async fn build(settings: Settings) -> anyhow::Result<Application> {
        db::run_migrations(&settings.database_url).await?;
        let pool = db::build_pool(&settings.database_url, settings.database_pool_size)?;
        let listener = TcpListener::bind(&settings.bind)
            .with_context(|| format!("binding {}", settings.bind))?;
        let port = listener.local_addr()?.port();
        spawn_housekeeping(pool.clone());
        let server = run(listener, pool.clone(), settings)?;
        Ok(Application { port, server, pool })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Serves until SIGINT/SIGTERM, then finishes the requests in flight.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}

fn run(listener: TcpListener, pool: DbPool, settings: Settings) -> anyhow::Result<Server> {
    let cookie_key = settings.cookie_key();
    let secure = settings.secure_cookies();
    let state = Data::new(AppState {
        pool: pool.clone(),
        settings,
    });
    let server = HttpServer::new(move || {
        let sessions = SessionMiddleware::builder(
            session::PgSessionStore::new(pool.clone()),
            cookie_key.clone(),
        )
        .cookie_name("guildhall_session".to_owned())
        .cookie_secure(secure)
        .cookie_http_only(true)
        .cookie_same_site(SameSite::Lax)
        .session_lifecycle(
            PersistentSession::default()
                .session_ttl(actix_web::cookie::time::Duration::seconds(
                    session::ABSOLUTE_TIMEOUT_SECS,
                ))
                .session_ttl_extension_policy(TtlExtensionPolicy::OnStateChanges),
        )
        .build();
        App::new()
            .app_data(state.clone())
            .app_data(FormConfig::default().limit(csrf::MAX_BODY))
            .app_data(PayloadConfig::new(csrf::MAX_BODY))
            .configure(web::configure)
            // Innermost first: CSRF needs the session; errors are rendered after both.
            .wrap(from_fn(csrf::verify_csrf))
            .wrap(sessions)
            .wrap(from_fn(errors::render_error_pages))
            .wrap(
                SECURITY_HEADERS
                    .iter()
                    .fold(DefaultHeaders::new(), |headers, header| {
                        headers.add(*header)
                    }),
            )
            .wrap(TracingLogger::default())
    })
    .shutdown_timeout(30)
    .listen(listener)?
    .run();
    Ok(server)
}

/// Deletes expired sessions and old sign-in failures every ten minutes.
fn spawn_housekeeping(pool: DbPool) {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(600));
        loop {
            every.tick().await;
            let Ok(mut conn) = pool.get().await else {
                continue;
            };
            if let Err(e) = sessions::delete_expired(&mut conn).await {
                tracing::warn!(error = %e, "deleting expired sessions");
            }
            if let Err(e) = login_failures::delete_older_than(&mut conn, 24 * 60).await {
                tracing::warn!(error = %e, "deleting old sign-in failures");
            }
        }
    });
}
