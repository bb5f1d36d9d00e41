//! What every command that talks to App Store Connect (or `altdist serve`) shares: the base URL,
//! the credentials, the output format and `-v`.

use std::io::IsTerminal as _;

use altdist::client::{APPLE_BASE_URL, Client, Fetched};
use altdist::resource::CollectionDocument;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::credentials::CredentialArgs;
use crate::output::hinted;

/// `--output`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    /// Columns for people.
    Table,
    /// The API's JSON documents, unchanged.
    Json,
}

/// Options shared by the API commands.
#[derive(Debug, Clone, clap::Args)]
pub struct Connection {
    /// The API's base URL [default: the credentials file's or profile's, else https://api.appstoreconnect.apple.com] [env: ALTDIST_BASE_URL].
    #[arg(long, global = true, value_name = "URL")]
    pub base_url: Option<String>,
    /// Output format [default: table on a terminal, json otherwise].
    #[arg(long, short, global = true, value_enum)]
    pub output: Option<OutputFormat>,
    /// Same as --output json.
    #[arg(long, global = true, conflicts_with = "output")]
    pub json: bool,
    /// Print each request's method, URL, status and timing on stderr (never the token).
    #[arg(long, short, global = true)]
    pub verbose: bool,
}

impl Connection {
    /// A client for the resolved base URL and credentials.
    pub fn client(&self, credentials: &CredentialArgs) -> anyhow::Result<Client> {
        let resolved = credentials.resolve()?;
        let base_url = self
            .base_url
            .clone()
            .or_else(|| {
                std::env::var("ALTDIST_BASE_URL")
                    .ok()
                    .filter(|url| !url.is_empty())
            })
            .or(resolved.base_url)
            .unwrap_or_else(|| APPLE_BASE_URL.to_owned());
        let key = altdist::client::ApiKey {
            key_id: resolved.key_id,
            issuer_id: resolved.issuer_id,
            private_key: resolved.key,
        };
        let client = Client::new(&base_url, key)?;
        Ok(if self.verbose {
            client.with_observer(|exchange| {
                let status = match (exchange.status, exchange.reason) {
                    (Some(status), Some(reason)) => format!("{status} {reason}"),
                    (Some(status), None) => status.to_string(),
                    (None, _) => "no answer".to_owned(),
                };
                let retry = if exchange.attempt > 1 {
                    format!(", attempt {}", exchange.attempt)
                } else {
                    String::new()
                };
                let limit = exchange
                    .rate_limit
                    .map(|limit| format!(", rate limit {}/{} left", limit.remaining, limit.limit))
                    .unwrap_or_default();
                eprintln!(
                    "{} {} -> {status} ({} ms{retry}{limit})",
                    exchange.method,
                    exchange.url,
                    exchange.elapsed.as_millis()
                );
            })
        } else {
            client
        })
    }

    /// Whether JSON was asked for explicitly (`--json` or `--output json`).
    pub fn json_requested(&self) -> bool {
        self.json || self.output == Some(OutputFormat::Json)
    }

    /// The output format: `--json` or `--output`, else a table on a terminal and JSON in a pipe.
    pub fn format(&self) -> OutputFormat {
        if self.json {
            return OutputFormat::Json;
        }
        self.output.unwrap_or_else(|| {
            if std::io::stdout().is_terminal() {
                OutputFormat::Table
            } else {
                OutputFormat::Json
            }
        })
    }
}

/// Prints a body as the server sent it.
pub fn print_body(body: &str) {
    if body.ends_with('\n') {
        print!("{body}");
    } else {
        println!("{body}");
    }
}

/// Prints left-aligned columns under upper-case headers.
pub fn print_table(headers: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = headers.iter().map(|header| header.len()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        println!("{}", padded.join("  ").trim_end());
    };
    line(headers.to_vec());
    for row in rows {
        line(row.iter().map(String::as_str).collect());
    }
}

/// Every page of a collection, starting from `first`: the resources, and one document holding
/// them all (the first page's document with every page's `data`, and no `next` link).
pub async fn all_pages<T: DeserializeOwned>(
    client: &Client,
    first: Fetched<CollectionDocument<T>>,
    what: &str,
) -> anyhow::Result<(Vec<T>, Value)> {
    let progress = std::io::stderr().is_terminal();
    let total = first.value.meta.as_ref().and_then(|meta| meta.paging.total);
    let mut combined: Value = serde_json::from_str(&first.body)?;
    let mut page = first.value;
    let mut resources = Vec::new();
    loop {
        let next = client.next_page(&page).await?;
        resources.append(&mut page.data);
        if progress {
            match total {
                Some(total) => eprint!("\rfetched {} of {total} {what}", resources.len()),
                None => eprint!("\rfetched {} {what}", resources.len()),
            }
        }
        let Some(next) = next else { break };
        let body: Value = serde_json::from_str(&next.body)?;
        if let (Some(all), Some(Value::Array(more))) = (
            combined.get_mut("data").and_then(Value::as_array_mut),
            body.get("data").cloned(),
        ) {
            all.extend(more);
        }
        page = next.value;
    }
    if progress {
        eprintln!();
    }
    if let Some(links) = combined.get_mut("links").and_then(Value::as_object_mut) {
        links.remove("next");
    }
    if let Some(paging) = combined
        .pointer_mut("/meta/paging")
        .and_then(Value::as_object_mut)
    {
        paging.remove("nextCursor");
    }
    Ok((resources, combined))
}

/// Prints a listing: the first page, or with `all` every page merged into one document; as the
/// API's JSON or as a table of `rows`.
pub async fn print_collection<T: DeserializeOwned>(
    client: &Client,
    first: Fetched<CollectionDocument<T>>,
    all: bool,
    format: OutputFormat,
    what: &str,
    headers: &[&str],
    rows: impl Fn(&[T]) -> Vec<Vec<String>>,
) -> anyhow::Result<()> {
    let (resources, body) = if all {
        let (resources, combined) = all_pages(client, first, what).await?;
        (resources, serde_json::to_string_pretty(&combined)?)
    } else {
        (first.value.data, first.body)
    };
    match format {
        OutputFormat::Json => print_body(&body),
        OutputFormat::Table => print_table(headers, &rows(&resources)),
    }
    Ok(())
}

/// Asks before deleting, unless `--yes`; refuses without a terminal to ask on.
pub fn confirm(question: &str, yes: bool) -> anyhow::Result<()> {
    if yes {
        return Ok(());
    }
    if !std::io::stdin().is_terminal() {
        return Err(hinted(
            format!("{question} Not confirmed: no terminal to ask on."),
            "pass --yes to confirm",
        ));
    }
    eprint!("{question} [y/N] ");
    let mut answer = String::new();
    std::io::stdin().read_line(&mut answer)?;
    if matches!(answer.trim(), "y" | "Y" | "yes") {
        Ok(())
    } else {
        anyhow::bail!("cancelled")
    }
}
