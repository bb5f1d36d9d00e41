//! `altdist webhooks listen`: receive an app's webhook events on this machine, as `stripe listen`
//! does: a receiver on 127.0.0.1, a webhook registered for it with a fresh secret, each event
//! checked against its `x-apple-signature` and printed (and forwarded), the webhook deleted on
//! Ctrl-C.

use std::io::Write as _;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use altdist::client::{AppListQuery, Client};
use altdist::resource::{AppId, WebhookCreateRequest, WebhookEventType};
use altdist::webhook::{Payload, SIGNATURE_HEADER};
use anyhow::Context as _;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};

use super::connection::{Connection, OutputFormat};
use crate::credentials::CredentialArgs;
use crate::output::hinted;

/// Options of `altdist webhooks`.
#[derive(Debug, clap::Args)]
pub struct Opts {
    #[command(flatten)]
    connection: Connection,
    #[command(flatten)]
    credentials: CredentialArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Register a temporary webhook that points at a local receiver, print each verified event
    /// as it arrives (one JSON body per line with --json), and delete the webhook on Ctrl-C.
    Listen(ListenOpts),
}

#[derive(Debug, clap::Args)]
struct ListenOpts {
    /// The app whose events to receive (its Apple id); default: the account's only app.
    #[arg(long, value_name = "APP_ID")]
    app: Option<String>,
    /// Also post each verified event, same body and signature, to this URL (your app's
    /// endpoint); its status is what the sender is answered.
    #[arg(long, value_name = "URL")]
    forward_to: Option<String>,
    /// The event types to subscribe to, comma-separated [default: all].
    #[arg(long, value_name = "TYPES", value_delimiter = ',')]
    events: Vec<String>,
    /// Where the receiver listens.
    #[arg(long, value_name = "ADDRESS", default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// The URL to register, when the receiver is reached another way (a tunnel, for App Store
    /// Connect itself) [default: http://<listen address>/].
    #[arg(long, value_name = "URL")]
    url: Option<String>,
    /// Send the webhook a ping once it is registered, to see the whole path work.
    #[arg(long)]
    ping: bool,
}

/// Why registering the receiver's URL failed; when the server refused the URL itself, what to do
/// about it: an altdist server posts to a local receiver only when started with
/// `--allow-private-targets`, and App Store Connect never reaches one without a tunnel.
fn refused_url(client: &Client, app: &AppId, url: &str, err: altdist::Error) -> anyhow::Error {
    let message = format!("cannot register a webhook for the app {app} at {url}");
    let url_refused = match err.kind() {
        altdist::ErrorKind::Api {
            status: 409,
            errors,
            ..
        } => errors
            .iter()
            .find(|error| error.pointer() == Some("/data/attributes/url")),
        _ => None,
    };
    let Some(refusal) = url_refused else {
        return anyhow::Error::new(err).context(message);
    };
    let why = refusal.detail.as_deref().unwrap_or(&refusal.title);
    let hint = if client.base_url().trim_end_matches('/') == altdist::client::APPLE_BASE_URL {
        "App Store Connect cannot reach a receiver on this machine: give --url with a public \
         https:// URL that reaches it (a tunnel to the --listen address)"
            .to_owned()
    } else {
        format!(
            "the server at {} posts webhooks to public https:// addresses only: start it with \
             `altdist serve --allow-private-targets` (or ALTDIST_ALLOW_PRIVATE_TARGETS=1) to let \
             it reach this receiver, or give --url with a public https:// URL that reaches it",
            client.base_url()
        )
    };
    hinted(
        format!("{message}: the server refused the URL: {why}"),
        hint,
    )
}

/// Runs one `altdist webhooks` subcommand.
pub async fn run(opts: Opts) -> anyhow::Result<ExitCode> {
    let client = opts.connection.client(&opts.credentials)?;
    let format = opts.connection.format();
    match opts.command {
        Command::Listen(listen) => self::listen(client, format, listen).await,
    }
}

struct Receiver {
    secret: String,
    format: OutputFormat,
    forward_to: Option<String>,
    http: reqwest::Client,
}

async fn listen(
    client: Client,
    format: OutputFormat,
    opts: ListenOpts,
) -> anyhow::Result<ExitCode> {
    let event_types = event_types(&opts.events)?;
    let app = match opts.app {
        Some(app) => AppId(app),
        None => only_app(&client).await?,
    };
    let listener = tokio::net::TcpListener::bind(opts.listen)
        .await
        .with_context(|| format!("cannot listen on {}", opts.listen))?;
    let address = listener.local_addr()?;
    let url = opts.url.unwrap_or_else(|| format!("http://{address}/"));
    // 256 random bits (two v4 UUIDs' worth of the OS generator), new for every run.
    let secret = format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    let name = format!("altdist webhooks listen ({address})");
    let request = WebhookCreateRequest::new(app.clone(), name, &url, &secret, event_types);
    let created = client
        .create_webhook(&request)
        .await
        .map_err(|err| refused_url(&client, &app, &url, err))?;
    let webhook = created.value.data.id;
    eprintln!(
        "listening on http://{address}/ for events of app {app} (webhook {webhook}); Ctrl-C to stop and delete the webhook"
    );
    let receiver = Arc::new(Receiver {
        secret,
        format,
        forward_to: opts.forward_to,
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()?,
    });
    let router = axum::Router::new()
        .fallback(axum::routing::post(receive))
        .with_state(receiver);
    let server = tokio::spawn(async move {
        axum::serve(listener, router)
            .with_graceful_shutdown(altdist_server::server::shutdown_signal())
            .await
    });
    if opts.ping
        && let Err(err) = client.ping_webhook(&webhook).await
    {
        eprintln!("warning: cannot ping the webhook: {err:#}");
    }
    let served = server.await;
    let deleted = client.delete_webhook(&webhook).await;
    match &deleted {
        Ok(()) => eprintln!("deleted webhook {webhook}"),
        Err(err) => eprintln!(
            "warning: cannot delete webhook {webhook}: {err:#}; delete it with DELETE /v1/webhooks/{webhook}"
        ),
    }
    served?.context("the receiver failed")?;
    Ok(if deleted.is_ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn event_types(names: &[String]) -> anyhow::Result<Vec<WebhookEventType>> {
    if names.is_empty() {
        return Ok(WebhookEventType::ALL.to_vec());
    }
    names
        .iter()
        .map(|name| {
            WebhookEventType::parse(name.trim()).ok_or_else(|| {
                hinted(
                    format!("'{name}' is not a webhook event type"),
                    format!(
                        "the types are {}",
                        WebhookEventType::ALL
                            .map(WebhookEventType::as_str)
                            .join(", ")
                    ),
                )
            })
        })
        .collect()
}

async fn only_app(client: &Client) -> anyhow::Result<AppId> {
    let apps = client.list_apps(&AppListQuery::default()).await?;
    match apps.value.data.as_slice() {
        [app] => Ok(app.id.clone()),
        [] => Err(hinted("the account has no app", "create one first")),
        many => Err(hinted(
            format!("the account has {} apps; say which", many.len()),
            "give --app APP_ID (altdist apps list shows them)",
        )),
    }
}

/// One delivery: verified, printed, forwarded.
async fn receive(
    State(receiver): State<Arc<Receiver>>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, String) {
    let signature = headers
        .get(SIGNATURE_HEADER)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("");
    if !altdist::webhook::verify(receiver.secret.as_bytes(), &body, signature) {
        eprintln!("refused a request whose {SIGNATURE_HEADER} does not match its body");
        return (
            StatusCode::UNAUTHORIZED,
            format!("the {SIGNATURE_HEADER} header does not sign this body\n"),
        );
    }
    print_event(receiver.format, &body);
    let Some(target) = &receiver.forward_to else {
        return (StatusCode::OK, "received\n".to_owned());
    };
    let forwarded = receiver
        .http
        .post(target)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(SIGNATURE_HEADER, signature)
        .body(body)
        .send()
        .await;
    match forwarded {
        Ok(response) => {
            let status = response.status();
            eprintln!("  forwarded to {target}: {status}");
            (
                StatusCode::from_u16(status.as_u16()).unwrap_or(StatusCode::BAD_GATEWAY),
                format!("forwarded: {status}\n"),
            )
        }
        Err(err) => {
            eprintln!("  cannot forward to {target}: {err}");
            (StatusCode::BAD_GATEWAY, format!("cannot forward: {err}\n"))
        }
    }
}

fn print_event(format: OutputFormat, body: &[u8]) {
    let mut stdout = std::io::stdout().lock();
    let written = match format {
        OutputFormat::Json => stdout
            .write_all(body)
            .and_then(|()| stdout.write_all(b"\n")),
        OutputFormat::Table => {
            let line = match serde_json::from_slice::<Payload>(body) {
                Ok(payload) => {
                    let data = payload.data;
                    let timestamp = data
                        .attributes
                        .get("timestamp")
                        .and_then(|value| value.as_str())
                        .unwrap_or("-")
                        .to_owned();
                    let instance = data
                        .relationships
                        .as_ref()
                        .and_then(|relationships| relationships.get("instance"))
                        .and_then(|instance| instance.get("data"))
                        .map(|data| {
                            format!(
                                " {}/{}",
                                data["type"].as_str().unwrap_or("?"),
                                data["id"].as_str().unwrap_or("?")
                            )
                        })
                        .unwrap_or_default();
                    format!(
                        "{timestamp} {} {}{instance} (signature verified)",
                        data.kind, data.id
                    )
                }
                Err(_) => format!("(signature verified) {}", String::from_utf8_lossy(body)),
            };
            writeln!(stdout, "{line}")
        }
    };
    let _ = written.and_then(|()| stdout.flush());
}
