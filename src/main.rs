use std::io::{IsTerminal, Read};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use secrecy::SecretString;

use guildhall::config::{self, CommandSettings, Settings};
use guildhall::startup::Application;
use guildhall::{db, domain, seed, services, telemetry};

#[derive(Parser)]
#[command(
    name = "guildhall",
    about = "The organization and user management console"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Apply migrations and serve the console.
    Serve,
    /// Apply pending migrations and exit.
    Migrate,
    /// Create a super administrator (or promote an existing user); the password is read from
    /// standard input, or prompted for on a terminal.
    CreateSuperadmin {
        #[arg(long)]
        email: String,
    },
    /// Create a small demo data set once, and print how to sign in.
    SeedDemo,
    /// Re-encrypt every stored secret (provider keys, OAuth client secrets, queued emails) under
    /// a new master key, in one transaction. Stop the console first. The new key (base64 of 32
    /// bytes, e.g. `openssl rand -base64 32`) is read from standard input; the current one is
    /// the configured `GUILDHALL_MASTER_KEY`. Afterwards, start the console with the new key.
    RotateMasterKey,
    /// Walk the audit log's hash chains and name the first entry altered, removed or inserted
    /// out of order; exits non-zero when one is found.
    AuditVerify {
        /// Only this organization's chain (its id); every chain when left out.
        #[arg(long)]
        org: Option<i64>,
    },
    /// Fill an empty database with a large deterministic data set for benchmarks.
    SeedBench {
        #[arg(long, default_value_t = 10_000)]
        orgs: i64,
        #[arg(long, default_value_t = 200_000)]
        users: i64,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    telemetry::init();
    let cli = Cli::parse();
    match run(cli.command).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {}", one_line(&error));
            ExitCode::FAILURE
        }
    }
}

/// An error and its causes on one line (`reading X: permission denied`), for a person to read;
/// no debug dump, no backtrace.
fn one_line(error: &anyhow::Error) -> String {
    let chain = error
        .chain()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(": ");
    chain.split_whitespace().collect::<Vec<_>>().join(" ")
}

async fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Serve => {
            let settings = Settings::from_env()?;
            db::create_database_if_missing(&settings.database_url).await?;
            let app = Application::build(settings).await?;
            tracing::info!(port = app.port(), "serving");
            app.run_until_stopped().await?;
        }
        Command::Migrate => {
            let settings = database().await?;
            db::run_migrations(&settings.database_url).await?;
        }
        Command::CreateSuperadmin { email } => {
            let settings = database().await?;
            db::run_migrations(&settings.database_url).await?;
            let pool = db::build_pool(&settings.database_url, 1)?;
            let password = read_password()?;
            let user = services::account::create_super_admin(&pool, &email, password).await?;
            println!("{} is a super administrator.", user.email);
        }
        Command::SeedDemo => {
            let settings = CommandSettings::from_env();
            // Its super administrator's password is published in README.
            anyhow::ensure!(
                !settings.production,
                "seed-demo creates accounts whose password README publishes; it does not run with GUILDHALL_ENV=production"
            );
            let settings = database().await?;
            db::run_migrations(&settings.database_url).await?;
            let pool = db::build_pool(&settings.database_url, 1)?;
            let created = seed::seed_demo(&pool).await?;
            if created.is_empty() {
                println!("Demo data is already present; nothing was added.");
            } else {
                println!("Demo accounts (password for all: {}):", seed::DEMO_PASSWORD);
                for (email, what) in created {
                    println!("  {email:<40} {what}");
                }
            }
            println!("Sign in at {}/login", settings.base_url);
        }
        Command::RotateMasterKey => {
            let settings = Settings::from_env()?;
            db::run_migrations(&settings.database_url).await?;
            let pool = db::build_pool(&settings.database_url, 1)?;
            let mut input = String::new();
            std::io::stdin()
                .read_to_string(&mut input)
                .context("reading the new master key from standard input")?;
            let new_key = config::decode_master_key("the new master key", &input)?;
            let done =
                services::secrets::rotate_master_key(&pool, &settings.master_key_bytes(), &new_key)
                    .await?;
            println!(
                "Re-encrypted {} provider keys, {} OAuth client secrets and {} queued emails.",
                done.provider_keys, done.oauth_secrets, done.queued_emails
            );
            match settings.local_master_key_file() {
                Some(path) => {
                    config::replace_local_key(&path, input.trim()).context(
                        "the secrets are sealed under the new key now: write it to that file yourself",
                    )?;
                    println!(
                        "The new key replaced the development key in {}.",
                        path.display()
                    );
                }
                None => println!(
                    "Set GUILDHALL_MASTER_KEY to the new key before starting the console again."
                ),
            }
        }
        Command::AuditVerify { org } => {
            let settings = database().await?;
            let pool = db::build_pool(&settings.database_url, 1)?;
            let mut conn = pool.get().await?;
            let started = std::time::Instant::now();
            let verdict = services::audit::walk_chains(
                &mut conn,
                org.map(domain::OrgId),
                &services::audit::Noting::Nothing,
            )
            .await?;
            let took = started.elapsed().as_secs_f64();
            match verdict.problem {
                None => println!(
                    "The audit log is intact: {} entries checked in {took:.1} s.",
                    verdict.checked
                ),
                Some(problem) => anyhow::bail!(
                    "the audit log has been tampered with: {} ({} entries before it are intact)",
                    problem.describe(),
                    verdict.checked
                ),
            }
        }
        Command::SeedBench { orgs, users } => {
            let settings = database().await?;
            db::run_migrations(&settings.database_url).await?;
            let pool = db::build_pool(&settings.database_url, 1)?;
            let started = std::time::Instant::now();
            match seed::seed_bench(&pool, orgs, users).await? {
                None => println!("Benchmark data is already present; nothing was added."),
                Some(summary) => println!(
                    "Seeded {} organizations, {} users and {} memberships in {:.1} s. Organization {} is the largest. \
                     Sign in as {} with the password {}.",
                    summary.organizations,
                    summary.users,
                    summary.memberships,
                    started.elapsed().as_secs_f64(),
                    summary.largest_org_id,
                    seed::BENCH_SUPER_ADMIN,
                    seed::BENCH_PASSWORD
                ),
            }
        }
    }
    Ok(())
}

/// The settings of the subcommands other than `serve`: they neither need nor generate keys.
async fn database() -> anyhow::Result<CommandSettings> {
    let settings = CommandSettings::from_env();
    db::create_database_if_missing(&settings.database_url).await?;
    Ok(settings)
}

fn read_password() -> anyhow::Result<SecretString> {
    if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password("Password: ")?;
        let again = rpassword::prompt_password("Password again: ")?;
        anyhow::ensure!(first == again, "the passwords differ");
        return Ok(first.into());
    }
    let mut input = String::new();
    std::io::stdin()
        .read_to_string(&mut input)
        .context("reading the password from standard input")?;
    Ok(input.trim_end_matches(['\r', '\n']).to_owned().into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_is_reported_on_one_line_with_its_causes() {
        let cause = std::io::Error::new(std::io::ErrorKind::NotFound, "no such\nfile");
        let error = anyhow::Error::new(cause).context("reading /etc/guildhall/key");
        assert_eq!(one_line(&error), "reading /etc/guildhall/key: no such file");
    }
}
