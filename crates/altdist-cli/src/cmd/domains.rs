//! `altdist domains`: the websites an account distributes from.

use std::process::ExitCode;

use altdist::resource::{AltDistDomain, AltDistDomainId};

use super::connection::{
    Connection, OutputFormat, confirm, print_body, print_collection, print_table,
};
use crate::credentials::CredentialArgs;

/// Options of `altdist domains`.
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
    /// Register a domain to distribute from.
    Add {
        /// The domain, like example.com.
        #[arg(long)]
        domain: String,
        /// A name to recognise it by.
        #[arg(long)]
        reference_name: String,
    },
    /// List the account's domains.
    List {
        /// Domains per page (1-200).
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..=200))]
        limit: Option<u32>,
        /// Follow every page.
        #[arg(long)]
        all: bool,
    },
    /// Show one domain.
    Get {
        /// The domain's id.
        id: String,
    },
    /// Remove a domain.
    Delete {
        /// The domain's id.
        id: String,
        /// Do not ask for confirmation.
        #[arg(long, short)]
        yes: bool,
    },
}

const DOMAIN_HEADERS: [&str; 4] = ["ID", "DOMAIN", "REFERENCE NAME", "CREATED"];

fn domain_rows(domains: &[AltDistDomain]) -> Vec<Vec<String>> {
    domains
        .iter()
        .map(|domain| {
            let attributes = domain.attributes.as_ref();
            let field = |value: Option<&String>| value.cloned().unwrap_or_else(|| "-".to_owned());
            vec![
                domain.id.to_string(),
                field(attributes.and_then(|a| a.domain.as_ref())),
                field(attributes.and_then(|a| a.reference_name.as_ref())),
                field(attributes.and_then(|a| a.created_date.as_ref())),
            ]
        })
        .collect()
}

/// Runs one `altdist domains` subcommand.
pub async fn run(opts: Opts) -> anyhow::Result<ExitCode> {
    let client = opts.connection.client(&opts.credentials)?;
    let format = opts.connection.format();
    match opts.command {
        Command::Add {
            domain,
            reference_name,
        } => {
            let created = client.create_domain(&domain, &reference_name).await?;
            match format {
                OutputFormat::Json => print_body(&created.body),
                OutputFormat::Table => {
                    println!("added domain {domain} as {}", created.value.data.id)
                }
            }
        }
        Command::List { limit, all } => {
            let first = client.list_domains(limit).await?;
            print_collection(
                &client,
                first,
                all,
                format,
                "domains",
                &DOMAIN_HEADERS,
                domain_rows,
            )
            .await?;
        }
        Command::Get { id } => {
            let domain = client.get_domain(&AltDistDomainId(id)).await?;
            match format {
                OutputFormat::Json => print_body(&domain.body),
                OutputFormat::Table => {
                    print_table(
                        &DOMAIN_HEADERS,
                        &domain_rows(std::slice::from_ref(&domain.value.data)),
                    );
                }
            }
        }
        Command::Delete { id, yes } => {
            confirm(
                &format!("Remove alternative distribution domain {id}?"),
                yes,
            )?;
            client.delete_domain(&AltDistDomainId(id.clone())).await?;
            eprintln!("deleted domain {id}");
        }
    }
    Ok(ExitCode::SUCCESS)
}
