#![deny(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use axum::serve::ListenerExt;
use clap::Parser;
use server::config::{KeysCommand, PlatformCommand, SecretKeyCommand};
use server::{app_state, build_backend, router, Command, Config, PasswordHashing};
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() {
    let config = Config::parse();
    // Logs go to stderr: the commands print JSON on stdout.
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            EnvFilter::try_new(&config.log_level).unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    if config.password_hashing == PasswordHashing::InsecureMinimal {
        tracing::warn!(
            "PASSWORD_HASHING=insecure-minimal: passwords are hashed with test parameters"
        );
    }

    let backend = match build_backend(&config, Arc::new(backend::SystemClock)).await {
        Ok(b) => b,
        Err(e) => {
            eprintln!("atrium: cannot start: {e}");
            std::process::exit(1);
        }
    };
    if let Some(command) = &config.command {
        std::process::exit(run_command(&backend, command).await);
    }
    let mail_target = backend.mail_target();
    let state = app_state(&config, backend.clone());
    let app = router(state);

    let listener = match tokio::net::TcpListener::bind(config.site_addr).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("atrium: cannot listen on {}: {e}", config.site_addr);
            std::process::exit(1);
        }
    };
    println!("Atrium is running at {}", config.public_url());
    println!("Database: {}", redact_url(&config.database_url));
    println!("Mail goes to {mail_target}");
    println!("Text messages go to {}", backend.sms_target());

    // Change events go out to the platforms' webhooks; several processes
    // on one PostgreSQL share the work.
    tokio::spawn(
        backend
            .clone()
            .run_webhook_worker(std::time::Duration::from_millis(500)),
    );

    // Open tabs hear of changes made by other processes (PostgreSQL).
    tokio::spawn(
        backend
            .clone()
            .listen_for_changes(config.database_url.clone()),
    );

    // Every ten minutes: expired sessions, long-unused device marks and
    // expired text confirmations are swept, and held support changes whose
    // time has come go ahead.
    let sweeper = backend.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(600));
        loop {
            tick.tick().await;
            sweeper.sweep().await;
        }
    });

    // Without TCP_NODELAY a response written in two parts (headers, then a
    // file body) waits for the client's delayed ACK: 40 ms per static file
    // on a kept-alive connection.
    let listener = listener.tap_io(|tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::warn!(error = %e, "could not set TCP_NODELAY");
        }
    });
    let served = axum::serve(
        listener,
        app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await;
    // Mail queued after an answer (reset links) goes out before we stop.
    backend.shut_down().await;
    if let Err(e) = served {
        eprintln!("atrium: server error: {e}");
        std::process::exit(1);
    }
}

/// Runs an administrative command; returns the process exit code.
async fn run_command(backend: &backend::Backend, command: &Command) -> i32 {
    match command {
        Command::GrantSupport { email } => match backend.grant_support(email).await {
            Ok(user) => {
                println!(
                    "{} ({}) now has the Support role.",
                    user.full_name(),
                    user.email
                );
                0
            }
            Err(backend::Error::NotFound) => {
                eprintln!("atrium: nobody signs in with {email:?}; they must sign up first.");
                2
            }
            Err(e) => {
                eprintln!("atrium: cannot grant the Support role: {e}");
                1
            }
        },
        Command::Platform { command } => run_platform_command(backend, command).await,
        Command::Keys {
            command: KeysCommand::Rotate { now },
        } => match backend.rotate_signing_key(*now).await {
            Ok((kid, active_from)) => {
                let wait = active_from - backend.now();
                if wait > 0 {
                    println!("New signing key {kid}, published now; it signs in {wait} seconds, once platforms have refetched the JWKS. The previous key stays published for 30 days.");
                } else {
                    println!("New signing key {kid}; it signs now. The previous key stays published for 30 days.");
                }
                0
            }
            Err(e) => {
                eprintln!("atrium: cannot rotate the signing key: {e}");
                1
            }
        },
        Command::SecretKey {
            command: SecretKeyCommand::Rotate,
        } => match backend.rotate_secret_key().await {
            Ok((id, retired)) => {
                println!("New secret key {id}; every stored secret is sealed under it.");
                if !retired.is_empty() {
                    println!("Dropped from the key file: {}.", retired.join(", "));
                }
                0
            }
            Err(e) => {
                eprintln!("atrium: cannot rotate the secret key: {e}");
                1
            }
        },
    }
}

async fn run_platform_command(backend: &backend::Backend, command: &PlatformCommand) -> i32 {
    let printed = match command {
        PlatformCommand::Add {
            name,
            redirect_uris,
            post_logout_redirect_uris,
            backchannel_logout_uri,
            webhook_url,
        } => backend
            .add_platform(backend::oidc::platform::NewPlatform {
                name: name.clone(),
                redirect_uris: redirect_uris.clone(),
                post_logout_redirect_uris: post_logout_redirect_uris.clone(),
                backchannel_logout_uri: backchannel_logout_uri.clone(),
                webhook_url: webhook_url.clone(),
            })
            .await
            .map(|registered| serde_json::to_string_pretty(&registered)),
        PlatformCommand::List => backend
            .platforms()
            .await
            .map(|list| serde_json::to_string_pretty(&list)),
        PlatformCommand::Remove { client_id } => backend
            .remove_platform(client_id)
            .await
            .map(|p| Ok(format!("Removed {} ({}).", p.name, p.client_id))),
        PlatformCommand::Deliveries { client_id } => backend
            .deliveries(client_id)
            .await
            .map(|list| serde_json::to_string_pretty(&list)),
        PlatformCommand::Redeliver { event_id } => match backend.redeliver(event_id).await {
            Ok(0) => {
                eprintln!("atrium: no undelivered webhook has that event id.");
                return 2;
            }
            Ok(n) => Ok(Ok(format!("Queued {event_id} again for {n} platform(s)."))),
            Err(e) => Err(e),
        },
    };
    match printed {
        Ok(Ok(text)) => {
            println!("{text}");
            0
        }
        Ok(Err(e)) => {
            eprintln!("atrium: {e}");
            1
        }
        Err(backend::Error::NotFound) => {
            eprintln!("atrium: no platform has that client_id.");
            2
        }
        Err(backend::Error::Validation(errors)) => {
            for e in errors {
                eprintln!("atrium: {}", e.message);
            }
            2
        }
        Err(e) => {
            eprintln!("atrium: {e}");
            1
        }
    }
}

/// Resolves on SIGTERM or Ctrl-C; in-flight requests are allowed to finish.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutting down");
}

/// The database URL without its password, for the start-up banner.
fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => url.to_string(),
    }
}
